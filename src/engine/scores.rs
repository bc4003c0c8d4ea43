//! A person's genuine and impostor scores from the store's own faces: the FAR and FRR the
//! window shows beside the threshold slider, and what `facegate calibrate` picks from.

use crate::hint::FACEGATE;
use uuid::Uuid;

use super::Engine;
use crate::auth::calibrate::{Calibration, ScoreSets, consistency};
use crate::auth::one_person;
use crate::store::{Gallery, ImageKind, Settings, StoreError};
use crate::vision::Embedding;
use crate::{Error, Result};

pub use crate::auth::calibrate::PersonScores;

impl Engine {
    /// Every image of `person`, every kind, with its embedding.
    pub(super) fn all_images(&mut self, person: &str) -> Result<Vec<(Uuid, Embedding)>> {
        let mut out = Vec::new();
        for kind in ImageKind::ALL {
            out.extend(self.embeddings(&Gallery::Person {
                name: person.to_owned(),
                kind,
            })?);
        }
        Ok(out)
    }

    /// `person`'s vectors (every kind), and those they are told apart from: the negatives and
    /// everyone else's images.
    pub(super) fn own_and_others(
        &mut self,
        person: &str,
    ) -> Result<(Vec<Embedding>, Vec<Embedding>)> {
        self.own_and_others_but(person, &[])
    }

    /// [`Engine::own_and_others`], leaving out of the others those in `counted` (whose pairs
    /// with `person` a pooled count has already).
    fn own_and_others_but(
        &mut self,
        person: &str,
        counted: &[String],
    ) -> Result<(Vec<Embedding>, Vec<Embedding>)> {
        let person = self.store.stored_name(person)?;
        let vectors = |v: Vec<(Uuid, Embedding)>| v.into_iter().map(|(_, e)| e);
        let own: Vec<Embedding> = vectors(self.all_images(&person)?).collect();
        let mut others: Vec<Embedding> = vectors(self.embeddings(&Gallery::Negatives)?).collect();
        for other in self.store.people()? {
            if other != person && !counted.contains(&other) {
                others.extend(vectors(self.all_images(&other)?));
            }
        }
        Ok((own, others))
    }

    /// Scores `person`'s images (all kinds) against each other, the negatives and everyone else
    /// enrolled.
    pub fn person_scores(&mut self, person: &str) -> Result<PersonScores> {
        self.store.require_person(person)?;
        let (own, others) = self.own_and_others(person)?;
        let held = self.held_gallery(person)?;
        let odd = held.odd.iter().map(|o| o.id).collect();
        let consistency = consistency(&held.vectors);
        Ok(PersonScores {
            person: person.to_owned(),
            scores: ScoreSets::from_embeddings(&own, &others),
            consistency,
            odd,
            images: held.vectors.len(),
        })
    }

    /// The negatives that show one of `people` (everyone enrolled when empty): each with whom.
    /// Negatives stand for other people, so one that is the person's own photo sets the
    /// threshold against their own face. Judged by the rule a gallery's own images are held to
    /// ([`one_person::shows_the_person`]) at face unlock's threshold, which about one stranger's
    /// frame in 100,000 passes: at the desk's looser one, three LFW strangers who look like a
    /// user were called her and calibration refused to run until they were removed, which
    /// lowered the threshold it then chose below their scores (journey review, session 28). A
    /// stranger who looks like the person is the impostor a calibration most needs.
    pub fn negatives_showing(&mut self, people: &[String]) -> Result<Vec<(Uuid, String)>> {
        let people = if people.is_empty() {
            self.store.people()?
        } else {
            people.to_vec()
        };
        let faces = self.embeddings(&Gallery::Negatives)?;
        // Each negative once, with the first person it shows (one that shows two people was
        // counted, and removed, twice).
        let threshold = crate::auth::attempt::unlock_threshold(self.settings.model);
        Ok(self
            .whom_they_show(faces, people, threshold)?
            .into_iter()
            .map(|(id, mut shown)| (id, shown.swap_remove(0)))
            .collect())
    }

    /// Which of `ids`, images just saved for `person`, show someone else enrolled, and whom: by
    /// the rule negatives are judged by ([`Engine::negatives_showing`]), at
    /// [`Engine::lets_in_at`]. One face enrolled under two names lets each in as the other, and
    /// nothing said so (journey review, session 30: Bob captured from Katie's clip). On the desk
    /// that is not face unlock's threshold, as for negatives: a face matching Katie's photos
    /// between the desk's threshold and unlock's was saved for Bob without a word, and the
    /// desk's Verify then let it in as both (design review s32 D1).
    pub fn others_shown(&mut self, person: &str, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
        let others: Vec<String> = self
            .store
            .people()?
            .into_iter()
            .filter(|p| p != person)
            .collect();
        if others.is_empty() || ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut faces = self.all_images(person)?;
        faces.retain(|(id, _)| ids.contains(id));
        // Every one an image shows: an enrolment told that the first is the same person must
        // still hear of a second (read-through, session 31).
        let threshold = self.lets_in_at();
        Ok(self
            .whom_they_show(faces, others, threshold)?
            .into_iter()
            .flat_map(|(id, shown)| shown.into_iter().map(move |other| (id, other)))
            .collect())
    }

    /// Each of `faces` that shows one of `people` ([`one_person::shows_the_person`] against
    /// their verification images, at `threshold`), with all it shows, in order.
    fn whom_they_show(
        &mut self,
        faces: Vec<(Uuid, Embedding)>,
        people: Vec<String>,
        threshold: f32,
    ) -> Result<Vec<(Uuid, Vec<String>)>> {
        let mut galleries = Vec::with_capacity(people.len());
        for person in people {
            let vectors = self.held_gallery(&person)?.vectors.clone();
            galleries.push((person, vectors));
        }
        Ok(faces
            .into_iter()
            .filter_map(|(id, e)| {
                let shown: Vec<String> = galleries
                    .iter()
                    .filter(|(_, g)| one_person::shows_the_person(g, &e, threshold))
                    .map(|(person, _)| person.clone())
                    .collect();
                (!shown.is_empty()).then_some((id, shown))
            })
            .collect())
    }

    /// The verification images of two of `people` that are one photo (cosine at
    /// [`one_person::SAME_PHOTO`] or above), each pair once.
    fn same_photo_twice(&mut self, people: &[String]) -> Result<Vec<crate::error::SamePhoto>> {
        let mut galleries = Vec::with_capacity(people.len());
        for person in people {
            galleries.push((person, self.held_gallery(person)?.vectors.clone()));
        }
        let mut copies = Vec::new();
        for (i, (a, ga)) in galleries.iter().enumerate() {
            for (b, gb) in &galleries[i + 1..] {
                for (ia, ea) in ga {
                    for (ib, eb) in gb {
                        if ea.cosine(eb) >= one_person::SAME_PHOTO {
                            copies.push(crate::error::SamePhoto {
                                a: ((*a).clone(), *ia),
                                b: ((*b).clone(), *ib),
                            });
                        }
                    }
                }
            }
        }
        Ok(copies)
    }

    /// Genuine and impostor scores of `people` (everyone enrolled when empty), pooled.
    pub fn pooled_scores(&mut self, people: &[String]) -> Result<ScoreSets> {
        let people = if people.is_empty() {
            self.store.people()?
        } else {
            let mut named = (people.iter())
                .map(|p| self.store.stored_name(p))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            named.sort();
            named.dedup();
            named
        };
        let mut pooled = ScoreSets::default();
        for (i, person) in people.iter().enumerate() {
            // Two pooled people's pairs once, from the first of them: from both sides, each
            // went in twice, and the FAR's count and bound were on a doubled n (journey s42 #3).
            let (own, others) = self.own_and_others_but(person, &people[..i])?;
            pooled.extend(ScoreSets::from_embeddings(&own, &others));
        }
        Ok(pooled)
    }

    /// The detection threshold for `target_far` on `people`'s images (everyone when empty):
    /// the lowest whose measured FAR meets it, raised toward the model's default as far as
    /// their own pairs lose nothing by it ([`ScoreSets::calibrate`]). It stays at the default
    /// (`kept_default`) when too few impostors can show the target, or when going below it
    /// saves none of their pairs. Every reason it cannot be calibrated is an error here, for
    /// the CLI and the window alike.
    pub fn calibrate(&mut self, people: &[String], target_far: f64) -> Result<Calibrated> {
        crate::auth::calibrate::target_far(target_far).map_err(Error::TargetFar)?;
        // Saved, a calibration writes the whole file: the defaults standing in for its damaged
        // values would become settings nobody chose (a share meant to be 0.9 saved as 0.6;
        // design review s32 D5). Refused as a verification is, until the file is mended.
        self.settings_sound()?;
        let people = if people.is_empty() {
            self.store.people()?
        } else {
            people.to_vec()
        };
        if people.is_empty() {
            return Err(Error::NobodyEnrolled);
        }
        let people = people.as_slice();
        // The person's own photo among the negatives sets the threshold against their own face
        // (with a loose target it still gave 0.73 and 50 % FRR, without a word).
        let among = self.negatives_showing(people)?;
        if !among.is_empty() {
            return Err(Error::EnrolledAmongNegatives(among));
        }
        let scores = self.pooled_scores(people)?;
        let default = self.settings.model.default_threshold();
        let Some(mut calibration) = scores.calibrate(target_far, default) else {
            // No impostor pairs: for want of negatives, or of the people's own images (with
            // negatives imported, "import negatives" was the wrong advice).
            let imageless = people
                .iter()
                .all(|p| !self.store.has_verification_images(p));
            return Err(if imageless {
                Error::NoVerificationImages(people.to_vec())
            } else {
                Error::NoImpostors
            });
        };
        // The target asks for a threshold only the same photo passes: more impostor comparisons
        // than it allows score as an image does against itself. With such negatives refused
        // above, that is the same photo among two enrolled people's images. Said as that;
        // saved, it would refuse everyone (and above 1 the settings check blamed the settings
        // file for it).
        if calibration.threshold >= one_person::SAME_PHOTO {
            let n = scores.impostor.len();
            return Err(Error::FarUnreachable {
                target_far,
                same: scores
                    .far(one_person::SAME_PHOTO)
                    .map_or(0, |f| (f * n as f64).round() as usize),
                impostor: n,
                copies: self.same_photo_twice(people)?,
            });
        }
        // Below the default only for a rejection it saves: lower and no friendlier to the
        // person, everyone's comparisons matched more easily for nothing (journey s36 #13).
        let kept_default = calibration.threshold < default
            && (!calibration.target_measurable || scores.frr(default) == calibration.frr);
        // Never below the floor the settings allow (about 1 % FAR per comparison on LFW), whatever
        // a small or unusual set of faces suggests.
        let floor = crate::store::threshold_floor(self.settings.model);
        let raised = if kept_default {
            Some(default)
        } else {
            (calibration.threshold < floor).then_some(floor)
        };
        if let Some(t) = raised {
            calibration.threshold = t;
            calibration.far = scores.far(t).unwrap_or(0.0);
            calibration.frr = scores.frr(t);
        }
        Ok(Calibrated {
            calibration,
            kept_default,
            model: self.settings.model,
            preprocess: self.settings.preprocess,
        })
    }

    /// Sets the detection threshold to `calibration`'s and saves it over the settings as they
    /// are now: written whole, it reverted whatever the window had saved while the calibration
    /// ran (design review 1.8). A threshold is on the scale of the model and preprocessing it
    /// was measured with: if either was switched meanwhile, nothing is saved
    /// ([`StoreError::ChangedMeanwhile`]: calibrate again).
    pub fn apply_calibration(&mut self, calibration: &Calibration) -> Result<()> {
        self.set_detection_threshold(calibration.threshold)
    }

    /// Sets the detection threshold to `threshold` over the settings as they are saved now
    /// ([`Engine::apply_calibration`]; `calibrate --default` puts the model's back).
    pub fn set_detection_threshold(&mut self, threshold: f32) -> Result<()> {
        let asked = Settings {
            detection_threshold: threshold,
            ..self.settings.clone()
        };
        self.save_and_apply(asked.clone(), |now| {
            if !now.same_vectors(&asked) {
                return Err(StoreError::ChangedMeanwhile);
            }
            Ok(Settings {
                detection_threshold: threshold,
                ..now
            })
        })
        .map(|_| ())
    }
}

/// [`Engine::calibrate`]'s answer.
#[derive(Debug, Clone)]
pub struct Calibrated {
    pub calibration: Calibration,
    pub kept_default: bool,
    /// The embedder whose scores it measured, and the preprocessing of its faces: its threshold
    /// means nothing for another.
    pub model: crate::vision::EmbedderKind,
    pub preprocess: crate::vision::Preprocess,
}

impl Calibrated {
    /// What the person choosing this threshold must know before using it; the CLI prints these
    /// and the window shows them, from here.
    pub fn cautions(&self) -> Vec<String> {
        let cal = &self.calibration;
        let mut said = Vec::new();
        if !cal.target_measurable {
            said.push(format!(
                "{} impostor comparisons cannot show a FAR of {}; the threshold sits {}. Import \
                 more negatives for a real measurement.",
                cal.impostor,
                crate::auth::calibrate::percent(cal.target_far),
                if self.kept_default {
                    "at the model's default, above every impostor score seen"
                } else {
                    "at the highest impostor score seen"
                }
            ));
        }
        // A rate measured on a few hundred comparisons says little: its bound, where that is
        // well over the target (1 in 162 read as "FAR 0.62 %, target 1 %"; journey s35 #6).
        // The bound of the errors a target allows is always somewhat over it (1.18 times for
        // 100 in 100,000), so only half as much again is said (review s35 #2).
        if cal.target_measurable && cal.far_bound() > 1.5 * cal.target_far {
            said.push(format!(
                "{} of {} impostor comparisons passed: at 95 % confidence the FAR may be up to \
                 {}, well over the target; import more negatives to measure it",
                cal.false_accepts(),
                cal.impostor,
                crate::auth::calibrate::percent(cal.far_bound())
            ));
        }
        if self.kept_default && cal.target_measurable {
            said.push(match cal.frr {
                Some(_) => format!(
                    "{}'s default is kept: a lower threshold meeting the target would reject \
                     no fewer genuine pairs (two images of one enrolled person)",
                    self.model
                ),
                // None == None kept it: no pair of their own to show a lower one helps.
                None => format!(
                    "{}'s default is kept: with no genuine pair (two images of one enrolled \
                     person) to measure, nothing shows that a lower threshold would help",
                    self.model
                ),
            });
        }
        let default = self.model.default_threshold();
        if cal.threshold < default {
            said.push(format!(
                "{:.3} is below {}'s default {default:.3}, and the detection threshold is \
                 everyone's: every enrolled person's comparisons match more easily (`{FACEGATE} \
                 calibrate --default` puts the default back)",
                cal.threshold, self.model
            ));
        }
        // (A negative that shows someone enrolled, the cause this once named, is refused
        // before calibrating.)
        if let Some(frr) = cal.frr.filter(|f| *f > 0.5) {
            said.push(format!(
                "this threshold would refuse {} of the enrolled people's own pairs: their images \
                 disagree (years apart, poor light, another person among them?) or the target \
                 is stricter than these faces allow; a looser target, or more alike \
                 verification images, keeps them in",
                crate::auth::calibrate::percent(frr)
            ));
        }
        said
    }
}
