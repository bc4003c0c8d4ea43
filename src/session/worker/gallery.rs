//! The worker's side of the Enrol and Manage views: what the window shows of a person's
//! galleries, their scores and the negatives that show someone, kept current as images are
//! captured, imported and deleted.

use std::collections::HashMap;
use std::ffi::OsString;

use uuid::Uuid;

use super::Worker;
use crate::engine::adding::SavedWarning;
use crate::session::manage::{self, ImportJob};
use crate::session::messages::Event;
use crate::store::{Gallery, ImageKind};

/// What the window was last shown of the store ([`Worker::follow_store`]).
#[derive(Default)]
pub(super) struct Seen {
    pub people: Vec<String>,
    /// The face files of each gallery whose thumbnails were sent, by person and kind (None:
    /// they could not be listed, which was said then, and is not said again every second).
    galleries: HashMap<(String, ImageKind), Option<Vec<OsString>>>,
}

impl Worker {
    pub(super) fn send_thumbnails(&mut self, person: &str, kind: ImageKind) {
        let names = self.engine.store().face_names(&gallery(person, kind)).ok();
        self.seen.galleries.insert((person.to_owned(), kind), names);
        self.send(manage::thumbnails(&self.engine, person, kind));
    }

    /// Sends `events`, noting the list of people any of them carries as shown.
    pub(super) fn send_all(&mut self, events: Vec<Event>) {
        for event in events {
            if let Event::People { people, .. }
            | Event::Removed { people, .. }
            | Event::Renamed { people, .. } = &event
            {
                self.seen.people = people.clone();
            }
            self.send(event);
        }
    }

    /// Shows people added, removed or renamed elsewhere, and the selected person's images
    /// captured or deleted elsewhere (`facegate capture`, `user forget`): the window showed the
    /// store as it was when they were selected until it restarted (journey review, session
    /// 30). Not followed from here: heads trained and negatives changed elsewhere.
    pub(super) fn follow_store(&mut self) {
        let Ok(people) = self.engine.store().people() else {
            return;
        };
        if people != self.seen.people {
            self.seen.people = people.clone();
            self.send(Event::PeopleElsewhere(people.clone()));
        }
        let Some(person) = self.person.clone().filter(|p| people.contains(p)) else {
            return;
        };
        // An import under way changes its gallery file by file, and shows it when it ends:
        // refreshed here every second, the import slowed to a file a refresh (read-through,
        // session 30).
        let importing = |kind: ImageKind| {
            let gallery = gallery(&person, kind);
            self.imports.iter().any(|job| *job.gallery() == gallery)
        };
        let changed: Vec<ImageKind> = ImageKind::ALL
            .into_iter()
            .filter(|&kind| !importing(kind))
            .filter(|&kind| {
                let now = self.engine.store().face_names(&gallery(&person, kind)).ok();
                self.seen.galleries.get(&(person.clone(), kind)) != Some(&now)
            })
            .collect();
        for &kind in &changed {
            self.send_thumbnails(&person, kind);
        }
        if !changed.is_empty() {
            self.send_scores(&person);
        }
        if changed.contains(&ImageKind::Verification) {
            // Continuous mode's verdict was made against the images of before.
            self.last_verdict = None;
            self.send_negatives_showing();
        }
    }

    /// The person's score sets, and which rule decides for them (their trained head or cosine).
    pub(super) fn send_scores(&mut self, person: &str) {
        match self.engine.person_scores(person) {
            Ok(scores) => self.send(Event::PersonScores(scores)),
            Err(e) => self.fail("cannot score the person's images", e),
        }
        let rule = manage::head_rule(&mut self.engine, person);
        self.send(rule);
    }

    /// After one of `person`'s images was saved or deleted: what the window shows of them
    /// follows, and a change to whom they are verified against can make a negative show them
    /// (said at once, not at the next calibration) or stop it.
    pub(super) fn gallery_changed(&mut self, person: &str, kind: ImageKind) {
        self.send_thumbnails(person, kind);
        self.send_scores(person);
        if kind == ImageKind::Verification {
            self.send_negatives_showing();
        }
    }

    /// Which negatives show someone enrolled, for the Manage view to offer their removal.
    pub(super) fn send_negatives_showing(&mut self) {
        match self.engine.negatives_showing(&[]) {
            Ok(found) => self.send(Event::NegativesShowing(found)),
            Err(e) => self.fail("cannot check the negatives", e),
        }
    }

    /// How many negatives are stored, for People & settings.
    pub(super) fn send_negatives_stored(&self) {
        match self.engine.store().faces(&Gallery::Negatives) {
            Ok(faces) => self.send(Event::NegativesStored(faces.len())),
            Err(e) => self.fail("cannot count the negatives", e),
        }
    }

    /// One file of the oldest import; when it ends, the selected person's galleries and scores
    /// follow.
    /// Returns whether imports remain.
    pub(super) fn import_step(&mut self) -> bool {
        let Some(job) = self.imports.front_mut() else {
            return false;
        };
        let events = job.step(&mut self.engine);
        let finished = job.finished().then(|| job.gallery().clone());
        let finished_any = finished.is_some();
        for event in events {
            self.send(event);
        }
        if let (Some(gallery), Some(person)) = (finished, self.person.clone()) {
            if let Gallery::Person { name, kind } = &gallery
                && *name == person
            {
                self.send_thumbnails(&person, *kind);
            }
            // New negatives or someone else's photos are new impostors for the selected person.
            self.send_scores(&person);
        }
        if finished_any {
            self.send_negatives_showing();
            self.send_negatives_stored();
        }
        if self.imports.front().is_some_and(ImportJob::finished) {
            self.imports.pop_front();
        }
        !self.imports.is_empty()
    }

    pub(super) fn import(&mut self, gallery: Gallery, paths: &[std::path::PathBuf]) {
        match ImportJob::new(gallery, paths) {
            Ok(job) => self.imports.push_back(job),
            Err(e) => self.send(Event::CaptureRefused(e)),
        }
    }

    pub(super) fn capture(&mut self, kind: ImageKind) {
        let Some(person) = self.person.clone() else {
            return self.send(Event::CaptureRefused("choose or add a person first".into()));
        };
        let Some(frame) = self.latest.clone() else {
            return self.send(Event::CaptureRefused("no frame yet".into()));
        };
        let gallery = Gallery::Person {
            name: person.clone(),
            kind,
        };
        match self.engine.capture(&gallery, &frame.image, None) {
            Ok((stored, _)) => {
                self.send(Event::Captured {
                    kind,
                    id: stored.meta.id,
                });
                let id = stored.meta.id;
                let what = format!("the {} image just saved", kind.dir_name());
                // Whatever is not about this image is shown where it belongs: the odd images
                // framed in red, a negative that shows the person under Negatives. A check
                // that could not be made first, so that the line ends on what was found.
                let (unchecked, found): (Vec<_>, Vec<_>) = self
                    .engine
                    .after_saving(&gallery, &[id])
                    .into_iter()
                    .partition(|w| matches!(w, SavedWarning::Unchecked { .. }));
                for warning in unchecked {
                    self.send(Event::Warning(warning.text(&gallery, |_| what.clone())));
                }
                for warning in found {
                    // Advice (a near copy) is not a doubt about whose face it is: it goes with
                    // the next message, where a doubt stays until its image is deleted.
                    if !warning.about_the_save() {
                        self.send(Event::Warning(warning.text(&gallery, |_| what.clone())));
                    } else if let Some(id) = warning.image() {
                        let text = warning.text(&gallery, |_| what.clone());
                        self.send(Event::ImageWarning { id, text });
                    }
                }
                self.gallery_changed(&person, kind);
            }
            Err(crate::Error::Quality(issue)) => {
                self.send(Event::CaptureRefused(issue.to_string()))
            }
            Err(e) => self.fail("capture failed", e),
        }
    }

    /// Removes those of `ids` that still show someone: the window's list may be older than a
    /// deletion or a capture since.
    pub(super) fn remove_negatives(&mut self, ids: &[Uuid]) {
        let showing = match self.engine.negatives_showing(&[]) {
            Ok(found) => found,
            Err(e) => return self.fail("cannot check the negatives", e),
        };
        // What is left to show is what was not removed (one that failed stays listed).
        let mut left = Vec::with_capacity(showing.len());
        let mut removed = 0;
        for (id, person) in showing {
            if !ids.contains(&id) {
                left.push((id, person));
            } else if let Err(e) = self.engine.delete_face(&Gallery::Negatives, id) {
                self.fail("cannot remove the negative", e);
                left.push((id, person));
            } else {
                removed += 1;
            }
        }
        self.send(Event::NegativesShowing(left));
        self.send_negatives_stored();
        if removed > 0 {
            // The warning about them on the message line is over: say so.
            self.send(Event::Info(format!(
                "removed {} that showed someone enrolled",
                crate::shown::counted(removed, "negative", "negatives")
            )));
        }
        if let Some(p) = self.person.clone() {
            self.send_scores(&p);
        }
    }
}

fn gallery(person: &str, kind: ImageKind) -> Gallery {
    Gallery::Person {
        name: person.to_owned(),
        kind,
    }
}
