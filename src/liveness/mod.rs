//! Liveness (presentation attack detection) for unlock: is the face in front of the camera a
//! live person, or a photo (printed or on a screen) held up to it?
//!
//! No trained model for this is available to FaceGate, so it is built from measured signals:
//! - [`pose`]: yaw and roll from the five landmarks;
//! - [`challenge`]: the active check ("turn your head to your LEFT"), asked by an attempt
//!   (`auth::attempt`) whenever a prompt can be shown;
//! - [`passive`]: a score over ~2 s of one face (non-rigid landmark motion, aligned frame change,
//!   texture), used by `facegate verify --liveness` and shown in the GUI;
//! - [`attack`]: simulated photo attacks, for `facegate eval liveness` and the tests.
//!
//! An RGB webcam cannot tell a good enough 3-D mask or a video replay of the person from the
//! person; this raises the bar from "hold up a photo" to "have a video of them doing what is
//! asked", no further.

pub mod attack;
pub mod challenge;
pub mod passive;
pub mod pose;

pub use challenge::{Challenge, ChallengeConfig, ChallengeState, Direction};
pub use passive::{LivenessScore, PassiveConfig, PassiveWindow};
pub use pose::{Pose, pose};
