//! Scoring a probe against a person: their trained head when it beat cosine on held-out pairs,
//! else cosine at the detection threshold. One photo's verification and 1:N identification.

use std::collections::HashMap;
use std::path::Path;

use image::RgbImage;

use super::{Engine, Verdict};
use crate::auth::lockout::{Channel, Early, Ended};
use crate::auth::{
    Identification, Scorer, Thresholds, Verification, identify, verify, verify_with,
};
use crate::store::dir::Stamp;
use crate::train::Head;
use crate::vision::{EmbedderKind, Embedding};
use crate::{Error, Result};

/// Heads as last read, so live frames do not read and unseal the file each time.
#[derive(Default)]
pub(super) struct HeadCache(HashMap<(String, EmbedderKind), CachedHead>);

/// A person's head in use (None: scoring with cosine) and the stamp of the file it came from.
/// Training may happen in another thread or process, so a changed stamp means read it again.
struct CachedHead {
    stamp: Option<Stamp>,
    head: Option<Head>,
}

impl Engine {
    /// The person's trained head for the current model, if it beat cosine on held-out pairs
    /// (`facegate train`). A damaged head file is reported and ignored: cosine still works.
    pub fn head_in_use(&mut self, person: &str) -> Option<&Head> {
        let model = self.settings.model;
        let stamp = self
            .store
            .person_file_stamp(person, &crate::train::head_file(model));
        let key = (person.to_owned(), model);
        let fresh = self.heads.0.get(&key).is_some_and(|c| c.stamp == stamp);
        if !fresh {
            let head = match crate::train::load_head(&self.store, person, model) {
                Ok(Some(saved)) if saved.in_use => Some(saved.weights),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!("ignoring {person}'s trained head, scoring with cosine: {e}");
                    None
                }
            };
            self.heads.0.insert(key.clone(), CachedHead { stamp, head });
        }
        self.heads.0[&key].head.as_ref()
    }

    /// `probe` against the person's verification images with the person's scorer: their head's
    /// probability at 0.5 when one is in use, else cosine at the detection threshold.
    pub fn score(&mut self, person: &str, probe: &Embedding) -> Result<Verification> {
        self.score_with(person, probe, self.thresholds(), true)
    }

    /// [`Engine::score`] at `thresholds` (an attempt's rule) instead of the settings', with the
    /// person's head only where `trained_head` allows it (see [`AttemptRule::trained_head`]).
    ///
    /// [`AttemptRule::trained_head`]: crate::auth::attempt::AttemptRule::trained_head
    pub fn score_with(
        &mut self,
        person: &str,
        probe: &Embedding,
        thresholds: Thresholds,
        trained_head: bool,
    ) -> Result<Verification> {
        // Taken out of the cache for the call, so the head (borrowed from self) and the gallery
        // (owned by self) can be used together without copying the vectors.
        self.gallery(person)?;
        let held = self.galleries.remove(person).unwrap_or_default();
        let gallery = &held.vectors;
        if gallery.is_empty() {
            return Err(Error::NoVerificationImages(vec![person.to_owned()]));
        }
        let head = if trained_head {
            self.head_in_use(person)
        } else {
            None
        };
        let verification = match head {
            Some(head) => {
                let thresholds = Thresholds {
                    detection: crate::train::HEAD_THRESHOLD,
                    ..thresholds
                };
                verify_with(probe, gallery, thresholds, Scorer::Head, |p, g| {
                    head.probability(p, g)
                })
            }
            _ => verify(probe, gallery, thresholds),
        };
        self.galleries.insert(person.to_owned(), held);
        Ok(verification)
    }

    /// Verifies one photo as `person`: one attempt, counted against the lock-out like a live
    /// one, with its audit line.
    pub fn verify_photo(&mut self, person: &str, img: &RgbImage, name: &Path) -> Result<Verdict> {
        self.ensure_enrolled(person)?;
        // Counted before a face is looked for, so no photo escapes the count but by having no
        // face to compare. (A file that does not decode never reaches here: nothing was tried.)
        self.count_start(person)?;
        let judged = self.probe(img, name).and_then(|probe| {
            Ok((
                probe.face,
                probe.faces_in_image,
                self.score(person, &probe.embedding)?,
            ))
        });
        let (face, faces_in_image, verification) = match judged {
            Ok(judged) => judged,
            Err(e) => {
                // Nothing was compared: settled (with its audit line) as a live attempt is that
                // saw no face, or whose frames stopped when the models failed on it, so an
                // error here never leaves the start counting until it runs out.
                self.settle_attempt(
                    person,
                    Channel::Photo,
                    photo_unjudged(&e),
                    super::AttemptDetails::default(),
                )?;
                return Err(e);
            }
        };
        self.settle_attempt(
            person,
            Channel::Photo,
            Ended::of(verification.accepted, true),
            super::AttemptDetails {
                last: Some(&verification),
                frame: Some(img),
                face: Some(&face),
                ..super::AttemptDetails::default()
            },
        )?;
        Ok(Verdict {
            person: person.to_owned(),
            face,
            faces_in_image,
            verification,
        })
    }

    /// 1:N: who among the enrolled is this? People locked out are left out of the ranking.
    /// Ranked by mean cosine at the settings' thresholds; the best is judged as
    /// [`Engine::score`] judges them, with their trained head where one is in use.
    pub fn identify(&mut self, probe: &Embedding) -> Result<Identification> {
        self.identify_at(probe, self.thresholds(), true)
    }

    /// [`Engine::identify`] at `thresholds`, the best judged with their head only where
    /// `trained_head` allows it (as [`Engine::score_with`]): the Unlock view searches at the
    /// unlock rule's, so that nobody its attempt would refuse on the first frame starts one (and
    /// counts a failure against the person they resemble).
    pub fn identify_at(
        &mut self,
        probe: &Embedding,
        thresholds: Thresholds,
        trained_head: bool,
    ) -> Result<Identification> {
        let (mut people, mut not_one_person, mut unreadable) = (Vec::new(), Vec::new(), Vec::new());
        for name in self.store.people()? {
            let held = self.gallery(&name).map(|_| ());
            match held {
                Ok(()) => people.push(name),
                // Left out, as the locked are: nobody is identified as a gallery that is not one
                // person, and the rest are still identified. Said by whoever shows the result
                // (`Identification::left_out`), not logged here: the Unlock view identifies on
                // every frame.
                Err(Error::NotOnePerson(_)) => not_one_person.push(name),
                // Theirs alone: the rest are still identified (a model, the settings or the
                // store failing is everyone's, and stops it: diff review s41 #4).
                Err(Error::Store(e)) if self.store.is_about_person(&e, &name) => {
                    unreadable.push((name, crate::shown::Reason(&e).to_string()))
                }
                Err(e) => return Err(e),
            }
        }
        let mut locked = Vec::new();
        let mut galleries: Vec<(String, &[(uuid::Uuid, Embedding)])> = Vec::new();
        for name in people {
            let g = self.galleries[&name].vectors.as_slice();
            match self.lockout(&name) {
                Some(lock) if !g.is_empty() => locked.push((name, lock)),
                Some(_) => {}
                None => galleries.push((name, g)),
            }
        }
        let mut id = Identification {
            locked,
            not_one_person,
            unreadable,
            ..identify(probe, &galleries, thresholds)
        };
        // Heads are not comparable across people, so they do not rank; but whether the best is
        // accepted is `score_with`'s answer, as for `verify`: a face `verify ann` accepted
        // through her head was "unknown" to `identify` (design review s32 D4).
        if trained_head
            && let Some(top) = id.ranking.first_mut()
            && self.head_in_use(&top.name).is_some()
        {
            top.verification = self.score_with(&top.name, probe, thresholds, true)?;
            id.identity = top.verification.accepted.then(|| top.name.clone());
        }
        Ok(id)
    }
}

/// How a photo settles that reached no verdict: one with no usable face judged none (as a live
/// attempt that saw none); one the models or the store failed on is the machine's failure, and
/// is taken back whole (as a live attempt whose frames stopped).
fn photo_unjudged(e: &Error) -> Ended {
    match e {
        Error::NoFace(_) | Error::TooDark { .. } | Error::ManyFaces { .. } | Error::Quality(_) => {
            Ended::of(false, false)
        }
        _ => Ended::early(false, Early::FramesStopped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_without_a_face_counts_and_a_failed_model_does_not() {
        assert_eq!(
            photo_unjudged(&Error::NoFace("a.jpg".into())),
            Ended::Unjudged
        );
        assert_eq!(
            photo_unjudged(&Error::ManyFaces {
                path: "two.png".into(),
                faces: 2,
                found: 2
            }),
            Ended::Unjudged
        );
        let model = crate::runtime::ModelError::Missing("x.onnx".into());
        assert_eq!(photo_unjudged(&Error::Model(model)), Ended::CutShort);
        assert_eq!(
            photo_unjudged(&Error::NoVerificationImages(vec!["ann".into()])),
            Ended::CutShort
        );
        assert_eq!(
            photo_unjudged(&Error::SettingsDamaged("x".into())),
            Ended::CutShort
        );
    }
}
