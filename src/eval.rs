//! Scoring labelled pairs: ROC AUC, accuracy at a threshold, the best threshold.

/// A similarity score and whether the pair is truly the same person.
#[derive(Debug, Clone, Copy)]
pub struct ScoredPair {
    pub score: f32,
    pub same: bool,
}

/// Area under the ROC curve: the probability that a random genuine pair outscores a random
/// impostor pair (Mann–Whitney U, ties counted half).
pub fn roc_auc(pairs: &[ScoredPair]) -> f64 {
    let mut sorted: Vec<ScoredPair> = pairs.to_vec();
    sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
    let (mut rank_sum, mut i) = (0.0f64, 0usize);
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].score == sorted[i].score {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks are 1-based
        rank_sum += avg_rank * sorted[i..j].iter().filter(|p| p.same).count() as f64;
        i = j;
    }
    let pos = pairs.iter().filter(|p| p.same).count() as f64;
    let neg = pairs.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Share of pairs classified right when "same" means score > `threshold`.
pub fn accuracy_at(pairs: &[ScoredPair], threshold: f32) -> f64 {
    let right = pairs
        .iter()
        .filter(|p| (p.score > threshold) == p.same)
        .count();
    right as f64 / pairs.len().max(1) as f64
}

/// The threshold (midway between two adjacent scores) with the best accuracy on `pairs`.
pub fn best_threshold(pairs: &[ScoredPair]) -> (f32, f64) {
    let mut scores: Vec<f32> = pairs.iter().map(|p| p.score).collect();
    scores.sort_by(f32::total_cmp);
    scores.dedup();
    let mut candidates = vec![scores.first().map_or(0.0, |s| s - 1e-3)];
    candidates.extend(scores.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    candidates
        .into_iter()
        .map(|t| (t, accuracy_at(pairs, t)))
        .fold((0.0, -1.0), |best, c| if c.1 > best.1 { c } else { best })
}

/// Equal error rate: where the false accept and false reject rates cross (scores of genuine
/// pairs above the threshold accept).
pub fn eer(pairs: &[ScoredPair]) -> f64 {
    let curve = roc(pairs);
    curve
        .iter()
        .map(|p| ((p.far - p.frr).abs(), (p.far + p.frr) / 2.0))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(f64::NAN, |(_, e)| e)
}

/// One operating point: at `threshold`, the share of impostor pairs accepted and of genuine pairs
/// rejected.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct RocPoint {
    pub threshold: f32,
    pub far: f64,
    pub frr: f64,
}

/// Every operating point, from the strictest threshold to the loosest.
pub fn roc(pairs: &[ScoredPair]) -> Vec<RocPoint> {
    let mut sorted: Vec<ScoredPair> = pairs.to_vec();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let pos = pairs.iter().filter(|p| p.same).count().max(1) as f64;
    let neg = pairs.iter().filter(|p| !p.same).count().max(1) as f64;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut points = vec![RocPoint {
        threshold: f32::INFINITY,
        far: 0.0,
        frr: 1.0,
    }];
    let mut i = 0;
    while i < sorted.len() {
        let score = sorted[i].score;
        while i < sorted.len() && sorted[i].score == score {
            if sorted[i].same {
                tp += 1.0
            } else {
                fp += 1.0
            }
            i += 1;
        }
        points.push(RocPoint {
            threshold: score,
            far: fp / neg,
            frr: 1.0 - tp / pos,
        });
    }
    points
}

/// True accept rate at the loosest threshold whose false accept rate is at most `far`; None when
/// there are too few impostor pairs to measure that rate (fewer than 1/far).
pub fn tar_at_far(pairs: &[ScoredPair], far: f64) -> Option<f64> {
    within_far(pairs, far)?
        .map(|p| 1.0 - p.frr)
        .fold(None, |best, t| Some(best.map_or(t, |b: f64| b.max(t))))
}

/// The ROC points whose FAR is at most `far`; None when there are too few impostor pairs to
/// measure that rate (fewer than 1/far).
fn within_far(pairs: &[ScoredPair], far: f64) -> Option<impl Iterator<Item = RocPoint>> {
    let impostors = pairs.iter().filter(|p| !p.same).count() as f64;
    (impostors * far >= 1.0).then(|| roc(pairs).into_iter().filter(move |p| p.far <= far))
}

/// The lowest threshold (scores at or above it accepted) whose FAR is at most `far`; None when
/// there are too few impostors to show that FAR.
pub fn threshold_at_far(pairs: &[ScoredPair], far: f64) -> Option<f32> {
    within_far(pairs, far)?
        .map(|p| p.threshold)
        .fold(None, |lowest, t| Some(lowest.map_or(t, |l: f32| l.min(t))))
}

/// The standard k-fold protocol (LFW View 2): for each fold, choose the threshold on the other
/// folds and measure accuracy on this one. Returns (fold, threshold, accuracy) per fold.
///
/// Err where that cannot be measured: with one fold there are no others to choose on (the
/// threshold of no pairs was 0, and "61 %" was printed as LFW's accuracy: journey s39 #1), and
/// a fold without both kinds of pair gives its neighbours a threshold that separates nothing,
/// and a score that is only a TAR or a TNR.
pub fn k_fold_accuracy(
    pairs: &[ScoredPair],
    folds: &[u32],
) -> Result<Vec<(u32, f32, f64)>, FoldGap> {
    let mut ids: Vec<u32> = folds.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if let [only] = ids[..] {
        return Err(FoldGap::OneFold(only));
    }
    for &fold in &ids {
        let in_fold = || pairs.iter().zip(folds).filter(|(_, f)| **f == fold);
        for (same, kind) in [(true, "genuine"), (false, "impostor")] {
            if !in_fold().any(|(p, _)| p.same == same) {
                return Err(FoldGap::OneSided {
                    fold,
                    missing: kind,
                });
            }
        }
    }
    Ok(ids
        .iter()
        .map(|&fold| {
            let (test, train): (Vec<_>, Vec<_>) =
                pairs.iter().zip(folds).partition(|(_, f)| **f == fold);
            let train: Vec<ScoredPair> = train.into_iter().map(|(p, _)| *p).collect();
            let test: Vec<ScoredPair> = test.into_iter().map(|(p, _)| *p).collect();
            let (threshold, _) = best_threshold(&train);
            (fold, threshold, accuracy_at(&test, threshold))
        })
        .collect())
}

/// Why k-fold accuracy was not measured ([`k_fold_accuracy`]).
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum FoldGap {
    #[error(
        "every pair is in fold {0}, and a fold's threshold is chosen on the other folds' pairs"
    )]
    OneFold(u32),
    #[error("fold {fold} has no {missing} pairs; each fold needs both to choose and to test on")]
    OneSided { fold: u32, missing: &'static str },
}

/// Mean and (population) standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(score: f32, same: bool) -> ScoredPair {
        ScoredPair { score, same }
    }

    #[test]
    fn auc_of_perfect_random_and_inverted_rankings() {
        assert_eq!(roc_auc(&[p(0.9, true), p(0.8, true), p(0.1, false)]), 1.0);
        assert_eq!(roc_auc(&[p(0.5, true), p(0.5, false)]), 0.5);
        assert_eq!(roc_auc(&[p(0.1, true), p(0.9, false)]), 0.0);
    }

    #[test]
    fn best_threshold_separates_when_possible() {
        let pairs = [p(0.9, true), p(0.7, true), p(0.3, false), p(0.2, false)];
        let (t, acc) = best_threshold(&pairs);
        assert_eq!(acc, 1.0);
        assert!(t > 0.3 && t < 0.7);
    }

    #[test]
    fn eer_tar_and_folds() {
        // Genuine 0.9, 0.8, 0.4; impostor 0.5, 0.2, 0.1: one error each way at most.
        let pairs = [
            p(0.9, true),
            p(0.8, true),
            p(0.4, true),
            p(0.5, false),
            p(0.2, false),
            p(0.1, false),
        ];
        assert!((eer(&pairs) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(tar_at_far(&pairs, 0.34), Some(1.0));
        assert_eq!(tar_at_far(&pairs, 0.0), None);
        assert_eq!(
            tar_at_far(&pairs, 0.01),
            None,
            "3 impostors cannot measure 1 %"
        );
        let folds = [0, 0, 1, 0, 1, 1];
        let per_fold = k_fold_accuracy(&pairs, &folds).unwrap();
        assert_eq!(per_fold.len(), 2);
        assert_eq!(
            k_fold_accuracy(&pairs, &[3; 6]),
            Err(FoldGap::OneFold(3)),
            "no other fold to choose on"
        );
        assert_eq!(
            k_fold_accuracy(&pairs, &[0, 0, 1, 0, 0, 0]),
            Err(FoldGap::OneSided {
                fold: 1,
                missing: "impostor"
            })
        );
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 1.0));
    }
}
