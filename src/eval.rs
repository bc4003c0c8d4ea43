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
}
