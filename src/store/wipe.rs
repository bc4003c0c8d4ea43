//! Removing a person: their folder only, or every trace of them (`user remove --wipe`).

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
        let mut shas = Vec::new();
        for kind in ImageKind::ALL {
            let gallery = Gallery::Person {
                name: name.to_owned(),
                kind,
            };
            shas.extend(self.faces(&gallery)?.into_iter().map(|f| f.meta.sha256));
        }
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
        for sha in &shas {
            report.cached_embeddings += cache::forget(&self.dir, sha);
        }
        self.unsealed
            .lock()
            .unwrap()
            .retain(|(_, sha), _| !shas.contains(sha));
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
