//! Verification: a probe face against a person's verification images, with the two thresholds.
//!
//! * **Detection threshold**: one comparison (probe vs one verification image) is a match when
//!   its cosine similarity is above it.
//! * **Verification threshold**: the person is accepted when at least this share of their
//!   verification images match.
//!
//! Plus what a face-unlock needs around that: the live K-of-N rule ([`votes`]) and the one
//! attempt policy every live decision goes through ([`attempt`]), lock-out after repeated
//! failures ([`lockout`]), 1:N identification, whether a gallery shows one person
//! ([`one_person`]), thresholds from measured scores ([`calibrate`]), and the capture quality
//! gate ([`quality`]). [`crate::engine`] ties them to the store and the pipeline.

pub mod attempt;
pub mod calibrate;
pub mod lockout;
pub mod one_person;
pub mod quality;
pub mod votes;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::vision::Embedding;

/// Default share of verification images that must match. Chosen on deepface's photos
/// (tests/verify_store.rs prints the sweep): 10 people enrolled from half their photos, 26 probes,
/// 260 comparisons at SFace's 0.363. Every genuine probe matched 100 % of its person's images; one
/// impostor matched 1 of 2 (share 0.5). 0.6 ("more than half") rejects it and keeps the full
/// margin for genuine users.
pub const DEFAULT_VERIFICATION_THRESHOLD: f32 = 0.6;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub detection: f32,
    pub verification: f32,
}

/// What scored the comparisons: cosine similarity, or the person's trained siamese head (a
/// probability; see [`crate::train`]), used only when it beat cosine on held-out pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scorer {
    #[default]
    Cosine,
    Head,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub image: Uuid,
    pub score: f32,
    pub matched: bool,
}

/// Everything a user needs to see why they were (not) accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub accepted: bool,
    pub matched: usize,
    pub total: usize,
    /// matched / total.
    pub share: f32,
    pub best: f32,
    /// Similarity to the mean of the person's verification embeddings.
    pub template_score: f32,
    pub thresholds: Thresholds,
    /// What produced each comparison's score (and so what `thresholds.detection` applies to).
    pub scorer: Scorer,
    pub comparisons: Vec<Comparison>,
}

/// The normalised mean of `embeddings` (a person's template).
pub fn template<'a>(embeddings: impl IntoIterator<Item = &'a Embedding>) -> Option<Embedding> {
    let mut sum: Vec<f32> = Vec::new();
    for e in embeddings {
        if sum.is_empty() {
            sum = vec![0.0; e.0.len()];
        }
        sum.iter_mut().zip(&e.0).for_each(|(s, x)| *s += x);
    }
    (!sum.is_empty()).then(|| Embedding::normalised(sum))
}

/// Scores `probe` against each `(image id, embedding)` of a person. With no images nothing can
/// match, so the result is a rejection.
pub fn verify(
    probe: &Embedding,
    gallery: &[(Uuid, Embedding)],
    thresholds: Thresholds,
) -> Verification {
    verify_with(
        probe,
        gallery,
        thresholds,
        Scorer::Cosine,
        Embedding::cosine,
    )
}

/// [`verify`] with another per-comparison score (higher = more alike), e.g. a trained head's
/// probability; `scorer` names it in the result. The template score stays a cosine.
pub fn verify_with(
    probe: &Embedding,
    gallery: &[(Uuid, Embedding)],
    thresholds: Thresholds,
    scorer: Scorer,
    score: impl Fn(&Embedding, &Embedding) -> f32,
) -> Verification {
    let comparisons: Vec<Comparison> = gallery
        .iter()
        .map(|(id, e)| {
            let score = score(probe, e);
            Comparison {
                image: *id,
                score,
                matched: score > thresholds.detection,
            }
        })
        .collect();
    let total = comparisons.len();
    let matched = comparisons.iter().filter(|c| c.matched).count();
    let share = if total == 0 {
        0.0
    } else {
        matched as f32 / total as f32
    };
    let template_score =
        template(gallery.iter().map(|(_, e)| e)).map_or(f32::NAN, |t| probe.cosine(&t));
    Verification {
        accepted: total > 0 && share >= thresholds.verification,
        matched,
        total,
        share,
        best: comparisons
            .iter()
            .map(|c| c.score)
            .fold(f32::NEG_INFINITY, f32::max),
        template_score,
        thresholds,
        scorer,
        comparisons,
    }
}

/// One enrolled person's result in a 1:N search.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub name: String,
    pub mean_score: f32,
    pub verification: Verification,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identification {
    /// Everyone, best mean score first.
    pub ranking: Vec<Candidate>,
    /// The top-ranked person if they pass verification; None means "unknown".
    pub identity: Option<String>,
    /// People with verification images left out because they are locked out, with their lock
    /// (filled by `Engine::identify_at`, which reads the locks anyway).
    #[serde(skip)]
    pub locked: Vec<(String, lockout::Lock)>,
    /// People left out because their verification images do not all show one person
    /// ([`one_person`]).
    #[serde(skip)]
    pub not_one_person: Vec<String>,
    /// People left out because their images cannot be read (a folder of the wrong owner or
    /// mode), with why: one such folder stopped identify for everyone (journey s40 #5).
    #[serde(skip)]
    pub unreadable: Vec<(String, String)>,
}

impl Identification {
    /// Who was left out of the ranking and why, a line each, where a ranking is shown to the
    /// owner of the store (the CLI, the window's Identify; the Unlock view names nobody).
    pub fn left_out(&self) -> Vec<String> {
        (self.left_out_reasons().into_iter())
            .map(|(name, why)| format!("{name} left out: {why}"))
            .collect()
    }

    /// [`Self::left_out`] as (name, reason) pairs, for `identify --json`.
    pub fn left_out_reasons(&self) -> Vec<(&str, String)> {
        let locked = (self.locked.iter()).map(|(name, lock)| (name.as_str(), lock.to_string()));
        let mixed = self.not_one_person.iter().map(|name| {
            let why = "their verification images do not all show one person";
            (name.as_str(), why.to_owned())
        });
        let unreadable = (self.unreadable.iter()).map(|(name, why)| {
            (
                name.as_str(),
                format!("their images cannot be read ({why})"),
            )
        });
        locked.chain(mixed).chain(unreadable).collect()
    }

    /// What the bare verdict would hide: others ranked below who pass their own verification
    /// too. With an identity, that two enrolled people match one face (one person enrolled
    /// twice, or a photo in the wrong gallery); without one, that the nearest does not pass,
    /// so "nobody passes" would be untrue (journey s41 #2). The nearer is never passed over
    /// for a further one who passes: the face is more like someone it cannot be taken for.
    pub fn caveat(&self) -> Option<String> {
        let passing: Vec<String> = self
            .ranking
            .iter()
            .skip(1)
            .filter(|c| c.verification.accepted)
            .map(|c| format!("{} (mean {:.3})", c.name, c.mean_score))
            .collect();
        let nearest = self.ranking.first()?;
        let (also, pass) = match passing.len() {
            0 => return None,
            1 => (passing.join(""), "passes"),
            _ => (passing.join(", "), "pass"),
        };
        Some(match self.identity {
            Some(_) => format!(
                "{also} {pass} too, further down (by the shared rule, not a trained head): more \
                 than one enrolled person matches this face (one person enrolled twice, or a \
                 photo in the wrong person's images?)"
            ),
            None => format!(
                "the nearest, {} (mean {:.3}), does not pass verification; {also} {pass}, but \
                 the face is nearer {}, so it is not taken for theirs",
                nearest.name, nearest.mean_score, nearest.name
            ),
        })
    }
}

pub fn identify<G: AsRef<[(Uuid, Embedding)]>>(
    probe: &Embedding,
    people: &[(String, G)],
    thresholds: Thresholds,
) -> Identification {
    let mut ranking: Vec<Candidate> = people
        .iter()
        .filter(|(_, gallery)| !gallery.as_ref().is_empty())
        .map(|(name, gallery)| {
            let verification = verify(probe, gallery.as_ref(), thresholds);
            let mean_score = verification
                .comparisons
                .iter()
                .map(|c| c.score)
                .sum::<f32>()
                / verification.total as f32;
            Candidate {
                name: name.clone(),
                mean_score,
                verification,
            }
        })
        .collect();
    ranking.sort_by(|a, b| b.mean_score.total_cmp(&a.mean_score));
    let identity = ranking
        .first()
        .filter(|c| c.verification.accepted)
        .map(|c| c.name.clone());
    Identification {
        ranking,
        identity,
        locked: Vec::new(),
        not_one_person: Vec::new(),
        unreadable: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(v: &[f32]) -> Embedding {
        Embedding::normalised(v.to_vec())
    }

    #[test]
    fn share_and_thresholds_decide() {
        let gallery = vec![
            (Uuid::new_v4(), e(&[1.0, 0.0])),
            (Uuid::new_v4(), e(&[0.9, 0.1])),
            (Uuid::new_v4(), e(&[0.0, 1.0])),
        ];
        let th = Thresholds {
            detection: 0.8,
            verification: 0.5,
        };
        let v = verify(&e(&[1.0, 0.05]), &gallery, th);
        assert_eq!((v.matched, v.total), (2, 3));
        assert!(v.accepted);
        let strict = verify(
            &e(&[1.0, 0.05]),
            &gallery,
            Thresholds {
                verification: 0.9,
                ..th
            },
        );
        assert!(!strict.accepted);
        assert!(
            !verify(&e(&[1.0, 0.0]), &[], th).accepted,
            "an empty gallery accepts nobody"
        );
    }

    #[test]
    fn identify_says_unknown_when_nobody_passes() {
        let people = vec![
            ("a".to_string(), vec![(Uuid::new_v4(), e(&[1.0, 0.0]))]),
            ("b".to_string(), vec![(Uuid::new_v4(), e(&[0.0, 1.0]))]),
        ];
        let th = Thresholds {
            detection: 0.8,
            verification: 0.5,
        };
        assert_eq!(
            identify(&e(&[0.1, 1.0]), &people, th).identity.as_deref(),
            Some("b")
        );
        let unknown = identify(&e(&[1.0, 1.0]), &people, th);
        assert_eq!(unknown.identity, None);
        assert_eq!(unknown.ranking.len(), 2);
        assert_eq!(unknown.caveat(), None, "nobody passes: nothing to add");
    }

    /// A further one who passes is named, never taken instead of the nearer (journey s41 #2).
    #[test]
    fn identify_names_others_who_pass_and_a_nearer_who_does_not() {
        let th = Thresholds {
            detection: 0.8,
            verification: 0.6,
        };
        let one = |v: &[f32]| vec![(Uuid::new_v4(), e(v))];
        let twice = vec![
            ("a".to_string(), one(&[1.0, 0.0])),
            ("b".to_string(), one(&[0.95, 0.1])),
        ];
        let both = identify(&e(&[1.0, 0.02]), &twice, th);
        assert_eq!(both.identity.as_deref(), Some("a"));
        let said = both.caveat().unwrap();
        assert!(
            said.starts_with("b (mean 0.99") && said.contains("passes too"),
            "{said}"
        );
        // a's mean (0.895) is above b's (0.85), but only 1 of a's 2 images matches.
        let nearer_fails = vec![
            (
                "a".to_string(),
                vec![
                    (Uuid::new_v4(), e(&[1.0, 0.0])),
                    (Uuid::new_v4(), e(&[0.79, 0.613])),
                ],
            ),
            ("b".to_string(), one(&[0.85, 0.527])),
        ];
        let id = identify(&e(&[1.0, 0.0]), &nearer_fails, th);
        assert_eq!(id.identity, None);
        let said = id.caveat().unwrap();
        assert!(
            said.starts_with("the nearest, a (mean 0.895), does not pass")
                && said.contains("b (mean 0.850) passes"),
            "{said}"
        );
    }
}
