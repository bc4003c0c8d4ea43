//! Training pairs from a person's images and the negatives, split by image.
//!
//! Every image gets one role: train, validation (early stopping) or test (the reported figures
//! and the decision to use the head). A pair takes the most held-out role of its two images, so
//! a validation or test image never appears in a training pair, and a test image never steers
//! early stopping. Held-out pairs may pair a held-out image with a training one: that is how the
//! head is used, a new face against images it was built from.

use ndarray::{Array1, Array2, Axis};

use super::head::{Batch, features};
use crate::rng::SplitMix64;
use crate::vision::Embedding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Train,
    Validation,
    Test,
}

/// Shares of each image group held out for validation and test (at least one image each, and
/// at least one left for training).
#[derive(Debug, Clone, Copy)]
pub struct Fractions {
    pub validation: f64,
    pub test: f64,
}

/// Roles for `n ≥ 3` images, in a seeded random order.
pub fn assign_roles(n: usize, fractions: Fractions, rng: &mut SplitMix64) -> Vec<Role> {
    assert!(n >= 3, "the caller checks there are 3 images per group");
    let n_test = ((n as f64 * fractions.test).round() as usize).clamp(1, n - 2);
    let n_val = ((n as f64 * fractions.validation).round() as usize).clamp(1, n - 1 - n_test);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut roles = vec![Role::Train; n];
    for (rank, &i) in order.iter().enumerate() {
        if rank < n_test {
            roles[i] = Role::Test;
        } else if rank < n_test + n_val {
            roles[i] = Role::Validation;
        }
    }
    roles
}

/// Labelled pairs of one role, ready for the head.
#[derive(Debug, Clone)]
pub struct PairSet {
    /// One row e_a ⊙ e_b per pair (the product layer).
    pub x: Array2<f64>,
    /// 1 same person, 0 different.
    pub y: Array1<f64>,
    pub weight: Array1<f64>,
    /// Cosine similarity of each pair: the baseline's score.
    pub cosine: Vec<f32>,
    pub same: usize,
    pub different: usize,
}

impl PairSet {
    fn new(pairs: &[(&Embedding, &Embedding, bool)]) -> PairSet {
        let x = features(pairs.iter().map(|(a, b, _)| (*a, *b)));
        let y: Array1<f64> = pairs.iter().map(|p| f64::from(u8::from(p.2))).collect();
        let same = pairs.iter().filter(|p| p.2).count();
        let different = pairs.len() - same;
        // Class-balanced weights: each class carries half the loss whatever the counts. There are
        // typically tens of times more negative pairs (every anchor × every negative) than
        // positive ones; unweighted, the loss is mostly easy negatives and the cheapest way to
        // lower it is to push every probability down, i.e. to reject the person more often.
        // Weighting rather than resampling keeps every pair and is deterministic. Validation
        // loss is weighted the same way so early stopping watches the same balanced objective.
        let n = pairs.len() as f64;
        let (w_same, w_diff) = (
            n / (2.0 * same.max(1) as f64),
            n / (2.0 * different.max(1) as f64),
        );
        let weight = y.mapv(|y| if y > 0.5 { w_same } else { w_diff });
        PairSet {
            x,
            y,
            weight,
            cosine: pairs.iter().map(|(a, b, _)| a.cosine(b)).collect(),
            same,
            different,
        }
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn batch(&self) -> Batch<'_> {
        Batch {
            x: self.x.view(),
            y: self.y.view(),
            weight: self.weight.view(),
        }
    }

    /// The rows `rows` as owned arrays (a mini-batch).
    pub fn select(&self, rows: &[usize]) -> (Array2<f64>, Array1<f64>, Array1<f64>) {
        (
            self.x.select(Axis(0), rows),
            self.y.select(Axis(0), rows),
            self.weight.select(Axis(0), rows),
        )
    }

    /// Labels as booleans, for the metrics.
    pub fn labels(&self) -> Vec<bool> {
        self.y.iter().map(|&y| y > 0.5).collect()
    }
}

/// The three pair sets: anchor × positive = same, anchor × negative = different.
pub struct Pairs {
    pub train: PairSet,
    pub validation: PairSet,
    pub test: PairSet,
}

pub struct Group<'a> {
    pub embeddings: &'a [Embedding],
    pub roles: &'a [Role],
}

pub fn build(anchors: Group, positives: Group, negatives: Group) -> Pairs {
    let mut by_role: [Vec<(&Embedding, &Embedding, bool)>; 3] = Default::default();
    let slot = |r: Role| r as usize;
    for (a, &ra) in anchors.embeddings.iter().zip(anchors.roles) {
        for (p, &rp) in positives.embeddings.iter().zip(positives.roles) {
            by_role[slot(ra.max(rp))].push((a, p, true));
        }
        for (n, &rn) in negatives.embeddings.iter().zip(negatives.roles) {
            by_role[slot(ra.max(rn))].push((a, n, false));
        }
    }
    Pairs {
        train: PairSet::new(&by_role[slot(Role::Train)]),
        validation: PairSet::new(&by_role[slot(Role::Validation)]),
        test: PairSet::new(&by_role[slot(Role::Test)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_hold_out_at_least_one_and_keep_one_for_training() {
        let f = Fractions {
            validation: 0.2,
            test: 0.3,
        };
        for n in 3..40 {
            let roles = assign_roles(n, f, &mut SplitMix64::new(n as u64));
            let count = |r| roles.iter().filter(|&&x| x == r).count();
            assert!(count(Role::Test) >= 1 && count(Role::Validation) >= 1);
            assert!(count(Role::Train) >= 1, "n = {n}");
        }
        let a = assign_roles(10, f, &mut SplitMix64::new(3));
        assert_eq!(a, assign_roles(10, f, &mut SplitMix64::new(3)));
    }

    #[test]
    fn held_out_images_never_reach_training_pairs() {
        let e = |i: usize| Embedding::normalised(vec![1.0, i as f32]);
        let anchors: Vec<Embedding> = (0..3).map(e).collect();
        let positives: Vec<Embedding> = (10..13).map(e).collect();
        let negatives: Vec<Embedding> = (20..24).map(e).collect();
        use Role::*;
        let pairs = build(
            Group {
                embeddings: &anchors,
                roles: &[Train, Validation, Test],
            },
            Group {
                embeddings: &positives,
                roles: &[Test, Train, Validation],
            },
            Group {
                embeddings: &negatives,
                roles: &[Train, Train, Validation, Test],
            },
        );
        // Train: anchor 0 × positive 1, anchor 0 × negatives 0, 1.
        assert_eq!((pairs.train.same, pairs.train.different), (1, 2));
        // Validation: (a0,p2) (a1,p1) (a1,p2); (a0,n2) (a1,n0) (a1,n1) (a1,n2).
        assert_eq!((pairs.validation.same, pairs.validation.different), (3, 4));
        assert_eq!((pairs.test.same, pairs.test.different), (5, 6));
        // Balanced weights: each class sums to half the pairs.
        let v = &pairs.validation;
        let same_weight: f64 = v
            .weight
            .iter()
            .zip(&v.y)
            .filter(|(_, y)| **y > 0.5)
            .map(|(w, _)| w)
            .sum();
        assert!((same_weight - v.len() as f64 / 2.0).abs() < 1e-12);
    }
}
