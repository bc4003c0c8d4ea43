//! Unlock mode in the desktop app: find a known face, then run one attempt for that person
//! (with the head-turn challenge when liveness is on), greet or refuse, and after a moment start
//! looking again. The decision itself is the attempt's ([`crate::auth::attempt`]); this file only
//! picks whose attempt to start and says what is happening.

use std::time::{Duration, Instant};

use super::messages::{Event, FaceLabel, Timings, UnlockStatus};
use super::worker::Worker;
use crate::Error;
use crate::auth::attempt::{Attempt, LivenessCheck, Outcome, Step};
use crate::auth::quality::{self, QualityIssue};
use crate::camera::Frame;
use crate::liveness::Direction;
use crate::vision::Face;

/// How long a greeting or a refusal stays on screen before the next attempt can start.
const RESULT_HOLD: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(super) enum Unlock {
    /// No attempt: identify whoever is in front.
    #[default]
    Searching,
    Running(Box<Attempt>),
    /// An attempt ended; its status stays up until then.
    Holding(Instant),
}

impl Worker {
    pub(super) fn unlock_frame(
        &mut self,
        frame: &Frame,
        faces: &[Face],
        ids: &[u64],
        labels: &mut [FaceLabel],
        timings: &mut Timings,
    ) {
        let now = Instant::now();
        match std::mem::take(&mut self.unlock) {
            Unlock::Holding(until) if now < until => self.unlock = Unlock::Holding(until),
            Unlock::Holding(_) | Unlock::Searching => {
                if let Some(attempt) = self.start_unlock(frame, faces, labels) {
                    self.step_unlock(attempt, frame, faces, ids, labels, timings, now);
                }
            }
            Unlock::Running(attempt) => {
                self.step_unlock(attempt, frame, faces, ids, labels, timings, now)
            }
        }
    }

    /// Identifies the one face in view; an attempt starts for the best match once a frame of
    /// theirs verifies (strangers passing by start nothing and count against nobody).
    fn start_unlock(
        &mut self,
        frame: &Frame,
        faces: &[Face],
        labels: &mut [FaceLabel],
    ) -> Option<Box<Attempt>> {
        let face = match quality::main_face(faces, quality::AMBIGUOUS_FACE_RATIO) {
            Ok(face) => face,
            Err(QualityIssue::ManyFaces(n)) => {
                self.searching(format!("{n} people in view; only one at a time"));
                return None;
            }
            Err(_) => {
                self.searching("no face in view".into());
                return None;
            }
        };
        let index = faces.iter().position(|f| std::ptr::eq(f, face))?;
        let identified = self
            .engine
            .embed(&frame.image, face)
            .and_then(|probe| self.engine.identify(&probe));
        let id = match identified {
            Ok(id) => id,
            Err(e) => {
                self.fail("cannot identify", e);
                return None;
            }
        };
        let Some(top) = id.ranking.first() else {
            self.status(UnlockStatus::Refused {
                reason: "nobody is enrolled with verification images (or all are locked out)"
                    .into(),
            });
            return None;
        };
        labels[index].text = Some(format!("{} {:.2}", top.name, top.mean_score));
        labels[index].verified = Some(top.verification.accepted);
        if !top.verification.accepted {
            self.searching(format!(
                "not recognised yet (closest: {}, similarity {:.2})",
                top.name, top.mean_score
            ));
            return None;
        }
        let liveness = if self.engine.settings().liveness {
            LivenessCheck::Challenge(Direction::random())
        } else {
            LivenessCheck::Off
        };
        let rule = self.engine.attempt_rule();
        match self.engine.begin_attempt(&top.name, rule, liveness) {
            Ok(attempt) => Some(Box::new(attempt)),
            Err(e @ Error::LockedOut { .. }) => {
                self.finish(UnlockStatus::Refused {
                    reason: e.to_string(),
                });
                None
            }
            Err(e) => {
                self.fail("cannot start the attempt", e);
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn step_unlock(
        &mut self,
        mut attempt: Box<Attempt>,
        frame: &Frame,
        faces: &[Face],
        ids: &[u64],
        labels: &mut [FaceLabel],
        timings: &mut Timings,
        now: Instant,
    ) {
        let name = attempt.person().to_owned();
        let seen = match self
            .engine
            .attempt_frame(&mut attempt, &frame.image, faces, ids, now)
        {
            Ok(seen) => seen,
            Err(e) => return self.fail("cannot verify", e),
        };
        timings.embed_ms = seen.embed_ms;
        if let Some((index, v)) = &seen.judged {
            labels[*index].text = Some(format!("{name} {:.2}", v.best));
            labels[*index].verified = Some(v.accepted);
        }
        match seen.step {
            Step::Pending(prompt) => {
                let status = UnlockStatus::Attempt {
                    name,
                    prompt,
                    turn: attempt.turn_progress(),
                    liveness: attempt.liveness_score(),
                    challenge: matches!(attempt.liveness(), LivenessCheck::Challenge(_)),
                };
                self.unlock = Unlock::Running(attempt);
                self.status(status);
            }
            Step::Done(outcome) => self.finish(ended(outcome)),
        }
    }

    fn status(&self, status: UnlockStatus) {
        self.send(Event::Unlock(status));
    }

    fn searching(&mut self, reason: String) {
        self.status(UnlockStatus::Searching { reason });
    }

    fn finish(&mut self, status: UnlockStatus) {
        self.unlock = Unlock::Holding(Instant::now() + RESULT_HOLD);
        self.status(status);
    }
}

fn ended(outcome: Outcome) -> UnlockStatus {
    if outcome.accepted {
        return UnlockStatus::Welcome {
            name: outcome.person,
            liveness: outcome.liveness.map(|s| s.score),
        };
    }
    let why = outcome.refusal.map_or("refused", |r| r.text());
    let reason = match &outcome.last {
        Some(v) if outcome.refusal == Some(crate::auth::attempt::Refusal::NotRecognised) => {
            format!(
                "{why}: closest is {} (similarity {:.2}, {} of {} images matched)",
                outcome.person, v.best, v.matched, v.total
            )
        }
        _ => format!("{}: {why}", outcome.person),
    };
    UnlockStatus::Refused { reason }
}
