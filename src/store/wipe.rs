//! Removing a person: their folder only, or every trace of them (`user remove --wipe`).

use std::path::Path;

use serde::Serialize;

use super::{Gallery, ImageKind, Store, StoreError, audit, cache, dir, io_err};

/// What [`Store::wipe_person`] removed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct WipeReport {
    pub images: usize,
    /// Sidecars, trained heads, lock-out state.
    pub other_files: usize,
    pub cached_embeddings: usize,
    pub audit_entries: usize,
    pub saved_frames: usize,
}

/// "3 images, 2 other files (sidecars, heads, lock-out state), 1 cached embedding, …": the one
/// account of a removal, in the CLI and the window.
impl std::fmt::Display for WipeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::shown::counted;
        write!(
            f,
            "{}, {} (sidecars, heads, lock-out state), {}, {}, {}",
            counted(self.images, "image", "images"),
            counted(self.other_files, "other file", "other files"),
            counted(
                self.cached_embeddings,
                "cached embedding",
                "cached embeddings"
            ),
            counted(self.audit_entries, "audit-log line", "audit-log lines"),
            counted(self.saved_frames, "saved frame", "saved frames"),
        )
    }
}

impl Store {
    /// Removes a person and everything in their folder. Links inside it are removed as links;
    /// nothing outside the data dir is touched.
    pub fn remove_person(&self, name: &str) -> Result<(), StoreError> {
        // Nobody by that name: said once, as that (it was a warning about cached embeddings
        // first, then the error).
        self.require_person(name)?;
        // Best effort: a damaged gallery (a link, unreadable) must not stop the removal, which
        // removes it as it is; only its cached embeddings may then stay.
        let shas = self.image_hashes(name).unwrap_or_else(|e| {
            tracing::warn!("{name}: some cached embeddings may stay: {e}");
            Vec::new()
        });
        let _lock = self.lock()?;
        let rel = self.require_person(name)?;
        self.dir
            .remove_dir_all(&rel)
            .map_err(io_err(&self.dir.display(&rel)))?;
        // Their images are gone, so nothing could reach these any more (nor could a wipe).
        self.forget_cached(&shas);
        Ok(())
    }

    /// The content hashes of every image of the person's.
    fn image_hashes(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let mut shas = Vec::new();
        for kind in ImageKind::ALL {
            let gallery = Gallery::Person {
                name: name.to_owned(),
                kind,
            };
            shas.extend(self.faces(&gallery)?.into_iter().map(|f| f.meta.sha256));
        }
        Ok(shas)
    }

    /// Removes the cached embeddings of these images, on disk and in memory; returns how many
    /// files went.
    fn forget_cached(&self, shas: &[String]) -> usize {
        let removed = shas.iter().map(|sha| cache::forget(&self.dir, sha)).sum();
        self.unsealed
            .lock()
            .unwrap()
            .retain(|(_, sha), _| !shas.contains(sha));
        removed
    }

    /// Removes every trace of a person: their folder (images, sidecars, trained heads, lock-out
    /// state), the cached embeddings of their images under every model, their audit-log lines and
    /// any saved frames of their failed attempts.
    ///
    /// A person already removed without the wipe still has audit lines and saved frames: for
    /// such a name those are wiped, and an error is returned only if there were none.
    pub fn wipe_person(&self, name: &str) -> Result<WipeReport, StoreError> {
        let rel = match self.require_person(name) {
            Ok(rel) => rel,
            Err(StoreError::UnknownPerson(_)) => return self.wipe_removed(name),
            Err(e) => return Err(e),
        };
        let shas = self.image_hashes(name)?;
        let _lock = self.lock()?;
        let mut report = WipeReport::default();
        // The audit logs first: rewriting them needs room for a copy, and a full disk must stop
        // the wipe while the person is still there to wipe again (their folder went first once,
        // and the lines they left could then never be removed).
        let (lines, frames) = audit::forget(&self.dir, name).map_err(io_err(self.root()))?;
        report.audit_entries = lines;
        let removed = self
            .dir
            .remove_dir_all(&rel)
            .map_err(io_err(&self.dir.display(&rel)))?;
        for file in removed {
            if file.extension().is_some_and(|e| e == "png") {
                report.images += 1;
            } else {
                report.other_files += 1;
            }
        }
        report.cached_embeddings = self.forget_cached(&shas);
        report.saved_frames = self.remove_frames(frames);
        Ok(report)
    }

    /// [`Store::wipe_person`] for a name no longer enrolled: its audit lines and saved frames.
    fn wipe_removed(&self, name: &str) -> Result<WipeReport, StoreError> {
        super::names::validate_name(name)?;
        let lock = self.lock()?;
        match self.dir.kind(&super::person_rel(name)?) {
            dir::Kind::Other => {}
            dir::Kind::Dir => {
                // Enrolled again meanwhile: the whole wipe, from the start.
                drop(lock);
                return self.wipe_person(name);
            }
            // A file or a link where the person's folder would be: not a person to wipe.
            _ => return Err(StoreError::UnknownPerson(name.to_owned())),
        }
        let (lines, frames) = audit::forget(&self.dir, name).map_err(io_err(self.root()))?;
        if lines == 0 {
            return Err(StoreError::UnknownPerson(name.to_owned()));
        }
        Ok(WipeReport {
            audit_entries: lines,
            saved_frames: self.remove_frames(frames),
            ..WipeReport::default()
        })
    }

    /// Removes saved frames named by audit lines; returns how many went.
    fn remove_frames(&self, frames: Vec<String>) -> usize {
        // Relative to the data dir and never through a link: a hostile log line must not delete
        // anything else.
        frames
            .into_iter()
            .filter(|frame| self.dir.remove_file(Path::new(frame)).is_ok())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::WipeReport;

    #[test]
    fn a_removal_reads_with_counts_of_one_singular() {
        let report = WipeReport {
            images: 1,
            other_files: 2,
            cached_embeddings: 1,
            audit_entries: 0,
            saved_frames: 3,
        };
        assert_eq!(
            report.to_string(),
            "1 image, 2 other files (sidecars, heads, lock-out state), 1 cached embedding, \
             0 audit-log lines, 3 saved frames"
        );
    }
}
