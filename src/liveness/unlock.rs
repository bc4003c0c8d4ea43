//! The liveness step of GUI unlock, after the face is verified: the head-turn challenge, with
//! the passive score over the same frames as a second opinion. Kept here rather than in the
//! worker so the worker only forwards frames and shows what this says.

use std::time::{Duration, Instant};

use image::RgbImage;

use super::challenge::{Challenge, ChallengeConfig, ChallengeState, Direction};
use super::passive::{PassiveConfig, PassiveWindow};
use crate::vision::Face;

/// How long a failure stays on screen before a new attempt starts.
const FAILURE_HOLD: Duration = Duration::from_secs(2);
/// After the turn is seen, how long to wait for the passive score to agree.
const PASSIVE_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq)]
pub enum CheckStep {
    /// Show `prompt`; `progress` is the share of the asked turn made (0..1); `score` the passive
    /// score so far.
    Running {
        prompt: String,
        progress: f32,
        score: Option<f32>,
    },
    Passed {
        score: f32,
    },
    /// Show `reason`; `first` is true once per failure (record the attempt then).
    Failed {
        reason: String,
        first: bool,
    },
    /// The failure has been shown long enough: start a new attempt.
    Retry,
}

#[derive(Debug, Clone)]
pub struct UnlockCheck {
    origin: Instant,
    passive: PassiveWindow,
    challenge: Option<Challenge>,
    turned_at: Option<Instant>,
    failed: Option<(Instant, String, bool)>,
    passed: Option<f32>,
    direction: Direction,
}

impl UnlockCheck {
    pub fn new(direction: Direction, now: Instant) -> UnlockCheck {
        UnlockCheck {
            origin: now,
            passive: PassiveWindow::new(PassiveConfig::default()),
            challenge: None,
            turned_at: None,
            failed: None,
            passed: None,
            direction,
        }
    }

    /// Every frame with the candidate's face, from the start of identification on.
    pub fn observe(&mut self, img: &RgbImage, face: &Face, now: Instant) {
        self.passive
            .push(img, face, now.duration_since(self.origin).as_secs_f64());
    }

    pub fn passed(&self) -> bool {
        self.passed.is_some()
    }

    pub fn score(&self) -> Option<f32> {
        self.passive.score().map(|s| s.score)
    }

    /// One frame of the challenge (`face`: None when none was found).
    pub fn step(&mut self, face: Option<&Face>, now: Instant) -> CheckStep {
        if let Some(score) = self.passed {
            return CheckStep::Passed { score };
        }
        if let Some((at, reason, first)) = &mut self.failed {
            if now.duration_since(*at) >= FAILURE_HOLD {
                return CheckStep::Retry;
            }
            let step = CheckStep::Failed {
                reason: reason.clone(),
                first: *first,
            };
            *first = false;
            return step;
        }
        let challenge = self
            .challenge
            .get_or_insert_with(|| Challenge::new(self.direction, ChallengeConfig::default(), now));
        let state = challenge.push(face, now);
        let score = self.passive.score();
        match state {
            ChallengeState::Failed(_) => {
                let reason = challenge.prompt();
                self.failed = Some((now, reason, true));
                self.step(face, now)
            }
            ChallengeState::Passed => {
                let turned = *self.turned_at.get_or_insert(now);
                match score {
                    // The turn itself deforms the landmarks, so a real face scores live here.
                    Some(s) if s.live => {
                        self.passed = Some(s.score);
                        CheckStep::Passed { score: s.score }
                    }
                    _ if now.duration_since(turned) >= PASSIVE_GRACE => {
                        self.failed = Some((
                            now,
                            "No natural face motion: looks like a photo".into(),
                            true,
                        ));
                        self.step(face, now)
                    }
                    _ => CheckStep::Running {
                        prompt: "Hold on…".into(),
                        progress: 1.0,
                        score: score.map(|s| s.score),
                    },
                }
            }
            ChallengeState::Baseline | ChallengeState::Turning { .. } => CheckStep::Running {
                prompt: challenge.prompt(),
                progress: match state {
                    ChallengeState::Turning { progress } => progress,
                    _ => 0.0,
                },
                score: score.map(|s| s.score),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::BBox;

    fn face(yaw: f32, mouth: f32) -> Face {
        let (x, d) = (160.0, 60.0);
        Face {
            bbox: BBox {
                x: x - d,
                y: 60.0,
                w: 2.0 * d,
                h: 2.4 * d,
            },
            landmarks: [
                [x - d / 2.0, 100.0],
                [x + d / 2.0, 100.0],
                [x + yaw * d, 130.0],
                [x - 0.4 * d, 160.0 + mouth],
                [x + 0.4 * d, 160.0 + mouth],
            ],
            score: 0.9,
        }
    }

    #[test]
    fn a_turning_talking_face_passes_and_a_still_one_fails_then_retries() {
        let img = RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 60]));
        let t0 = Instant::now();
        let mut live = UnlockCheck::new(Direction::Left, t0);
        let mut outcome = None;
        for i in 0..60u64 {
            let now = t0 + Duration::from_millis(i * 50);
            let yaw = if i < 10 {
                0.0
            } else {
                (i as f32 - 10.0) * 0.02
            };
            let f = face(yaw.min(0.3), 4.0 * (i as f32 * 0.7).sin());
            live.observe(&img, &f, now);
            if let s @ CheckStep::Passed { .. } = live.step(Some(&f), now) {
                outcome = Some(s);
                break;
            }
        }
        assert!(matches!(outcome, Some(CheckStep::Passed { score }) if score >= 0.5));

        let mut photo = UnlockCheck::new(Direction::Right, t0);
        let mut steps = Vec::new();
        for i in 0..200u64 {
            let now = t0 + Duration::from_millis(i * 50);
            let f = face(0.0, 0.0);
            photo.observe(&img, &f, now);
            steps.push(photo.step(Some(&f), now));
        }
        let firsts = steps
            .iter()
            .filter(|s| matches!(s, CheckStep::Failed { first: true, .. }))
            .count();
        assert_eq!(firsts, 1);
        assert!(steps.iter().any(
            |s| matches!(s, CheckStep::Failed { reason, .. } if reason.contains("Timed out"))
        ));
        assert_eq!(steps.last(), Some(&CheckStep::Retry));
    }
}
