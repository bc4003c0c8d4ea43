//! Training a person's siamese head on top of the pretrained embedder.
//!
//! Pairs: anchor × positive = same (1), anchor × negative = different (0). Each pair becomes
//! e_a ⊙ e_b (the product layer, whose sum is the cosine), one dense unit and a sigmoid give the
//! probability that it is the same person (the untrained head is exactly cosine at the detection
//! threshold: [`head::init_like_cosine`]); class-weighted binary cross-entropy, Adam, mini-batches, and early
//! stopping on validation pairs. The images are split three ways by image (see [`pairs`]): the
//! figures that decide whether the head is used come from test pairs that neither the steps nor
//! early stopping ever saw, beside the cosine baseline on the very same pairs.
//!
//! Training sits below the engine (which scores with the heads it saves): it trains on vectors
//! and never reaches up. The engine
//! gathers them (`Engine::training_data`) and runs it all in one call:
//! ```no_run
//! # fn f(engine: &mut facegate::engine::Engine) -> Result<(), facegate::train::TrainError> {
//! use facegate::train::TrainConfig;
//! let report = engine.train_person("Ada", &TrainConfig::default(), |epoch| {
//!     println!("{} {:.4} {:.4}", epoch.epoch, epoch.train_loss, epoch.validation_loss);
//! })?;
//! println!("head F1 {:.3} vs cosine {:.3}; in use: {}", report.head.f1, report.baseline.f1, report.in_use);
//! # Ok(()) }
//! ```
//! [`prepare`] + [`Trainer::run`] + [`save_head`] are the same in steps (pair counts known
//! before training starts).

pub mod adopt;
pub mod fit;
pub mod head;
pub mod metrics;
pub mod pairs;
pub mod saved;

use crate::hint::FACEGATE;
use serde::{Deserialize, Serialize};

pub use adopt::Adoption;
pub use fit::EpochReport;
pub use head::Head;
pub use metrics::Metrics;
pub use saved::{HEAD_LAYER, SavedHead, head_file, load_head, save_head, save_head_if};

use crate::rng::SplitMix64;
use crate::store::StoreError;
use crate::vision::{EmbedderKind, Embedding};
use pairs::{Fractions, Group, Pairs, assign_roles};

/// A head's probability above this is a match (the detection threshold while a head is in use).
pub const HEAD_THRESHOLD: f32 = 0.5;

/// Fewest images per group (anchors, positives, negatives): one each for training, validation
/// and test.
pub const MIN_IMAGES: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Adam's step size.
    pub lr: f64,
    /// Most passes over the training pairs.
    pub epochs: usize,
    /// Pairs per Adam step.
    pub batch: usize,
    /// Stop after this many epochs without a lower validation loss (and keep the best weights).
    pub patience: usize,
    /// Seeds the split and the batch order: same images + same seed = same head.
    pub seed: u64,
    /// Share of each image group held out for early stopping.
    pub validation_fraction: f64,
    /// Share of each image group held out for the reported figures.
    pub test_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            lr: 1e-4,
            // Training is a few hundred small matrix products; the limit is there for the
            // learning rate's sake (1e-4 moves a weight at most 1e-4 per step), not for time.
            epochs: 300,
            batch: 32,
            patience: 30,
            seed: 0,
            validation_fraction: 0.2,
            test_fraction: 0.3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{}", not_enough_message(.person, [*.anchors, *.positives, *.negatives], Remedy::Commands))]
    NotEnoughImages {
        person: String,
        anchors: usize,
        positives: usize,
        negatives: usize,
    },
    #[error(
        "{0}'s anchor or positive images changed while the head trained (removed, renamed or \
         re-enrolled): it is not saved; train again"
    )]
    ImagesChanged(String),
    #[error("embeddings of different sizes ({0} and {1}) cannot be paired")]
    DimensionMismatch(usize, usize),
    #[error("{} is corrupt: {reason}", path.display())]
    CorruptHead {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] crate::Error),
}

/// Where a shortfall's remedy points: the commands that add images, or the window's controls
/// (the window gave `facegate capture …` commands to a person clicking Train; journey review,
/// session 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remedy {
    Commands,
    Window,
}

impl TrainError {
    /// The error as the window says it: a shortfall's remedy in its buttons and views.
    pub fn for_desk(&self) -> String {
        match self {
            TrainError::NotEnoughImages {
                person,
                anchors,
                positives,
                negatives,
            } => not_enough_message(person, [*anchors, *positives, *negatives], Remedy::Window),
            e => crate::shown::Reason(e).to_string(),
        }
    }
}

fn not_enough_message(
    person: &str,
    [anchors, positives, negatives]: [usize; 3],
    remedy: Remedy,
) -> String {
    let mut todo = Vec::new();
    for (kind, have) in [("anchor", anchors), ("positive", positives)] {
        if have < MIN_IMAGES {
            // "3 more anchor images" (it said "3 anchor images more").
            let more = crate::shown::counted(
                MIN_IMAGES - have,
                &format!("more {kind} image"),
                &format!("more {kind} images"),
            );
            todo.push(match remedy {
                Remedy::Commands => format!(
                    "capture {more}: `{FACEGATE} capture {} --kind {kind} PHOTOS...`",
                    crate::store::names::shell_arg(person)
                ),
                Remedy::Window => {
                    format!("capture {more} (Capture {kind}, or drop photos on its section)")
                }
            });
        }
    }
    if negatives < MIN_IMAGES {
        let more = MIN_IMAGES - negatives;
        todo.push(match remedy {
            Remedy::Commands => format!(
                "import at least {more} more negatives (other people's faces, e.g. LFW): \
                 `{FACEGATE} negatives add IMG_OR_DIR...`"
            ),
            Remedy::Window => format!(
                "import at least {more} more negatives (other people's faces) under Negatives \
                 in People & settings"
            ),
        });
    }
    format!(
        "not enough images to train {person}'s head (has {anchors} anchor, {positives} positive, \
         {negatives} negatives; needs {MIN_IMAGES} of each): {}",
        todo.join("; ")
    )
}

/// Everything training needs: the person's anchor and positive embeddings and the negatives.
#[derive(Debug, Clone)]
pub struct TrainData {
    pub person: String,
    pub model: EmbedderKind,
    pub anchors: Vec<Embedding>,
    pub positives: Vec<Embedding>,
    pub negatives: Vec<Embedding>,
}

/// Images per group and pairs per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairCounts {
    pub anchors: usize,
    pub positives: usize,
    pub negatives: usize,
    pub train_same: usize,
    pub train_different: usize,
    pub validation_same: usize,
    pub validation_different: usize,
    pub test_same: usize,
    pub test_different: usize,
}

/// Pairs built and split, ready to [`run`](Trainer::run).
pub struct Trainer {
    person: String,
    model: EmbedderKind,
    dim: usize,
    threshold: f32,
    config: TrainConfig,
    pairs: Pairs,
    counts: PairCounts,
    rng: SplitMix64,
}

/// Checks the data, splits the images by image and builds the pairs. `threshold` is the cosine
/// threshold the baseline is judged at (the engine's detection threshold) and the head starts
/// from.
pub fn prepare(
    data: &TrainData,
    threshold: f32,
    config: &TrainConfig,
) -> Result<Trainer, TrainError> {
    let (anchors, positives, negatives) = (
        data.anchors.len(),
        data.positives.len(),
        data.negatives.len(),
    );
    if anchors.min(positives).min(negatives) < MIN_IMAGES {
        return Err(TrainError::NotEnoughImages {
            person: data.person.clone(),
            anchors,
            positives,
            negatives,
        });
    }
    let dim = data.anchors[0].0.len();
    for e in data
        .anchors
        .iter()
        .chain(&data.positives)
        .chain(&data.negatives)
    {
        if e.0.len() != dim {
            return Err(TrainError::DimensionMismatch(dim, e.0.len()));
        }
    }
    let fractions = Fractions {
        validation: config.validation_fraction,
        test: config.test_fraction,
    };
    let mut rng = SplitMix64::new(config.seed);
    let roles = [anchors, positives, negatives].map(|n| assign_roles(n, fractions, &mut rng));
    let pairs = pairs::build(
        Group {
            embeddings: &data.anchors,
            roles: &roles[0],
        },
        Group {
            embeddings: &data.positives,
            roles: &roles[1],
        },
        Group {
            embeddings: &data.negatives,
            roles: &roles[2],
        },
    );
    let counts = PairCounts {
        anchors,
        positives,
        negatives,
        train_same: pairs.train.same,
        train_different: pairs.train.different,
        validation_same: pairs.validation.same,
        validation_different: pairs.validation.different,
        test_same: pairs.test.same,
        test_different: pairs.test.different,
    };
    Ok(Trainer {
        person: data.person.clone(),
        model: data.model,
        dim,
        threshold,
        config: config.clone(),
        pairs,
        counts,
        rng,
    })
}

/// What training measured. `head`, `baseline` and `initial` are on the same held-out test
/// pairs; `in_use` says whether verification will score with the head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub person: String,
    pub model: EmbedderKind,
    pub dim: usize,
    pub config: TrainConfig,
    pub pairs: PairCounts,
    /// The trained head at probability > 0.5.
    pub head: Metrics,
    /// Cosine similarity at the engine's detection threshold (AUC on raw cosine).
    pub baseline: Metrics,
    /// The head before any step (exactly cosine at the threshold), at probability > 0.5.
    pub initial: Metrics,
    /// The paired comparison of head and cosine on the test pairs ([`adopt`]).
    pub adoption: Adoption,
    /// True when the head beat cosine on the test pairs by more than chance and lets in no more
    /// strangers ([`Adoption::in_use`]); a tie or a narrow win keeps cosine.
    pub in_use: bool,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub history: Vec<EpochReport>,
}

/// A trained head and its report.
pub struct Trained {
    pub head: Head,
    pub report: TrainReport,
}

impl Trainer {
    pub fn counts(&self) -> PairCounts {
        self.counts
    }

    /// Trains, calling `progress` after each epoch (epoch 0 = the initial head), and measures
    /// head and baseline on the test pairs.
    pub fn run(mut self, progress: impl FnMut(&EpochReport)) -> Trained {
        let init = head::init_like_cosine(&self.pairs.train.batch(), self.threshold);
        let fitted = fit::fit(
            init.clone(),
            &self.pairs.train,
            &self.pairs.validation,
            &fit::FitConfig {
                lr: self.config.lr,
                epochs: self.config.epochs,
                batch: self.config.batch,
                patience: self.config.patience,
            },
            &mut self.rng,
            progress,
        );
        let test = &self.pairs.test;
        let labels = test.labels();
        let probabilities = |theta: &ndarray::Array1<f64>| -> Vec<f32> {
            let d = theta.len() - 1;
            test.x
                .dot(&theta.slice(ndarray::s![..d]))
                .mapv(|z| head::sigmoid(z + theta[d]) as f32)
                .to_vec()
        };
        let head_scores = probabilities(&fitted.theta);
        let head_metrics = metrics::metrics(&head_scores, &labels, HEAD_THRESHOLD);
        let initial = metrics::metrics(&probabilities(&init), &labels, HEAD_THRESHOLD);
        let baseline = metrics::metrics(&test.cosine, &labels, self.threshold);
        let adoption = Adoption::decide(
            &head_scores
                .iter()
                .map(|&p| p > HEAD_THRESHOLD)
                .collect::<Vec<_>>(),
            &test
                .cosine
                .iter()
                .map(|&c| c > self.threshold)
                .collect::<Vec<_>>(),
            &labels,
        );
        let report = TrainReport {
            person: self.person,
            model: self.model,
            dim: self.dim,
            config: self.config,
            pairs: self.counts,
            in_use: adoption.in_use,
            adoption,
            head: head_metrics,
            baseline,
            initial,
            best_epoch: fitted.best_epoch,
            epochs_run: fitted.epochs_run,
            history: fitted.history,
        };
        Trained {
            head: Head::from_params(&fitted.theta),
            report,
        }
    }
}
