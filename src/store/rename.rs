//! Renaming a person: their folder moves, and what is sealed inside it (a trained head, bound to
//! the file's logical name `users/<name>/<file>`) is sealed again under the new name.

use std::path::Path;

use super::{Store, StoreError, audit, dir, io_err, names, person_rel, sealed_label, secret};

impl Store {
    /// Renames `from` to `to`. The new name is checked like a new person's; an enrolled `to` is
    /// refused. Audit-log lines follow the person: a wipe of `to` removes them too, and a later
    /// person called `from` does not inherit them. (They kept the old name once, and so escaped
    /// `user remove --wipe`.)
    /// Returns an enrolled name that `to` looks like, as [`Store::add_person`] does.
    pub fn rename_person(&self, from: &str, to: &str) -> Result<Option<String>, StoreError> {
        let old = self.require_person(from)?;
        names::validate_new_name(to)?;
        let new = person_rel(to)?;
        let _lock = self.lock()?;
        if self.dir.kind(&new) != dir::Kind::Other {
            return Err(StoreError::PersonExists(to.to_owned()));
        }
        let others: Vec<String> = self.people()?.into_iter().filter(|p| p != from).collect();
        let lookalike = names::confusable_with(to, &others).map(str::to_owned);
        // Everything sealed for the old name is sealed again for the new one *before* the
        // folder moves, beside the old files: a missing key or a full disk then refuses the
        // rename with nothing changed, instead of leaving files no name can open.
        let staged = self.stage_resealed(&old, from, to)?;
        if let Err(e) = self.dir.rename(&old, &new) {
            self.unstage(&old, &staged);
            return Err(io_err(&self.dir.display(&old))(e));
        }
        for (file, temp) in staged {
            // A rename inside one folder needs no space: it does not fail for a full disk.
            self.dir
                .rename(&new.join(&temp), &new.join(&file))
                .map_err(io_err(&self.dir.display(&new.join(&file))))?;
        }
        // Last, once the person is `to`: a log rewrite that fails (it needs room for a copy)
        // leaves the lines under the old name, as they were, rather than under a name that
        // nobody has if the folder could not move.
        if let Err(e) = audit::rename(&self.dir, from, to) {
            tracing::warn!("{to}'s audit-log lines keep the name {from}: {e}");
        }
        Ok(lookalike)
    }

    /// Writes, beside each file of `folder` sealed for `from`, its copy sealed for `to`; returns
    /// (file, copy) names. On any failure the copies written so far are removed.
    fn stage_resealed(
        &self,
        folder: &Path,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let entries = self
            .dir
            .list(folder)
            .map_err(io_err(&self.dir.display(folder)))?;
        let mut staged: Vec<(String, String)> = Vec::new();
        let result = (|| {
            for entry in entries.iter().filter(|e| e.kind == dir::Kind::File) {
                let file = entry.name.to_string_lossy().into_owned();
                let rel = folder.join(&file);
                let Ok(data) = self.dir.read(&rel, crate::imageio::MAX_FILE_BYTES) else {
                    continue;
                };
                if !secret::is_sealed(&data) {
                    continue;
                }
                let sealer = self.sealer_or_why()?;
                // Only what opens under the old name was sealed for it; anything else stays.
                let Ok(plain) = sealer.unseal(&data, &sealed_label(from, &file)) else {
                    continue;
                };
                let temp = staged_name(&file);
                self.write(
                    &folder.join(&temp),
                    &sealer.seal(&plain, &sealed_label(to, &file)),
                )?;
                staged.push((file, temp));
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.unstage(folder, &staged);
            return Err(e);
        }
        Ok(staged)
    }

    /// Removes the copies [`Store::stage_resealed`] wrote, when the rename does not happen.
    fn unstage(&self, folder: &Path, staged: &[(String, String)]) {
        for (_, temp) in staged {
            let _ = self.dir.remove_file(&folder.join(temp));
        }
    }
}

/// The name a file's copy resealed for the new name has until the rename is done.
pub(super) fn staged_name(file: &str) -> String {
    format!("{}rename-{file}", super::dir::TEMP_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store at `root` with Ann, who has a sealed head.
    fn ann_with_a_head(root: &Path) -> Store {
        let store = Store::open(root).unwrap();
        store.add_person("Ann").unwrap();
        store
            .write_sealed("Ann", "head-x.sealed", b"weights")
            .unwrap();
        store
    }

    fn names_in(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_renamed_person_keeps_their_sealed_files_and_the_old_name_is_free() {
        let root = tempfile::tempdir().unwrap();
        let store = ann_with_a_head(root.path());
        store.add_person("Bob").unwrap();
        assert!(matches!(
            store.rename_person("Ann", "Bob"),
            Err(StoreError::PersonExists(_))
        ));
        assert!(store.rename_person("Ann", "../x").is_err());
        for person in ["Ann", "Bob", "Ann"] {
            store.audit(&audit::AuditEntry {
                unix_time: 1,
                person: person.into(),
                channel: "cli".into(),
                accepted: true,
                ..Default::default()
            });
        }
        store.rename_person("Ann", "Anne").unwrap();
        assert_eq!(store.people().unwrap(), ["Anne", "Bob"]);
        let logged: Vec<String> = store.audit_log().into_iter().map(|e| e.person).collect();
        assert_eq!(
            logged,
            ["Anne", "Bob", "Anne"],
            "her audit lines follow her"
        );
        assert_eq!(
            store.read_sealed("Anne", "head-x.sealed").unwrap().unwrap(),
            b"weights"
        );
        assert!(store.require_person("Ann").is_err());
        assert!(Path::new(root.path()).join("users/Anne").is_dir());
        assert_eq!(store.wipe_person("Anne").unwrap().audit_entries, 2);
    }

    /// A rename cut off (a crash, a power cut) after its folder moved but before the resealed
    /// copies replaced the old files: the head opens under the new name all the same, from its
    /// copy, which then takes the old file's place.
    #[test]
    fn a_rename_cut_off_midway_is_finished_when_the_head_is_read() {
        let root = tempfile::tempdir().unwrap();
        let store = ann_with_a_head(root.path());
        let (old, new) = (person_rel("Ann").unwrap(), person_rel("Anne").unwrap());
        let staged = store.stage_resealed(&old, "Ann", "Anne").unwrap();
        assert_eq!(staged.len(), 1);
        store.dir.rename(&old, &new).unwrap();
        assert_eq!(
            store.read_sealed("Anne", "head-x.sealed").unwrap().unwrap(),
            b"weights"
        );
        assert_eq!(
            names_in(&root.path().join("users/Anne/"))
                .iter()
                .filter(|f| f.starts_with(".tmp"))
                .count(),
            0
        );
        let store = Store::open(root.path()).unwrap();
        assert_eq!(
            store.read_sealed("Anne", "head-x.sealed").unwrap().unwrap(),
            b"weights",
            "the copy is now the file"
        );
        // Cut off again, then a newer head written before anything read the old one: the
        // stale copy goes with that write, and never comes back over the newer head.
        let (old, new) = (person_rel("Anne").unwrap(), person_rel("Ann").unwrap());
        store.stage_resealed(&old, "Anne", "Ann").unwrap();
        store.dir.rename(&old, &new).unwrap();
        store
            .write_sealed("Ann", "head-x.sealed", b"newer")
            .unwrap();
        let left = names_in(&root.path().join("users/Ann"));
        assert!(!left.iter().any(|f| f.starts_with(".tmp")), "{left:?}");
        let (old, new) = (person_rel("Ann").unwrap(), person_rel("Anne").unwrap());
        store.dir.rename(&old, &new).unwrap();
        std::fs::write(root.path().join("users/Anne/head-x.sealed"), b"damaged").unwrap();
        assert!(
            matches!(
                store.read_sealed("Anne", "head-x.sealed"),
                Err(StoreError::Corrupt { .. })
            ),
            "no copy left: a damaged file is still an error"
        );
    }

    /// Without the data key a sealed head could not be sealed again for the new name: the
    /// rename is refused and nothing moves, instead of leaving a head no name can open.
    #[test]
    fn without_the_key_a_person_with_sealed_files_is_not_renamed() {
        let root = tempfile::tempdir().unwrap();
        let store = ann_with_a_head(root.path());
        if store.sealer().unwrap().origin != secret::KeyOrigin::File {
            println!("skipped: a desktop keyring took the key");
            return;
        }
        drop(store);
        let key = root.path().join("secret.key");
        let saved = std::fs::read(&key).unwrap();
        std::fs::remove_file(&key).unwrap();
        let store = Store::open(root.path()).unwrap();
        let err = store.rename_person("Ann", "Anne").unwrap_err();
        println!("refused: {err}");
        assert!(matches!(err, StoreError::Sealing(_)), "{err}");
        assert_eq!(store.people().unwrap(), ["Ann"]);
        let left = names_in(&root.path().join("users/Ann"));
        assert!(left.iter().any(|f| f == "head-x.sealed"), "{left:?}");
        assert!(
            !left.iter().any(|f| f.starts_with(".tmp")),
            "staged copy left: {left:?}"
        );
        // With the key back, the rename goes through and the head opens under the new name.
        std::fs::write(&key, saved).unwrap();
        let store = Store::open(root.path()).unwrap();
        store.rename_person("Ann", "Anne").unwrap();
        assert_eq!(
            store.read_sealed("Anne", "head-x.sealed").unwrap().unwrap(),
            b"weights"
        );
    }

    /// A disk that fills while the second of two heads is sealed again: the rename is refused,
    /// the first staged copy is removed, and both heads still open under the old name. Needs
    /// root, for a small tmpfs; skipped with a notice otherwise.
    #[test]
    fn a_rename_that_fills_the_disk_changes_nothing() {
        let Some(mount) = crate::store::testfs::Tmpfs::mount("256k", "the full-disk rename test")
        else {
            return;
        };
        let store = Store::open(mount.path()).unwrap();
        store.add_person("Ann").unwrap();
        let weights = vec![7u8; 18 << 10];
        for head in ["head-a.sealed", "head-b.sealed"] {
            store.write_sealed("Ann", head, &weights).unwrap();
        }
        // Fill the disk but for room for one sealed copy and a page to spare.
        let free = rustix::fs::statvfs(mount.path()).unwrap();
        let free = free.f_bavail * free.f_frsize;
        let one_copy = (weights.len() as u64).div_ceil(4096) * 4096 + 4096;
        std::fs::write(
            mount.path().join("filler"),
            vec![0u8; (free - one_copy - 4096) as usize],
        )
        .unwrap();
        let order: Vec<String> = names_in(&mount.path().join("users/Ann"))
            .into_iter()
            .filter(|f| f.starts_with("head"))
            .collect();
        println!("sealed again in this order: {order:?}");
        let err = store.rename_person("Ann", "Anne").unwrap_err();
        println!("refused: {err}");
        assert!(matches!(err, StoreError::DiskFull(_)), "{err}");
        assert!(
            err.to_string().contains(&order[1]),
            "the second copy is the one that did not fit, so the first was staged: {err}"
        );
        assert_eq!(store.people().unwrap(), ["Ann"]);
        let left = names_in(&mount.path().join("users/Ann"));
        assert!(
            !left.iter().any(|f| f.starts_with(".tmp")),
            "staged copy left: {left:?}"
        );
        for head in ["head-a.sealed", "head-b.sealed"] {
            assert_eq!(store.read_sealed("Ann", head).unwrap().unwrap(), weights);
        }
    }
}
