//! FaceGate: real-time face verification at a desk.
//!
//! The pipeline reads top to bottom: a frame from [`camera`] (or a photo through [`imageio`]) →
//! [`vision`] (detect → align → embed, bundled in [`pipeline`]) → [`auth`] (the two thresholds,
//! and the one live [`auth::attempt::Attempt`] every decision goes through), with [`liveness`]
//! telling a live face from a photo. Around it:
//! - [`engine`]: the [`store`] (files), the pipeline and the settings kept consistent; scoring,
//!   attempts with their lock-out and audit line, calibration, training data;
//! - [`train`]: a person's siamese head on top of the embeddings;
//! - [`runtime`]: locating, checking (sha256) and loading the ONNX models;
//! - [`session`]: the desktop app's capture thread and inference worker, and [`gui`] the window;
//! - [`cli`]: the command line; [`eval`]: shared metrics (ROC AUC, EER);
//! - [`rng`]: the one seeded generator; [`error`]: typed errors; [`shown`]: outside text made
//!   safe to print; [`hint`]: the `facegate` of a suggested command.

pub mod auth;
pub mod bounded;
pub mod bounds;
pub mod camera;
pub mod cli;
pub mod engine;
pub mod error;
pub mod eval;
pub mod gui;
pub mod hint;
pub mod imageio;
pub mod liveness;
pub mod pipeline;
pub mod rng;
pub mod runtime;
pub mod session;
pub mod shown;
pub mod store;
pub mod train;
pub mod unlock;
pub mod vision;

pub use error::{Error, Result};
pub use pipeline::{FacePipeline, PipelineOptions};
