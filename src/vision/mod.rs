//! The vision stages, in pipeline order: [`detect`] faces and their five landmarks, [`align`]
//! each face onto a canonical crop, [`embed`] the crop into an identity vector. [`runner`] runs
//! the small networks of a face (attributes, presentation attacks) two at a time.

pub mod align;
pub mod attributes;
pub mod detect;
pub mod embed;
mod face;
pub mod preprocess;
pub(crate) mod resize;
pub mod runner;
pub mod tracker;

pub use align::{AlignedFace, align_arcface};
pub use detect::{Detector, DetectorConfig};
pub use embed::{Embedder, EmbedderKind, Embedding};
pub use face::{BBox, Face};
pub use preprocess::Preprocess;
pub use tracker::Tracker;
