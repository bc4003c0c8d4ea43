//! A person's trained head on disk: `users/<name>/head-<model>.json`, written atomically through
//! the store. One file per embedder, since a head only makes sense on the embeddings it was
//! trained on.

use crate::hint::FACEGATE;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::adopt::Adoption;
use super::head::Head;
use super::metrics::Metrics;
use super::{PairCounts, TrainConfig, TrainError, TrainReport};

/// The feature layer the saved weights apply to: 2 = e_a ⊙ e_b (the product layer). Heads saved
/// before it (no `layer` in the file: 1 = |e_a − e_b|) mean something else entirely and are
/// refused, so verification falls back to cosine until the person trains again.
pub const HEAD_LAYER: u32 = 2;

fn legacy_layer() -> u32 {
    1
}
use crate::store::{Store, StoreError};
use crate::vision::EmbedderKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedHead {
    pub model: EmbedderKind,
    pub dim: usize,
    pub weights: Head,
    #[serde(default = "legacy_layer")]
    pub layer: u32,
    /// The head scores this person's comparisons only when it beat cosine on the held-out test
    /// pairs by more than chance ([`Adoption`]).
    pub in_use: bool,
    /// The comparison that decided `in_use` (absent in files from before it existed).
    #[serde(default)]
    pub adoption: Option<Adoption>,
    /// Held-out (test) figures of the trained head, the cosine baseline and the untrained head.
    pub head: Metrics,
    pub baseline: Metrics,
    pub initial: Metrics,
    pub pairs: PairCounts,
    pub config: TrainConfig,
    pub best_epoch: usize,
    pub trained_unix: u64,
}

impl SavedHead {
    pub fn new(report: &TrainReport, weights: Head) -> SavedHead {
        SavedHead {
            model: report.model,
            dim: weights.dim(),
            weights,
            layer: HEAD_LAYER,
            in_use: report.in_use,
            adoption: Some(report.adoption),
            head: report.head,
            baseline: report.baseline,
            initial: report.initial,
            pairs: report.pairs,
            config: report.config.clone(),
            best_epoch: report.best_epoch,
            trained_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// Sealed at rest like the embeddings: a head's weights are derived from the person's face.
pub fn head_file(model: EmbedderKind) -> String {
    format!("head-{}.sealed", model.model_id())
}

pub fn save_head(store: &Store, person: &str, saved: &SavedHead) -> Result<(), TrainError> {
    save_head_if(store, person, saved, |_| Ok(true)).map(drop)
}

/// [`save_head`] if `still` holds under the store lock (see [`Store::write_sealed_if`]);
/// returns whether the head was saved.
pub fn save_head_if(
    store: &Store,
    person: &str,
    saved: &SavedHead,
    still: impl FnOnce(&Store) -> Result<bool, StoreError>,
) -> Result<bool, TrainError> {
    let json = serde_json::to_vec(saved).expect("a head serialises");
    Ok(store.write_sealed_if(person, &head_file(saved.model), &json, still)?)
}

/// The person's head for `model`, None when they have not trained one. A damaged file is an
/// error naming it: the caller decides whether to warn and fall back to cosine.
pub fn load_head(
    store: &Store,
    person: &str,
    model: EmbedderKind,
) -> Result<Option<SavedHead>, TrainError> {
    let path = store
        .root()
        .join(store.require_person(person)?)
        .join(head_file(model));
    let corrupt = |reason: String| TrainError::CorruptHead {
        path: path.clone(),
        reason,
    };
    let bytes = match store.read_sealed(person, &head_file(model)) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(None),
        Err(StoreError::Corrupt { reason, .. }) => return Err(corrupt(reason)),
        Err(e) => return Err(e.into()),
    };
    let saved: SavedHead = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if saved.layer != HEAD_LAYER {
        return Err(corrupt(format!(
            "it was trained by an older FaceGate on another feature layer; run `{FACEGATE} train {}` again",
            crate::store::names::shell_arg(person)
        )));
    }
    if saved.model != model {
        return Err(corrupt(format!("it holds a head for {}", saved.model)));
    }
    // Checked here once, so that every use of a loaded head (verify, identify, compare, the
    // window's FAR/FRR) can take it as fitting the model's embeddings.
    if saved.weights.dim() != saved.dim || saved.dim != model.dim() {
        return Err(corrupt(format!(
            "{} weights for {} dimensions, where {model} embeddings have {}",
            saved.weights.dim(),
            saved.dim,
            model.dim()
        )));
    }
    if !saved.weights.b.is_finite() || !saved.weights.w.iter().all(|w| w.is_finite()) {
        return Err(corrupt("its weights are not finite".into()));
    }
    Ok(Some(saved))
}
