//! The training loop: shuffled mini-batches, Adam, early stopping on the validation pairs.

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::head::{Adam, Batch, loss, loss_and_gradient};
use super::pairs::PairSet;
use crate::rng::SplitMix64;

/// Sent after every epoch (epoch 0 is the initial head, before any step): enough for a live loss
/// curve or a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    /// The most epochs this run may take (early stopping usually ends it sooner).
    pub max_epochs: usize,
    /// Class-weighted BCE over all training pairs after the epoch.
    pub train_loss: f64,
    pub validation_loss: f64,
    /// The epoch whose weights are kept so far (lowest validation loss).
    pub best_epoch: usize,
}

/// Keeps the snapshot with the lowest loss and says when to stop: after `patience` epochs in a
/// row without a real improvement.
#[derive(Debug, Clone)]
pub struct EarlyStopping<T> {
    patience: usize,
    best: Option<(usize, f64, T)>,
    since_best: usize,
}

/// An improvement smaller than this is noise, not progress (losses are around 0.1–0.7).
const MIN_DELTA: f64 = 1e-6;

impl<T: Clone> EarlyStopping<T> {
    pub fn new(patience: usize) -> EarlyStopping<T> {
        EarlyStopping {
            patience,
            best: None,
            since_best: 0,
        }
    }

    /// Records the loss of `epoch`; false once it is time to stop.
    pub fn observe(&mut self, epoch: usize, loss: f64, snapshot: &T) -> bool {
        let improved = self
            .best
            .as_ref()
            .is_none_or(|(_, best, _)| loss < best - MIN_DELTA);
        if improved {
            self.best = Some((epoch, loss, snapshot.clone()));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        self.since_best < self.patience
    }

    pub fn best_epoch(&self) -> usize {
        self.best.as_ref().map_or(0, |b| b.0)
    }

    /// (epoch, loss, snapshot) of the best epoch seen.
    pub fn into_best(self) -> Option<(usize, f64, T)> {
        self.best
    }
}

pub struct FitConfig {
    pub lr: f64,
    pub epochs: usize,
    pub batch: usize,
    pub patience: usize,
}

pub struct Fitted {
    pub theta: Array1<f64>,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub history: Vec<EpochReport>,
}

pub fn fit(
    init: Array1<f64>,
    train: &PairSet,
    validation: &PairSet,
    config: &FitConfig,
    rng: &mut SplitMix64,
    mut progress: impl FnMut(&EpochReport),
) -> Fitted {
    let mut theta = init;
    let mut adam = Adam::new(theta.len(), config.lr);
    let mut stopping = EarlyStopping::new(config.patience.max(1));
    let mut history = Vec::new();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut epochs_run = 0;
    for epoch in 0..=config.epochs {
        if epoch > 0 {
            rng.shuffle(&mut order);
            for rows in order.chunks(config.batch.max(1)) {
                let (x, y, weight) = train.select(rows);
                let batch = Batch {
                    x: x.view(),
                    y: y.view(),
                    weight: weight.view(),
                };
                let (_, grad) = loss_and_gradient(&theta, &batch);
                adam.step(&mut theta, &grad);
            }
            epochs_run = epoch;
        }
        let validation_loss = loss(&theta, &validation.batch());
        let keep_going = stopping.observe(epoch, validation_loss, &theta);
        let report = EpochReport {
            epoch,
            max_epochs: config.epochs,
            train_loss: loss(&theta, &train.batch()),
            validation_loss,
            best_epoch: stopping.best_epoch(),
        };
        progress(&report);
        history.push(report);
        if !keep_going {
            break;
        }
    }
    let (best_epoch, _, theta) = stopping.into_best().expect("epoch 0 is always observed");
    Fitted {
        theta,
        best_epoch,
        epochs_run,
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_stopping_keeps_the_best_and_stops_after_patience() {
        let losses = [1.0, 0.8, 0.6, 0.65, 0.7, 0.61, 0.9, 0.5];
        let mut es = EarlyStopping::new(3);
        let mut stopped_at = None;
        for (epoch, &l) in losses.iter().enumerate() {
            if !es.observe(epoch, l, &format!("weights of epoch {epoch}")) {
                stopped_at = Some(epoch);
                break;
            }
        }
        assert_eq!(stopped_at, Some(5), "three epochs without beating 0.6");
        let (epoch, loss, snapshot) = es.into_best().unwrap();
        assert_eq!((epoch, loss), (2, 0.6));
        assert_eq!(snapshot, "weights of epoch 2");
    }

    #[test]
    fn an_improvement_resets_patience() {
        let mut es = EarlyStopping::new(2);
        assert!(es.observe(0, 1.0, &0));
        assert!(es.observe(1, 1.1, &1));
        assert!(es.observe(2, 0.9, &2));
        assert!(es.observe(3, 0.95, &3));
        assert!(!es.observe(4, 0.95, &4));
        assert_eq!(es.best_epoch(), 2);
    }
}
