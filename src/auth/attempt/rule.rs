//! What an attempt demands ([`AttemptRule`]), and the one place that says how much more an
//! unlock demands than the desk's Verify ([`AttemptRule::for_unlock`]).

use std::time::Duration;

use crate::auth::votes::KofN;
use crate::auth::{DEFAULT_VERIFICATION_THRESHOLD, Thresholds};
use crate::vision::EmbedderKind;

/// K of N frames within a time-out, each frame judged at `thresholds`. Range-checked where it
/// is read (settings, command line, the system config).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttemptRule {
    pub frames: KofN,
    pub timeout: Duration,
    pub thresholds: Thresholds,
    /// With liveness on, the cosine that every frame after the votes must keep to the mean of
    /// the frames that matched (a cosine whatever scores the votes): the model's own
    /// same-person threshold, raised to [`unlock_threshold`] for unlock. Live frames of one
    /// person stay far above it: Katie's and AOC's clips, turns included, keep 0.60 and 0.69
    /// (SFace) and 0.57 and 0.70 (mbf) to their first five frames.
    pub hold: f32,
    /// Whether a person's trained head may score instead of cosine. A head is trained and
    /// adopted against cosine at the desk's threshold; nothing says where its 0.5 falls against
    /// a stricter one, so unlock, whose bound was measured with cosine, never uses it.
    pub trained_head: bool,
}

/// A desk attempt's time-out unless the settings say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest time-out a desk attempt may have: past it, a camera left on is a camera watching.
/// (System unlock has its own, shorter one: `facegate_proto::SYSTEM_MAX_TIMEOUT_S`.)
pub const MAX_TIMEOUT_S: f64 = facegate_proto::DESK_MAX_TIMEOUT_S;

/// Shortest time-out: one second gives a camera the handful of frames K of N needs; a shorter
/// one would refuse the right person after a single frame and still count against them. The
/// system config's floor is the same one.
pub use facegate_proto::MIN_TIMEOUT_S;

/// A time-out from seconds as a person typed them: finite, within [`MIN_TIMEOUT_S`,
/// `MAX_TIMEOUT_S`]; anything else is refused with the range. Generic so that the refusal shows
/// the number as it was written: a setting's `0.1` widened from `f32` read "0.10000000149011612".
pub fn timeout_from_secs<S: Into<f64> + Copy + std::fmt::Display>(
    seconds: S,
) -> Result<Duration, String> {
    facegate_proto::timeout_within(seconds.into(), MAX_TIMEOUT_S).ok_or_else(|| {
        format!("{seconds} s is out of range: give {MIN_TIMEOUT_S} to {MAX_TIMEOUT_S} seconds")
    })
}

/// The lowest detection threshold face *unlock* uses (login, sudo, the app's Unlock view): the
/// lowest at which a one-frame impostor attempt's false-accept rate stays under 0.002 % (its 95 %
/// upper bound; the Android class-1 bound) with at most 5 % false rejections, measured with
/// `facegate eval attempts` on LFW-a (222 people enrolled from 3 photos, 844,756 impostor
/// attempts; docs/unlock-defaults.md): SFace 0.44, w600k_mbf 0.31, both at share 0.6.
pub fn unlock_threshold(model: EmbedderKind) -> f32 {
    match model {
        EmbedderKind::Sface => 0.44,
        EmbedderKind::Mbf => 0.31,
    }
}

/// The fewest matching frames an unlock needs, and (with [`UNLOCK_MIN_SHARE`]) the smallest
/// share of its window: the live false-accept rate in docs/unlock-defaults.md was measured at 3
/// of 5; at 1 of 30, a single lucky frame among the 240 of an 8 s attempt would unlock.
pub const UNLOCK_MIN_K: usize = 3;
/// K / N at least 3 / 5, as a fraction.
const UNLOCK_MIN_SHARE: (usize, usize) = (3, 5);

impl AttemptRule {
    /// This rule as face unlock applies it: never looser than what its false-accept rate was
    /// measured at. The detection threshold at least [`unlock_threshold`], the share at least
    /// the default, at least [`UNLOCK_MIN_K`] frames and 3 in 5 of the window, and cosine only (a
    /// trained head would bypass the measured threshold). A stricter rule is kept as it is.
    pub fn for_unlock(self, model: EmbedderKind) -> AttemptRule {
        AttemptRule {
            frames: self.frames.at_least(UNLOCK_MIN_K, UNLOCK_MIN_SHARE),
            timeout: self.timeout,
            thresholds: Thresholds {
                detection: self.thresholds.detection.max(unlock_threshold(model)),
                verification: self
                    .thresholds
                    .verification
                    .max(DEFAULT_VERIFICATION_THRESHOLD),
            },
            hold: self.hold.max(unlock_threshold(model)),
            trained_head: false,
        }
    }
}

/// A setting [`AttemptRule::for_unlock`] raised: the settings' keys it comes from, and how,
/// as "detection_threshold 0.3 → 0.44".
#[derive(Debug, PartialEq)]
pub struct Raised {
    pub keys: &'static [&'static str],
    pub text: String,
}

impl AttemptRule {
    /// What [`AttemptRule::for_unlock`] raised of this rule (the settings') to make `unlock`: a
    /// value the config's `[verify]` gives that face unlock does not use is said so (the daemon
    /// named 0.44 "the detection threshold" under a config of 0.30; journey s35 #7).
    pub fn raised_to(&self, unlock: &AttemptRule) -> Vec<Raised> {
        let (mine, theirs) = (&self.thresholds, &unlock.thresholds);
        let mut raised = Vec::new();
        let mut said = |keys: &'static [&'static str], below: bool, from: String, to: String| {
            if below {
                let text = format!("{} {from} → {to}", keys.join("/"));
                raised.push(Raised { keys, text });
            }
        };
        said(
            &["detection_threshold"],
            mine.detection < theirs.detection,
            mine.detection.to_string(),
            theirs.detection.to_string(),
        );
        said(
            &["verification_threshold"],
            mine.verification < theirs.verification,
            mine.verification.to_string(),
            theirs.verification.to_string(),
        );
        said(
            &["live_k", "live_n"],
            self.frames != unlock.frames,
            self.frames.to_string(),
            unlock.frames.to_string(),
        );
        raised
    }
}

impl std::fmt::Display for AttemptRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            // Both bars by what they bar: "matching at detection 0.44 … held at cosine 0.44"
            // read as two thresholds, the first as face detection's (journey s34).
            "{} frames matching (a comparison scoring ≥ {}, the detection threshold, on a share \
             ≥ {} of the images) within {} s, the same face held at cosine ≥ {}{}",
            self.frames,
            self.thresholds.detection,
            self.thresholds.verification,
            self.timeout.as_secs_f32(),
            self.hold,
            if self.trained_head {
                "; a trained head may score"
            } else {
                "; scored by cosine alone, not a trained head"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(k: usize, n: usize, detection: f32, verification: f32) -> AttemptRule {
        AttemptRule {
            frames: KofN::new(k, n).unwrap(),
            timeout: Duration::from_secs(8),
            thresholds: Thresholds {
                detection,
                verification,
            },
            hold: 0.363,
            trained_head: true,
        }
    }

    #[test]
    fn unlock_raises_a_loose_rule_to_what_was_measured() {
        let u = rule(1, 30, 0.29, 0.1).for_unlock(EmbedderKind::Sface);
        assert_eq!(
            (u.frames.k(), u.frames.n()),
            (18, 30),
            "3 in 5 of a 30-frame window"
        );
        assert_eq!(u.thresholds.detection, 0.44);
        assert_eq!(u.hold, 0.44);
        assert_eq!(u.thresholds.verification, DEFAULT_VERIFICATION_THRESHOLD);
        assert!(!u.trained_head);
        let u = rule(1, 1, 0.2, 0.6).for_unlock(EmbedderKind::Mbf);
        assert_eq!((u.frames.k(), u.frames.n()), (3, 3));
        assert_eq!(u.thresholds.detection, 0.31);
        assert_eq!(
            (rule(2, 5, 0.5, 0.6)
                .for_unlock(EmbedderKind::Sface)
                .frames
                .k()),
            3
        );
        assert_eq!(
            (rule(3, 6, 0.5, 0.6)
                .for_unlock(EmbedderKind::Sface)
                .frames
                .k()),
            4
        );
    }

    #[test]
    fn unlock_keeps_a_stricter_rule_as_it_is() {
        let strict = AttemptRule {
            hold: 0.5,
            ..rule(4, 5, 0.5, 1.0)
        };
        let u = strict.for_unlock(EmbedderKind::Sface);
        assert_eq!(
            u,
            AttemptRule {
                trained_head: false,
                ..strict
            }
        );
    }
}
