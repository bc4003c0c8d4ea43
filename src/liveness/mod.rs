//! Liveness (presentation attack detection) for unlock: is the face in front of the camera a
//! live person, or a photo (printed or on a screen) held up to it?
//!
//! Built from measured signals and one trained model:
//! - [`pose`]: yaw and roll from the five landmarks;
//! - [`challenge`]: the active check ("turn your head to your LEFT"), asked by an attempt
//!   (`auth::attempt`) whenever a prompt can be shown;
//! - [`passive`]: a score over ~2 s of one face (non-rigid landmark motion, aligned frame change,
//!   texture), used by `facegate verify --liveness` and shown in the GUI;
//! - [`pad`]: a trained single-frame texture model (MiniFASNet) scoring screens and prints;
//! - [`attack`]: simulated photo attacks, for `facegate eval liveness` and the tests.
//!
//! An RGB webcam cannot tell a good enough 3-D mask or a video replay of the person from the
//! person; this raises the bar from "hold up a photo" to "have a video of them doing what is
//! asked, shown so that the texture model does not see the screen", no further.

pub mod attack;
pub mod challenge;
pub mod pad;
pub mod passive;
pub mod pose;

pub use challenge::{Challenge, ChallengeConfig, ChallengeState, Direction};
pub use pad::{PadModel, PadScore};
pub use passive::{LivenessScore, PassiveConfig, PassiveWindow};
pub use pose::{Pose, pose};
