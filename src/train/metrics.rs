//! Precision, recall, F1 and ROC AUC of a scorer on labelled pairs.

use serde::{Deserialize, Serialize};

use crate::eval::{ScoredPair, roc_auc};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Of the pairs called "same", the share that are (0 when none is called same).
    pub precision: f64,
    /// Of the same-person pairs, the share called "same".
    pub recall: f64,
    pub f1: f64,
    /// Threshold-free: how well the scores rank same above different.
    pub auc: f64,
    /// "Same" means score > threshold.
    pub threshold: f32,
    pub same_pairs: usize,
    pub different_pairs: usize,
}

pub fn metrics(scores: &[f32], same: &[bool], threshold: f32) -> Metrics {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (&s, &y) in scores.iter().zip(same) {
        match (s > threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let scored: Vec<ScoredPair> = scores
        .iter()
        .zip(same)
        .map(|(&score, &same)| ScoredPair { score, same })
        .collect();
    let same_pairs = same.iter().filter(|&&s| s).count();
    Metrics {
        precision,
        recall,
        f1,
        // NaN (one class missing) cannot be written as JSON; the split guarantees both classes,
        // so 0.5 (chance) only guards against misuse.
        auc: Some(roc_auc(&scored))
            .filter(|a| a.is_finite())
            .unwrap_or(0.5),
        threshold,
        same_pairs,
        different_pairs: same.len() - same_pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_hand() {
        // tp 2 (0.9, 0.8), fn 1 (0.3), fp 1 (0.7), tn 2.
        let scores = [0.9, 0.8, 0.3, 0.7, 0.2, 0.1];
        let same = [true, true, true, false, false, false];
        let m = metrics(&scores, &same, 0.5);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.auc - 8.0 / 9.0).abs() < 1e-12);
        assert_eq!((m.same_pairs, m.different_pairs), (3, 3));
        let none = metrics(&scores, &same, 0.95);
        assert_eq!((none.precision, none.recall, none.f1), (0.0, 0.0, 0.0));
    }
}
