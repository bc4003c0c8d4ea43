//! Thresholds from measurement: the scores a person's own images give against each other
//! (genuine) and against other people's faces (impostor), the detection threshold that meets a
//! target false-accept rate, and how consistent a person's embeddings are.

use serde::Serialize;
use uuid::Uuid;

use super::template;
use crate::vision::Embedding;

/// The target false-accept rate of one comparison unless the user picks another (the CLI's
/// `--far`, the window's list).
pub const DEFAULT_TARGET_FAR: f64 = 1e-3;

/// A rate as a percentage, with more decimals for the small ones: enough for two significant
/// digits below 0.0001 % (`--far 1e-9` showed "target 0.0000 %"; journey s39 #15).
pub fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p >= 0.1 || p == 0.0 || !p.is_finite() {
        format!("{p:.2} %")
    } else if p >= 1e-4 {
        format!("{p:.4} %")
    } else {
        match (-p.log10()).ceil() as usize + 1 {
            decimals @ ..=12 => format!("{p:.decimals$} %"),
            // Past a dozen zeros, a power of ten reads better than a row of them.
            _ => format!("{p:.1e} %"),
        }
    }
}

/// A target false-accept rate as the user gave it: strictly between 0 and 1 (0 has no threshold
/// and 1 is no target). One check for `facegate calibrate --far` and the window's Calibrate.
pub fn target_far(far: f64) -> Result<f64, String> {
    if far > 0.0 && far < 1.0 {
        Ok(far)
    } else {
        Err(format!(
            "the target FAR must be above 0 and below 1, e.g. 0.001 (got {far})"
        ))
    }
}

/// Comparison scores of one kind of pair, for reading FAR and FRR off at any threshold.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScoreSets {
    /// A person's images against each other.
    pub genuine: Vec<f32>,
    /// A person's images against the negatives and other enrolled people.
    pub impostor: Vec<f32>,
}

/// A threshold chosen for a target false-accept rate, and what it gives.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub threshold: f32,
    pub target_far: f64,
    /// FAR measured at `threshold` on the impostor scores.
    pub far: f64,
    /// FRR at `threshold` on the genuine scores (None without genuine pairs).
    pub frr: Option<f64>,
    pub genuine: usize,
    pub impostor: usize,
    /// False when there are too few impostor scores to measure the target (fewer than 1/FAR):
    /// the threshold then sits just above the highest impostor score seen.
    pub target_measurable: bool,
}

impl Calibration {
    /// The impostor comparisons that passed at the threshold.
    pub fn false_accepts(&self) -> u64 {
        (self.far * self.impostor as f64).round() as u64
    }

    /// How high the FAR may be at 95 % confidence, from so many impostor comparisons
    /// ([`crate::bounds::upper`]): 1 in 162 is "0.62 %", and as much as 3.4 %.
    pub fn far_bound(&self) -> f64 {
        crate::bounds::upper(self.false_accepts(), self.impostor as u64, 0.95)
    }
}

/// How tightly a person's images cluster: cosine of each image to their template.
#[derive(Debug, Clone, Serialize)]
pub struct Consistency {
    pub images: usize,
    pub mean: f32,
    pub min: f32,
    pub std: f32,
    /// The image furthest from the template: the first to retake when the spread is wide.
    pub weakest: Uuid,
}

impl ScoreSets {
    /// Every pair within `own`, and every `own` × `others` pair, by cosine.
    pub fn from_embeddings(own: &[Embedding], others: &[Embedding]) -> ScoreSets {
        ScoreSets::scored(own, others, Embedding::cosine)
    }

    /// Every pair within `own` (genuine) and every `own` × `others` pair (impostor), each
    /// scored by `score`: cosine, or a trained head's probability.
    pub fn scored(
        own: &[Embedding],
        others: &[Embedding],
        score: impl Fn(&Embedding, &Embedding) -> f32,
    ) -> ScoreSets {
        let mut genuine = Vec::with_capacity(own.len() * own.len().saturating_sub(1) / 2);
        for (i, a) in own.iter().enumerate() {
            genuine.extend(own[i + 1..].iter().map(|b| score(a, b)));
        }
        let impostor = own
            .iter()
            .flat_map(|a| others.iter().map(|b| score(a, b)))
            .collect();
        ScoreSets { genuine, impostor }
    }

    pub fn extend(&mut self, other: ScoreSets) {
        self.genuine.extend(other.genuine);
        self.impostor.extend(other.impostor);
    }

    /// Share of impostor pairs that would match (score above `threshold`).
    pub fn far(&self, threshold: f32) -> Option<f64> {
        share(&self.impostor, |s| s > threshold)
    }

    /// Share of genuine pairs that would not match.
    pub fn frr(&self, threshold: f32) -> Option<f64> {
        share(&self.genuine, |s| s <= threshold)
    }

    /// The threshold for `target_far`: of those whose measured FAR is at most the target, the
    /// lowest (the fewest false rejections, the friendliest setting that keeps the promise),
    /// raised toward `ceiling` (the model's default) as far as the genuine pairs lose nothing
    /// by it. The lowest alone let through an impostor it measured for no rejection saved,
    /// often below the default (journey s36 #13); never above the ceiling, since the threshold
    /// is everyone's and only these pairs were measured, nor with no genuine pair to measure
    /// (final read s36 #2).
    pub fn calibrate(&self, target_far: f64, ceiling: f32) -> Option<Calibration> {
        let mut impostor = self.impostor.clone();
        if impostor.is_empty() {
            return None;
        }
        impostor.sort_by(|a, b| b.total_cmp(a));
        let n = impostor.len();
        // Up to `allowed` impostor scores may lie above the threshold; the threshold sits on the
        // next one (a match needs a score strictly above it).
        let allowed = ((target_far * n as f64).floor() as usize).min(n - 1);
        let frr = self.frr(impostor[allowed]);
        // Each step up sits on the next impostor score: one fewer of them passes.
        let threshold = impostor[..=allowed]
            .iter()
            .rev()
            .take_while(|&&t| frr.is_some() && t <= ceiling.max(impostor[allowed]))
            .take_while(|&&t| self.frr(t) == frr)
            .last()
            .copied()
            .unwrap_or(impostor[allowed]);
        Some(Calibration {
            threshold,
            target_far,
            far: self.far(threshold).unwrap_or(0.0),
            frr: self.frr(threshold),
            genuine: self.genuine.len(),
            impostor: n,
            target_measurable: n as f64 * target_far >= 1.0,
        })
    }
}

fn share(scores: &[f32], pred: impl Fn(f32) -> bool) -> Option<f64> {
    (!scores.is_empty())
        .then(|| scores.iter().filter(|&&s| pred(s)).count() as f64 / scores.len() as f64)
}

/// Spread of `embeddings` around their template; None for fewer than two images.
pub fn consistency(embeddings: &[(Uuid, Embedding)]) -> Option<Consistency> {
    if embeddings.len() < 2 {
        return None;
    }
    let t = template(embeddings.iter().map(|(_, e)| e))?;
    let scores: Vec<(Uuid, f32)> = embeddings
        .iter()
        .map(|(id, e)| (*id, e.cosine(&t)))
        .collect();
    let n = scores.len() as f32;
    let mean = scores.iter().map(|s| s.1).sum::<f32>() / n;
    let std = (scores.iter().map(|s| (s.1 - mean).powi(2)).sum::<f32>() / n).sqrt();
    let (weakest, min) = scores
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("at least two");
    Some(Consistency {
        images: scores.len(),
        mean,
        min,
        std,
        weakest,
    })
}

/// What the store says about one person: their genuine and impostor scores and the spread of
/// their verification images.
#[derive(Debug, Clone, Serialize)]
pub struct PersonScores {
    pub person: String,
    pub scores: ScoreSets,
    pub consistency: Option<Consistency>,
    /// Verification images that match fewer than half of the others: while there are any, the
    /// images are not one person and no decision uses them ([`super::one_person`]).
    pub odd: Vec<Uuid>,
    /// The verification images a decision would count (those that load): the number the
    /// refusal says.
    pub images: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_rate_keeps_two_significant_digits() {
        assert_eq!(percent(0.0294), "2.94 %");
        assert_eq!(percent(1e-3), "0.10 %");
        assert_eq!(percent(2.94e-4), "0.0294 %");
        assert_eq!(percent(1e-9), "0.00000010 %");
        assert_eq!(percent(1e-20), "1.0e-18 %");
        assert_eq!(percent(0.0), "0.00 %");
    }

    fn sets(genuine: &[f32], impostor: &[f32]) -> ScoreSets {
        ScoreSets {
            genuine: genuine.to_vec(),
            impostor: impostor.to_vec(),
        }
    }

    #[test]
    fn calibration_meets_the_target_far() {
        let impostor: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0 * 0.5).collect();
        // Genuine pairs among the top impostor scores: the lowest threshold meeting the target
        // is kept, since each step up costs a genuine pair.
        let genuine: Vec<f32> = (0..10).map(|i| 0.4946 + i as f32 * 0.0005).collect();
        let s = sets(&genuine, &impostor);
        let c = s.calibrate(0.01, 1.0).expect("has impostors");
        println!("threshold {} far {} frr {:?}", c.threshold, c.far, c.frr);
        assert!(c.far <= 0.01 && c.far > 0.008, "far {}", c.far);
        assert!(c.target_measurable);
        assert_eq!(c.frr, Some(0.0));
    }

    /// Where the person's own pairs lose nothing by it, the threshold rises past impostors
    /// the lowest one let through (it went below the model's default with one impostor of 185
    /// passing, for no rejection saved; journey s36 #13).
    #[test]
    fn a_stricter_threshold_that_costs_nothing_is_taken() {
        let impostor: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0 * 0.5).collect();
        let s = sets(&[0.4, 0.6, 0.8], &impostor);
        let c = s.calibrate(0.01, 1.0).expect("has impostors");
        println!("threshold {} far {} frr {:?}", c.threshold, c.far, c.frr);
        assert_eq!(c.threshold, 0.4995, "the highest impostor score");
        assert_eq!(c.far, 0.0);
        assert_eq!(c.frr, Some(1.0 / 3.0), "as at the lowest");
    }

    /// Raised toward the model's default, not past it: the threshold is everyone's, and only
    /// these pairs were measured; nor raised at all with no genuine pair (final read s36 #2).
    #[test]
    fn the_raise_stops_at_the_default_and_needs_pairs() {
        let impostor: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0 * 0.5).collect();
        // The lowest meeting 1 % is 0.4945; the impostors go on to 0.4995.
        let c = sets(&[0.6, 0.8], &impostor).calibrate(0.01, 0.497).unwrap();
        assert_eq!(c.threshold, 0.497, "raised to the ceiling, not past it");
        let c = sets(&[0.6, 0.8], &impostor).calibrate(0.01, 0.3).unwrap();
        assert_eq!(
            c.threshold, 0.4945,
            "never below the lowest meeting the target"
        );
        let c = sets(&[], &impostor).calibrate(0.01, 1.0).unwrap();
        assert!(c.far > 0.008, "unraised: {}", c.far);
    }

    #[test]
    fn too_few_impostors_sits_above_the_highest() {
        let s = sets(&[0.9], &[0.1, 0.3, 0.2]);
        let c = s.calibrate(1e-3, 1.0).expect("has impostors");
        assert_eq!(c.threshold, 0.3);
        assert_eq!(c.far, 0.0);
        assert!(!c.target_measurable);
    }

    #[test]
    fn consistency_finds_the_outlier() {
        let e = |v: [f32; 3]| Embedding::normalised(v.to_vec());
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let c = consistency(&[
            (ids[0], e([1.0, 0.1, 0.0])),
            (ids[1], e([1.0, -0.1, 0.0])),
            (ids[2], e([0.5, 0.0, 1.0])),
        ])
        .expect("three images");
        assert_eq!(c.weakest, ids[2]);
        assert!(c.min < c.mean && c.std > 0.0);
    }
}
