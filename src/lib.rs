//! FaceGate: real-time face verification at a desk.
//!
//! The pipeline reads top to bottom in the module tree:
//! [`imageio`] (decode a frame or photo) → [`vision`] (detect → align → embed) → verification
//! ([`verify`], against the people in the [`store`]), with [`runtime`] locating, checking and loading the ONNX models.

pub mod auth;
pub mod camera;
pub mod cli;
pub mod engine;
pub mod error;
pub mod eval;
pub mod gui;
pub mod imageio;
pub mod liveness;
pub mod pipeline;
pub mod rng;
pub mod runtime;
pub mod session;
pub mod store;
pub mod train;
pub mod vision;

pub use error::{Error, Result};
pub use pipeline::{FacePipeline, PipelineOptions};
