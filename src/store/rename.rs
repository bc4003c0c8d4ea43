//! Renaming a person: their folder moves, and what is sealed inside it (a trained head, bound to
//! the file's logical name `users/<name>/<file>`) is sealed again under the new name.

use super::{Store, StoreError, dir, io_err, names, person_rel};

impl Store {
    /// Renames `from` to `to`. The new name is checked like a new person's; an enrolled `to` is
    /// refused. Audit-log lines keep the name they were written under (they are history).
    /// Returns an enrolled name that `to` looks like, as [`Store::add_person`] does.
    pub fn rename_person(&self, from: &str, to: &str) -> Result<Option<String>, StoreError> {
        let old = self.require_person(from)?;
        let new = person_rel(to)?;
        let _lock = self.lock()?;
        if self.dir.kind(&new) != dir::Kind::Other {
            return Err(StoreError::PersonExists(to.to_owned()));
        }
        let others: Vec<String> = self.people()?.into_iter().filter(|p| p != from).collect();
        let lookalike = names::confusable_with(to, &others).map(str::to_owned);
        self.dir
            .rename(&old, &new)
            .map_err(io_err(&self.dir.display(&old)))?;
        let Some(sealer) = self.sealer() else {
            return Ok(lookalike);
        };
        let entries = self
            .dir
            .list(&new)
            .map_err(io_err(&self.dir.display(&new)))?;
        for entry in entries.iter().filter(|e| e.kind == dir::Kind::File) {
            let file = entry.name.to_string_lossy();
            let rel = new.join(&*file);
            let Ok(data) = self.dir.read(&rel, crate::imageio::MAX_FILE_BYTES) else {
                continue;
            };
            // Only what opens under the old name was sealed for it; anything else stays as is.
            if let Ok(plain) = sealer.unseal(&data, &format!("users/{from}/{file}")) {
                let sealed = sealer.seal(&plain, &format!("users/{to}/{file}"));
                self.write(&rel, &sealed)?;
            }
        }
        Ok(lookalike)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_renamed_person_keeps_their_sealed_files_and_the_old_name_is_free() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open(root.path()).unwrap();
        store.add_person("Ann").unwrap();
        store
            .write_sealed("Ann", "head-x.sealed", b"weights")
            .unwrap();
        store.add_person("Bob").unwrap();
        assert!(matches!(
            store.rename_person("Ann", "Bob"),
            Err(StoreError::PersonExists(_))
        ));
        assert!(store.rename_person("Ann", "../x").is_err());
        store.rename_person("Ann", "Anne").unwrap();
        assert_eq!(store.people().unwrap(), ["Anne", "Bob"]);
        assert_eq!(
            store.read_sealed("Anne", "head-x.sealed").unwrap().unwrap(),
            b"weights"
        );
        assert!(store.require_person("Ann").is_err());
        assert!(Path::new(root.path()).join("users/Anne").is_dir());
    }
}
