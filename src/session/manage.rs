//! The worker's store management, for the window's "People & settings" view and for enrolling
//! from files: imports (one file per turn, so frames keep flowing between them), removing and
//! renaming people, calibration, which rule decides for a person, and comparing two photos.
//! Each returns what to send; the worker sends it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use image::imageops;

use super::messages::{
    CalibrationRefused, CompareResult, Event, HeadRule, ImportProgress, Thumbnail,
};
use crate::engine::Engine;
use crate::engine::adding::{Added, SavedWarning};
use crate::store::{Gallery, ImageKind};
use crate::vision::align_arcface;

const THUMBNAIL_SIDE: u32 = 64;

/// Photos being imported into one gallery, a file at a time.
pub struct ImportJob {
    progress: ImportProgress,
    files: VecDeque<PathBuf>,
    /// What was saved: the stored id and the file's name.
    saved: Vec<(uuid::Uuid, String)>,
}

impl ImportJob {
    /// The image files named by `paths`, folders walked (sorted, links to folders not followed).
    /// Nothing to import is an error saying so.
    pub fn new(gallery: Gallery, paths: &[PathBuf]) -> Result<ImportJob, String> {
        if let Some(p) = paths.iter().find(|p| !p.exists()) {
            return Err(format!("{} does not exist", p.display()));
        }
        let listing = crate::imageio::listing::image_files(paths);
        if listing.files.is_empty() {
            let why: Vec<String> = listing
                .skipped
                .iter()
                .map(|(p, why)| format!("{}: {why}", p.display()))
                .collect();
            let why = match why.as_slice() {
                [] => String::new(),
                why => format!(" ({})", why.join("; ")),
            };
            return Err(format!(
                "no {} files there{why}",
                crate::imageio::listing::PHOTOS
            ));
        }
        let files = listing.files;
        // What was left out is listed with the refused files, so the window says it.
        let refused = listing
            .skipped
            .into_iter()
            .map(|(p, why)| (p.display().to_string(), why))
            .collect();
        Ok(ImportJob {
            progress: ImportProgress {
                gallery,
                total: files.len(),
                done: 0,
                saved: 0,
                skipped: 0,
                refused,
                warning: None,
            },
            files: files.into(),
            saved: Vec::new(),
        })
    }

    pub fn gallery(&self) -> &Gallery {
        &self.progress.gallery
    }

    pub fn finished(&self) -> bool {
        self.files.is_empty()
    }

    /// Imports the next file through the capture quality gate. A store failure (disk full, a
    /// link in the data dir) ends the import: every further file would fail the same way.
    pub fn step(&mut self, engine: &mut Engine) -> Vec<Event> {
        let Some(path) = self.files.pop_front() else {
            return Vec::new();
        };
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let mut events = Vec::new();
        self.progress.done += 1;
        match engine.add_file(&self.progress.gallery, &path, None) {
            Ok(Added::Saved { stored, .. }) => {
                self.progress.saved += 1;
                self.saved.push((stored.meta.id, name));
            }
            Ok(Added::AlreadyStored(_)) => self.progress.skipped += 1,
            Err(e) => {
                self.progress
                    .refused
                    .push((name, crate::shown::Reason(&e).to_string()));
                self.progress.done += self.files.len();
                self.files.clear();
                events.push(Event::Error(format!(
                    "the import stopped: {}",
                    crate::shown::Reason(&e)
                )));
            }
            Ok(Added::Refused(e)) => self
                .progress
                .refused
                .push((name, crate::shown::Reason(&e).to_string())),
        }
        if self.files.is_empty() {
            self.progress.warning = self.warnings(engine);
        }
        events.insert(0, Event::Import(self.progress.clone()));
        events
    }

    /// Once an import ends: what may be wrong with the photos it saved
    /// ([`Engine::after_saving`]), by file name. Whatever is not about one of them is shown
    /// where it belongs: the odd images framed in red, a negative that shows the person under
    /// Negatives.
    fn warnings(&self, engine: &mut Engine) -> Option<String> {
        let gallery = &self.progress.gallery;
        // Negatives that show someone are listed once the import ends, with their own line
        // that follows the list as it shrinks (`Event::NegativesShowing`).
        let Gallery::Person { name: person, .. } = gallery else {
            return None;
        };
        let ids: Vec<_> = self.saved.iter().map(|(id, _)| *id).collect();
        let file = |id: uuid::Uuid| {
            self.saved
                .iter()
                .find(|(saved, _)| *saved == id)
                .map_or_else(|| id.to_string(), |(_, f)| f.clone())
        };
        // Advice apart (a photo that nearly copies another is the person's all the same), by
        // the one rule of what is a doubt about the save (`SavedWarning::about_the_save`).
        let (advice, said): (Vec<_>, Vec<_>) = engine
            .after_saving(gallery, &ids)
            .into_iter()
            .filter(|w| w.image().is_some() || matches!(w, SavedWarning::Unchecked { .. }))
            .partition(|w| !w.about_the_save());
        let (copies, unchecked): (Vec<_>, Vec<_>) = advice
            .into_iter()
            .partition(|w| matches!(w, SavedWarning::NearCopy(_)));
        // A photo can be both unlike the person's images and another's: counted once.
        let photos: std::collections::HashSet<_> =
            said.iter().filter_map(SavedWarning::image).collect();
        let bar = said.iter().find_map(|w| match w {
            SavedWarning::Unlike(u) => Some(format!(
                " ({})",
                crate::engine::same_person_bar(u.threshold)
            )),
            _ => None,
        });
        let doubts = match said.as_slice() {
            [] => None,
            [one] => Some(one.text(gallery, file)),
            many => Some(format!(
                "{} may not be {person}: {}. Those that are not {person}, delete, or they help \
                 that person in as {person}{}",
                match photos.len() {
                    0 => "the photos".to_owned(),
                    n => crate::shown::counted(n, "photo", "photos"),
                },
                many.iter()
                    .map(|w| w.brief(gallery, file))
                    .collect::<Vec<_>>()
                    .join("; "),
                bar.unwrap_or_default()
            )),
        };
        let copied = match copies.as_slice() {
            [] => None,
            [one] => Some(one.text(gallery, file)),
            many => Some(format!(
                "{}: each adds little{}",
                many.iter()
                    .map(|w| w.brief(gallery, file))
                    .collect::<Vec<_>>()
                    .join("; "),
                crate::engine::adding::counts_twice(gallery)
            )),
        };
        let unchecked = unchecked.iter().map(|w| w.text(gallery, file));
        let said: Vec<String> = doubts.into_iter().chain(copied).chain(unchecked).collect();
        (!said.is_empty()).then(|| said.join(". "))
    }
}

/// The wipe, then who is left.
pub fn remove(engine: &mut Engine, name: &str) -> Vec<Event> {
    let report = match engine.remove_person(name) {
        Ok(r) => r,
        Err(e) => {
            return vec![Event::Error(format!(
                "cannot remove {name}: {}",
                crate::shown::Reason(&e)
            ))];
        }
    };
    match engine.store().people() {
        Ok(people) => vec![Event::Removed {
            name: name.to_owned(),
            report,
            people,
        }],
        Err(e) => vec![Event::Error(format!(
            "cannot read the store: {}",
            crate::shown::Reason(&e)
        ))],
    }
}

pub fn rename(engine: &mut Engine, from: &str, to: &str) -> Vec<Event> {
    let lookalike = match engine.rename_person(from, to) {
        Ok(l) => l,
        Err(e) => {
            return vec![Event::Error(format!(
                "cannot rename {from}: {}",
                crate::shown::Reason(&e)
            ))];
        }
    };
    let mut events = match engine.store().people() {
        Ok(people) => vec![Event::Renamed {
            from: from.to_owned(),
            to: to.to_owned(),
            people,
        }],
        Err(e) => vec![Event::Error(format!(
            "cannot read the store: {}",
            crate::shown::Reason(&e)
        ))],
    };
    if let Some(other) = lookalike {
        events.push(Event::Warning(crate::store::names::lookalike_note(
            to, &other,
        )));
    }
    events
}

/// The lowest detection threshold meeting `far` on everyone enrolled against the negatives and
/// each other, as `facegate calibrate` finds it; not saved. With it, when the calibration
/// looked: which negatives show someone enrolled (none, when it ran).
pub fn calibrate(engine: &mut Engine, far: f64) -> Vec<Event> {
    let refused = |why: String| {
        vec![Event::Calibrated(Err(CalibrationRefused {
            why,
            negatives: Vec::new(),
        }))]
    };
    match engine.calibrate(&[], far) {
        Ok(c) => vec![
            Event::Calibrated(Ok(c)),
            Event::NegativesShowing(Vec::new()),
        ],
        // Said in the window's terms: by whom, and the button beside them.
        Err(crate::Error::EnrolledAmongNegatives(found)) => vec![
            Event::Calibrated(Err(CalibrationRefused {
                why: crate::error::among_negatives(
                    &crate::error::negatives_by_whom(&found),
                    found.len(),
                    "with Remove them, under Negatives",
                ),
                negatives: found.iter().map(|(id, _)| *id).collect(),
            })),
            Event::NegativesShowing(found),
        ],
        Err(e) => refused(crate::shown::Reason(&e).to_string()),
    }
}

/// Whether `person`'s trained head decides for them, with its threshold and scores.
pub fn head_rule(engine: &mut Engine, person: &str) -> Event {
    match engine.head_scores(person) {
        Ok(scores) => Event::HeadRule {
            person: person.to_owned(),
            head: scores.map(|scores| HeadRule {
                person: person.to_owned(),
                threshold: crate::train::HEAD_THRESHOLD,
                scores,
            }),
        },
        Err(e) => Event::Error(format!("cannot score {person}'s trained head: {e}")),
    }
}

/// Small aligned faces of a person's images of one kind, for the strips under the buttons.
pub fn thumbnails(engine: &Engine, person: &str, kind: ImageKind) -> Event {
    let gallery = Gallery::Person {
        name: person.to_owned(),
        kind,
    };
    let faces = match engine.store().faces(&gallery) {
        Ok(f) => f,
        Err(e) => return Event::Error(format!("cannot list images: {e}")),
    };
    let thumbnails = faces
        .iter()
        .filter_map(|f| {
            let crop = engine.store().load_crop(f).ok()?;
            let aligned = align_arcface(&crop, &f.meta.face).image;
            Some(Thumbnail {
                id: f.meta.id,
                image: imageops::thumbnail(&aligned, THUMBNAIL_SIDE, THUMBNAIL_SIDE),
            })
        })
        .collect();
    Event::Gallery {
        person: person.to_owned(),
        kind,
        thumbnails,
    }
}

/// Two photos judged by the engine's one compare rule, the same as `facegate compare`.
pub fn compare(
    engine: &mut Engine,
    a: &Path,
    b: &Path,
    person: Option<&str>,
) -> crate::Result<CompareResult> {
    let mut side = |p: &Path| -> crate::Result<_> {
        let img = crate::imageio::load(p)?;
        engine.aligned_probe(&img, p)
    };
    let (crop_a, ea) = side(a)?;
    let (crop_b, eb) = side(b)?;
    let judged = engine.compare_faces(&ea, &eb, person)?;
    Ok(CompareResult {
        a: crop_a,
        b: crop_b,
        similarity: judged.cosine,
        score: judged.score,
        threshold: judged.rule.threshold,
        same: judged.same,
        rule: judged.rule.describe(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_lists_image_files_in_folders_and_never_follows_a_linked_folder() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("photos");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["b.jpg", "a.JPEG", "notes.txt", "sub/c.png"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
        let job = ImportJob::new(Gallery::Negatives, std::slice::from_ref(&dir)).unwrap();
        let names: Vec<_> = job
            .files
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.JPEG", "b.jpg", "sub/c.png"]);
        assert_eq!(job.progress.total, 3);
        let missing = ImportJob::new(Gallery::Negatives, &[root.path().join("nope")]);
        assert!(missing.is_err_and(|e| e.ends_with("does not exist")));
        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(ImportJob::new(Gallery::Negatives, &[empty]).is_err());
    }
}
