//! The siamese head: features e_a ⊙ e_b (the element-wise product layer) → one dense unit →
//! sigmoid, its loss (class-weighted binary cross-entropy), and the Adam optimiser.
//!
//! Why the product and not the more usual |e_a − e_b|: the embeddings are unit vectors, so the
//! product's components sum to the cosine itself. A dense unit with every weight c and bias
//! −c·thr therefore computes c·(cos − thr), and the untrained head *is* cosine at the detection
//! threshold (see [`init_like_cosine`]), not an approximation of it. Training then learns a
//! weight per dimension (a weighted cosine) starting from exactly the rule it has to beat.
//! With |e_a − e_b| the sum is the L1 distance, which only tracks cos through a fitted ratio,
//! and the "initial" head decided differently from cosine on real pairs (issue 17).
//!
//! Parameters travel as one flat vector θ = [w₁ … w_d, b] so the optimiser, the gradient check
//! and early stopping's snapshots all handle a single array.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, s};
use serde::{Deserialize, Serialize};

use crate::vision::Embedding;

/// Trained weights of one person's head for one embedder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub w: Vec<f64>,
    pub b: f64,
}

impl Head {
    pub fn dim(&self) -> usize {
        self.w.len()
    }

    /// From the flat parameter vector θ = [w₁ … w_d, b].
    pub fn from_params(theta: &Array1<f64>) -> Head {
        let d = theta.len() - 1;
        Head {
            w: theta.slice(s![..d]).to_vec(),
            b: theta[d],
        }
    }

    /// The flat parameter vector θ = [w₁ … w_d, b].
    pub fn params(&self) -> Array1<f64> {
        self.w.iter().copied().chain([self.b]).collect()
    }

    /// Probability (0..1) that the two faces are the same person; 0 for embeddings of another
    /// size than the head's (see [`Head::logit`]).
    pub fn probability(&self, a: &Embedding, b: &Embedding) -> f32 {
        sigmoid(self.logit(a, b)) as f32
    }

    /// The head's logit: b + Σ wᵢ·aᵢ·bᵢ (above 0 means "same person"). Vectors of another size
    /// than the head's never match, as [`Embedding::cosine`]'s: zipped to the shorter they give
    /// a number that means nothing. (`load_head` refuses a head of the wrong size for its model,
    /// so this is the last guard, not the check.)
    pub fn logit(&self, a: &Embedding, b: &Embedding) -> f64 {
        if a.0.len() != self.dim() || b.0.len() != self.dim() {
            return f64::NEG_INFINITY;
        }
        self.b
            + self
                .w
                .iter()
                .zip(a.0.iter().zip(&b.0))
                .map(|(w, (x, y))| w * f64::from(x * y))
                .sum::<f64>()
    }
}

/// The product layer for a batch of pairs: one row a ⊙ b per pair (its sum is the cosine).
pub fn features<'a>(
    pairs: impl ExactSizeIterator<Item = (&'a Embedding, &'a Embedding)>,
) -> Array2<f64> {
    let mut pairs = pairs.peekable();
    let d = pairs.peek().map_or(0, |(a, _)| a.0.len());
    let n = pairs.len();
    let mut x = Array2::zeros((n, d));
    for (mut row, (a, b)) in x.rows_mut().into_iter().zip(pairs) {
        row.iter_mut()
            .zip(a.0.iter().zip(&b.0))
            // The product is taken in f32, as `Embedding::cosine` takes it, so the row sums to
            // the cosine up to the order of the additions.
            .for_each(|(r, (p, q))| *r = f64::from(p * q));
    }
    x
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// −log σ(z) for y = 1 and −log(1 − σ(z)) for y = 0, as softplus(z) − y·z: exact for any z,
/// where log(σ(z)) would give −inf once σ(z) rounds to 0.
fn bce_from_logit(z: f64, y: f64) -> f64 {
    z.max(0.0) - y * z + (-z.abs()).exp().ln_1p()
}

/// Labelled pairs as the head sees them: features, labels (1 same, 0 different) and per-pair
/// weights (see `pairs::class_weights`).
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    pub x: ArrayView2<'a, f64>,
    pub y: ArrayView1<'a, f64>,
    pub weight: ArrayView1<'a, f64>,
}

fn logits(theta: &Array1<f64>, x: &ArrayView2<f64>) -> Array1<f64> {
    let d = theta.len() - 1;
    x.dot(&theta.slice(s![..d])) + theta[d]
}

/// Weighted mean binary cross-entropy of the head θ on `batch`.
pub fn loss(theta: &Array1<f64>, batch: &Batch) -> f64 {
    let z = logits(theta, &batch.x);
    let total: f64 = batch.weight.sum();
    if total == 0.0 {
        return 0.0;
    }
    z.iter()
        .zip(batch.y)
        .zip(batch.weight)
        .map(|((&z, &y), &s)| s * bce_from_logit(z, y))
        .sum::<f64>()
        / total
}

/// The loss and its gradient with respect to θ. With p = σ(z), dBCE/dz = p − y, so the
/// gradient is Xᵀ(s ⊙ (p − y)) / Σs for w and Σ s(p − y) / Σs for b.
pub fn loss_and_gradient(theta: &Array1<f64>, batch: &Batch) -> (f64, Array1<f64>) {
    let d = theta.len() - 1;
    let z = logits(theta, &batch.x);
    let total: f64 = batch.weight.sum();
    let mut grad = Array1::zeros(d + 1);
    if total == 0.0 {
        return (0.0, grad);
    }
    let dz: Array1<f64> = z
        .iter()
        .zip(batch.y)
        .zip(batch.weight)
        .map(|((&z, &y), &s)| s * (sigmoid(z) - y) / total)
        .collect();
    grad.slice_mut(s![..d]).assign(&batch.x.t().dot(&dz));
    grad[d] = dz.sum();
    (loss(theta, batch), grad)
}

/// A head that starts out deciding exactly like the cosine rule it has to beat.
///
/// With few images, a head trained from zero (or random) weights spends its few steps learning
/// what cosine already knows, and early stopping may keep a head worse than the baseline.
/// Starting from "cosine" makes every step a refinement and the epoch-0 head a fair fallback.
///
/// The proof: the features of a pair are xᵢ = aᵢ·bᵢ, and for unit vectors Σxᵢ = cos(a, b). With
/// wᵢ = c (all i) and bias −c·thr the logit is c·Σxᵢ − c·thr = c·(cos − thr); for c > 0 and σ
/// increasing with σ(0) = ½, p > ½ ⇔ cos > thr. The only gap is rounding: the head sums in a
/// different order (and in f64) than `Embedding::cosine` (which sums in f32), a difference of a
/// few 1e-7 for 128 or 512 dimensions, so the two can only disagree on a pair whose cosine is
/// within 1e-5 of the threshold (tests/head.rs measures the gap and counts such pairs on random
/// and real pairs).
///
/// The scale c sets confidence, not decisions: c = 2/σ (σ the class-balanced spread of the
/// training pairs' cosines) puts a pair one spread from the threshold at p ≈ 0.88, so the loss is
/// neither saturated (no gradient) nor flat at 0.5.
pub fn init_like_cosine(batch: &Batch, threshold: f32) -> Array1<f64> {
    let d = batch.x.ncols();
    let cosines: Vec<f64> = batch.x.rows().into_iter().map(|r| r.sum()).collect();
    let total: f64 = batch.weight.sum();
    let sigma = if total > 0.0 {
        let mean = cosines
            .iter()
            .zip(batch.weight)
            .map(|(v, s)| v * s)
            .sum::<f64>()
            / total;
        (cosines
            .iter()
            .zip(batch.weight)
            .map(|(v, s)| s * (v - mean).powi(2))
            .sum::<f64>()
            / total)
            .sqrt()
    } else {
        0.0
    };
    let c = if sigma > 1e-9 { 2.0 / sigma } else { 1.0 };
    let mut theta = Array1::from_elem(d + 1, c);
    theta[d] = -c * f64::from(threshold);
    theta
}

/// Adam (Kingma & Ba), with bias-corrected moments.
#[derive(Debug, Clone)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    t: i32,
    m: Array1<f64>,
    v: Array1<f64>,
}

impl Adam {
    pub fn new(len: usize, lr: f64) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m: Array1::zeros(len),
            v: Array1::zeros(len),
        }
    }

    pub fn step(&mut self, theta: &mut Array1<f64>, grad: &Array1<f64>) {
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        self.m
            .zip_mut_with(grad, |m, g| *m = b1 * *m + (1.0 - b1) * g);
        self.v
            .zip_mut_with(grad, |v, g| *v = b2 * *v + (1.0 - b2) * g * g);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for ((p, m), v) in theta.iter_mut().zip(&self.m).zip(&self.v) {
            *p -= self.lr * (m / c1) / ((v / c2).sqrt() + self.eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn tiny() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
        let x = array![
            [0.1, 0.5, 0.2],
            [0.7, 0.1, 0.9],
            [0.3, 0.3, 0.0],
            [1.2, 0.4, 0.6]
        ];
        let y = array![1.0, 0.0, 1.0, 0.0];
        let s = array![1.5, 0.5, 1.5, 0.5];
        (x, y, s)
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, y, s) = tiny();
        let batch = Batch {
            x: x.view(),
            y: y.view(),
            weight: s.view(),
        };
        let theta = array![-0.8, 0.3, -1.1, 0.4];
        let (_, grad) = loss_and_gradient(&theta, &batch);
        let h = 1e-6;
        for i in 0..theta.len() {
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (loss(&up, &batch) - loss(&down, &batch)) / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-7,
                "θ{i}: analytic {} numeric {numeric}",
                grad[i]
            );
        }
    }

    #[test]
    fn vectors_of_another_size_never_match() {
        let head = Head {
            w: vec![1.0; 4],
            b: 5.0,
        };
        let four = Embedding(vec![0.5; 4]);
        let three = Embedding(vec![0.5; 3]);
        assert!(head.probability(&four, &four) > 0.99);
        assert_eq!(head.probability(&four, &three), 0.0);
        assert_eq!(head.probability(&three, &three), 0.0);
    }

    #[test]
    fn bce_is_stable_and_correct() {
        assert!((bce_from_logit(0.0, 1.0) - 2f64.ln()).abs() < 1e-12);
        assert!((bce_from_logit(2.0, 1.0) + sigmoid(2.0).ln()).abs() < 1e-12);
        assert!((bce_from_logit(2.0, 0.0) + (1.0 - sigmoid(2.0)).ln()).abs() < 1e-12);
        assert!(
            (bce_from_logit(-800.0, 1.0) - 800.0).abs() < 1e-9,
            "no inf far out"
        );
        assert!(bce_from_logit(800.0, 1.0).abs() < 1e-12);
    }

    #[test]
    fn adam_first_step_moves_each_parameter_by_lr_against_its_gradient() {
        // After one step the bias-corrected m̂/√v̂ is g/|g|, so each parameter moves by lr.
        let mut theta = array![1.0, -2.0, 0.5];
        let grad = array![0.3, -4.0, 0.0];
        let mut adam = Adam::new(3, 1e-3);
        adam.step(&mut theta, &grad);
        assert!((theta[0] - (1.0 - 1e-3)).abs() < 1e-9);
        assert!((theta[1] - (-2.0 + 1e-3)).abs() < 1e-9);
        assert_eq!(theta[2], 0.5);
        // Second step, by hand (from where the first left off).
        let after_first = theta[0];
        let grad2 = array![0.1, -4.0, 1.0];
        adam.step(&mut theta, &grad2);
        let m = 0.9 * (0.1 * 0.3) + 0.1 * 0.1;
        let v = 0.999 * (0.001 * 0.09) + 0.001 * 0.01;
        let expect =
            after_first - 1e-3 * (m / (1.0 - 0.81)) / ((v / (1.0 - 0.998001f64)).sqrt() + 1e-8);
        assert!(
            (theta[0] - expect).abs() < 1e-15,
            "{} vs {expect}",
            theta[0]
        );
    }

    #[test]
    fn adam_minimises_the_loss_on_a_separable_set() {
        let (x, y, s) = tiny();
        let batch = Batch {
            x: x.view(),
            y: y.view(),
            weight: s.view(),
        };
        let mut theta = Array1::zeros(4);
        let start = loss(&theta, &batch);
        let mut adam = Adam::new(4, 0.05);
        for _ in 0..500 {
            let (_, g) = loss_and_gradient(&theta, &batch);
            adam.step(&mut theta, &g);
        }
        assert!(loss(&theta, &batch) < start * 0.2);
    }

    #[test]
    fn the_initial_head_is_cosine_at_the_threshold() {
        // Unit vectors at known cosines to a reference, some within 0.002 of the threshold.
        let reference = Embedding::normalised(vec![1.0, 0.0, 0.0, 0.0]);
        let probes: Vec<Embedding> = [0.95f32, 0.8, 0.6, 0.365, 0.361, 0.15, 0.0, -0.3]
            .iter()
            .map(|&c| Embedding::normalised(vec![c, (1.0 - c * c).sqrt(), 0.0, 0.0]))
            .collect();
        let x = features(probes.iter().map(|p| (&reference, p)));
        let y = Array1::from_iter(
            probes
                .iter()
                .map(|p| f64::from(u8::from(reference.cosine(p) > 0.5))),
        );
        let s = Array1::from_elem(probes.len(), 1.0);
        let batch = Batch {
            x: x.view(),
            y: y.view(),
            weight: s.view(),
        };
        let theta = init_like_cosine(&batch, 0.363);
        let head = Head::from_params(&theta);
        let c = theta[0];
        for p in &probes {
            let cos = reference.cosine(p);
            assert_eq!(
                head.probability(&reference, p) > 0.5,
                cos > 0.363,
                "cos {cos}"
            );
            // The logit is c·(cos − thr), not merely on the same side.
            let expect = c * (f64::from(cos) - f64::from(0.363f32));
            assert!(
                (head.logit(&reference, p) - expect).abs() < 1e-6 * c,
                "cos {cos}"
            );
        }
        assert_eq!(Head::from_params(&head.params()), head);
    }
}
