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

/// Why a recording needs `--turn`, in the CLI's note and the window's alike: it turns one way
/// whatever side is asked, and each attempt asked the other side fails and counts.
pub const RECORDING_CANNOT_FOLLOW: &str = "the side to turn is drawn at random, and a recording \
     cannot follow it: give --turn left or right, the side the recording turns, or the attempt \
     fails when the draw asks the other side";

/// The `q`-quantile (0..1, nearest rank) of the finite `values`, None when there are none: the
/// one quantile every liveness signal takes (the passive score's medians and motion, the
/// challenge's resting yaw, the texture model's low quantile over an attempt's frames).
pub fn quantile(values: &[f32], q: f32) -> Option<f32> {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f32::total_cmp);
    let rank = ((sorted.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    Some(sorted[rank])
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn a_low_quantile_is_decided_by_the_low_values_but_not_by_one() {
        let s = [0.99, 0.2, 0.98, 0.97, 0.96, f32::NAN];
        assert_eq!(quantile(&s, 0.0), Some(0.2));
        assert_eq!(quantile(&s, 0.25), Some(0.96));
        assert_eq!(
            quantile(&s, 0.2),
            Some(0.96),
            "one bad frame does not decide"
        );
        assert_eq!(quantile(&s, 1.0), Some(0.99));
        assert_eq!(quantile(&[], 0.2), None);
        assert_eq!(quantile(&[f32::NAN], 0.5), None);
        // The median of an even count is the upper middle value.
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(3.0));
    }
}
