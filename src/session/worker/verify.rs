//! The worker's Verify, Identify and Continuous modes: Verify runs one attempt
//! (`auth::attempt`); Identify and Continuous show scores and decide nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Worker, for_desk, ms};
use crate::auth::attempt::{Attempt, Step};
use crate::auth::quality;
use crate::camera::Frame;
use crate::engine::attempts::Purpose;
use crate::session::messages::{AttemptVerdict, Event, FaceLabel, Mode, Timings};
use crate::session::unlock::Seen;

/// In continuous mode, a face the tracker has verified is verified again after this long; in
/// between, its label keeps the last verdict. A new face is verified on its first frame, and
/// attempts and unlock verify every frame, since each frame is a vote there.
const VERDICT_PERIOD: Duration = Duration::from_millis(200);

/// Continuous mode's last verdict, for the tracked face it was made on.
pub(super) struct LastVerdict {
    track: u64,
    at: Instant,
    text: Option<String>,
    verified: Option<bool>,
}

impl Worker {
    /// The Verify button: one attempt for the selected person. It tests the match, so it asks
    /// for no head turn; Unlock is where liveness applies.
    pub(super) fn start_attempt(&mut self) {
        let Some(person) = self.person.clone() else {
            return self.send(Event::VerifyEnded("choose a person to verify".into()));
        };
        // A second click while one runs (the window's Verify is disabled meanwhile; a test or
        // a queued click can still send one) starts over: the window waits for the new one.
        self.end_verify();
        let (rule, liveness) = self.engine.attempt_for(Purpose::Check {
            head_turn: false,
            turn: None,
        });
        match self.engine.begin_attempt(&person, rule, liveness) {
            Ok(attempt) => {
                self.attempt = Some(attempt);
                self.play_from_the_start();
            }
            Err(e) => self.send(Event::VerifyEnded(for_desk(&e))),
        }
    }

    /// The Identify button: whom the current frame looks like among those enrolled, 1:N, on
    /// one frame. It opens nothing, so it is not an attempt (no K of N, no liveness, no
    /// lock-out): face login is the Unlock view's, through the attempt policy.
    pub(super) fn identify_latest(&mut self) {
        let Some(frame) = self.latest.clone() else {
            return;
        };
        match self
            .engine
            .probe(&frame.image, Path::new("the current frame"))
        {
            Ok(probe) => match self.engine.identify(&probe.embedding) {
                Ok(id) => self.send(Event::Identified(id)),
                Err(e) => self.unanswered("identification failed", e),
            },
            Err(e) => self.unanswered("cannot identify", e),
        }
    }

    /// Continuous mode only: labels the tracked face with its last verdict while that is recent.
    pub(super) fn reuse_verdict(&self, track: u64, label: &mut FaceLabel) -> bool {
        let recent = self.mode == Mode::Continuous
            && self.attempt.is_none()
            && self
                .last_verdict
                .as_ref()
                .is_some_and(|v| v.track == track && v.at.elapsed() < VERDICT_PERIOD);
        if recent && let Some(v) = &self.last_verdict {
            label.text.clone_from(&v.text);
            label.verified = v.verified;
        }
        recent
    }

    /// One frame of the Verify attempt: the face it judged is labelled with its score; when the
    /// attempt ends, its verdict goes to the window.
    pub(super) fn attempt_frame(
        &mut self,
        frame: &Frame,
        Seen { faces, ids }: Seen,
        labels: &mut [FaceLabel],
        timings: &mut Timings,
    ) {
        let Some(mut attempt) = self.attempt.take() else {
            return;
        };
        let person = attempt.person().to_owned();
        let seen =
            self.engine
                .attempt_frame(&mut attempt, &frame.image, faces, ids, Instant::now());
        let seen = match seen {
            Ok(seen) => seen,
            Err(e) => return self.cut_short(&attempt, &e),
        };
        timings.embed_ms = seen.embed_ms;
        if let Some((index, v)) = &seen.judged {
            labels[*index].text = Some(face_label(&person, v));
            labels[*index].verified = Some(v.accepted);
        }
        match seen.step {
            Step::Pending(_) => self.attempt = Some(attempt),
            Step::Done(outcome) => match outcome.last {
                Some(verification) => {
                    self.send(Event::Verdict {
                        person,
                        verification,
                        attempt: Some(AttemptVerdict {
                            accepted: outcome.accepted,
                            refusal: outcome.refusal.map(|r| r.text().to_owned()),
                        }),
                    });
                }
                None => self.send(Event::VerifyEnded(format!(
                    "could not verify {person}: {} before the time-out",
                    outcome.refusal.map_or("no face", |r| r.text())
                ))),
            },
        }
    }

    /// The Verify attempt ends on a frame it could not judge (detection or embedding failed):
    /// settled as one whose frames stopped, as the CLI's and the daemon's are, and the window
    /// told, which otherwise waited with Verify disabled (read-through, session 27).
    pub(super) fn cut_short(&mut self, attempt: &Attempt, e: &(dyn std::error::Error + 'static)) {
        self.engine.cut_short(attempt);
        self.send(Event::VerifyEnded(format!(
            "cannot verify: {}",
            for_desk(e)
        )));
    }

    /// Continuous mode labels the selected person's score on every frame. It shows the match as
    /// it is now and decides nothing (no attempt, no lock-out): authentication is Verify and
    /// Unlock, through an attempt.
    pub(super) fn continuous_frame(
        &mut self,
        frame: &Frame,
        Seen { faces, ids }: Seen,
        labels: &mut [FaceLabel],
        timings: &mut Timings,
    ) {
        let Some(person) = self.person.clone() else {
            return;
        };
        let Ok(index) = quality::main_face_index(faces, quality::AMBIGUOUS_FACE_RATIO) else {
            return;
        };
        if self.reuse_verdict(ids[index], &mut labels[index]) {
            // Same face, recent verdict: no embedding this frame.
            return;
        }
        let t = Instant::now();
        let verification = self
            .engine
            .embed(&frame.image, &faces[index])
            .inspect(|_| timings.embed_ms = ms(t))
            .and_then(|probe| self.engine.score(&person, &probe));
        let verification = match verification {
            Ok(v) => v,
            Err(e) => return self.unanswered("cannot verify", e),
        };
        let label = &mut labels[index];
        label.text = Some(face_label(&person, &verification));
        label.verified = Some(verification.accepted);
        self.last_verdict = Some(LastVerdict {
            track: ids[index],
            at: Instant::now(),
            text: label.text.clone(),
            verified: label.verified,
        });
        self.send(Event::Verdict {
            person,
            verification,
            attempt: None,
        });
    }
}

/// The label over a face judged as `person`: a face that does not match is "not Ann", so that
/// a red "Ann -0.04" over a stranger does not read as "this is Ann" (journey review, session
/// 30).
fn face_label(person: &str, v: &crate::auth::Verification) -> String {
    if v.accepted {
        format!("{person} {:.2}", v.best)
    } else {
        format!("not {person} {:.2}", v.best)
    }
}
