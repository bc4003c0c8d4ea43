//! Removing a person: their folder only, or every trace of them (`user remove --wipe`).

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;

use super::{Gallery, ImageKind, Store, StoreError, audit, cache, io_err};

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

impl Store {
    /// The crops (by sha256) of every face in the store, people's (but `except`'s) and the
    /// negatives'.
    pub(super) fn crops_in_use(&self, except: Option<&str>) -> Result<HashSet<String>, StoreError> {
        let mut galleries = vec![Gallery::Negatives];
        for name in self.people()? {
            if except == Some(name.as_str()) {
                continue;
            }
            galleries.extend(ImageKind::ALL.map(|kind| Gallery::Person {
                name: name.clone(),
                kind,
            }));
        }
        let mut in_use = HashSet::new();
        for gallery in &galleries {
            in_use.extend(self.faces(gallery)?.into_iter().map(|f| f.meta.sha256));
        }
        Ok(in_use)
    }

    /// Removes a person and everything in their folder. Links inside it are removed as links;
    /// nothing outside the data dir is touched.
    pub fn remove_person(&self, name: &str) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let rel = self.require_person(name)?;
        self.dir
            .remove_dir_all(&rel)
            .map(drop)
            .map_err(io_err(&self.dir.display(&rel)))
    }

    /// Removes every trace of a person: their folder (images, sidecars, trained heads, lock-out
    /// state), the cached embeddings of their images under every model, their audit-log lines and
    /// any saved frames of their failed attempts.
    pub fn wipe_person(&self, name: &str) -> Result<WipeReport, StoreError> {
        let rel = self.require_person(name)?;
        let _lock = self.lock()?;
        let mut report = WipeReport::default();
        // Read before anything is removed, so that a store it cannot read stops the wipe
        // while it can still be run again.
        let in_use = self.crops_in_use(Some(name))?;
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
        // Every cached embedding no face is left to use: this person's, and those of faces
        // deleted earlier (theirs included), which deleting used to leave behind.
        report.cached_embeddings = cache::sweep(&self.dir, &in_use);
        self.unsealed
            .lock()
            .unwrap()
            .retain(|(_, sha), _| in_use.contains(sha));
        for frame in frames {
            // Relative to the data dir and never through a link: a hostile log line must not
            // delete anything else.
            if self.dir.remove_file(Path::new(&frame)).is_ok() {
                report.saved_frames += 1;
            }
        }
        Ok(report)
    }
}
