//! Unlock mode in the desktop app: find a known face, then run one attempt for that person
//! (with the head-turn challenge when liveness is on), greet or refuse, and after a moment start
//! looking again. The decision itself is the attempt's ([`crate::auth::attempt`]); this file only
//! picks whose attempt to start and says what is happening.

use std::time::{Duration, Instant};

use super::messages::{Timings, UnlockStatus};
use crate::Error;
use crate::auth::attempt::{Attempt, LivenessCheck, Outcome, Prompt, Refusal, Step};
use crate::auth::quality::{self, QualityIssue};
use crate::camera::Frame;
use crate::engine::Engine;
use crate::engine::attempts::Purpose;
use crate::vision::Face;

/// How long a greeting or a refusal stays on screen before the next attempt can start.
const RESULT_HOLD: Duration = Duration::from_secs(2);

/// Why an attempt ended when its source stopped sending frames, for Verify and Unlock alike.
pub(super) const FRAMES_STOPPED: &str =
    "no frames came from the camera before the attempt's time-out; is it still on?";

#[derive(Default)]
enum State {
    /// No attempt: identify whoever is in front.
    #[default]
    Searching,
    Running(Box<Attempt>),
    /// An attempt ended; its status stays up until then.
    Holding(Instant),
}

/// Unlock mode's state between frames. It reports what to show and never sends anything itself,
/// so the worker stays the only one talking to the window.
#[derive(Default)]
pub(super) struct Unlock {
    state: State,
    /// The head turn's side for a recording ([`super::messages::Command::TurnFor`]).
    pub(super) turn: Option<crate::liveness::challenge::Direction>,
}

/// What one frame of unlock mode has to say: a status for the window, or an error.
pub(super) type Said = Result<Option<UnlockStatus>, String>;

impl Unlock {
    /// Starts over (searching), handing back the attempt under way, if one was: whoever takes
    /// it settles it. The recording's side stays.
    pub(super) fn take_attempt(&mut self) -> Option<Box<Attempt>> {
        match std::mem::take(&mut self.state) {
            State::Running(attempt) => Some(attempt),
            State::Searching | State::Holding(_) => None,
        }
    }

    /// The running attempt's deadline, if one runs.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Running(attempt) => Some(attempt.deadline()),
            State::Searching | State::Holding(_) => None,
        }
    }

    /// Ends a running attempt whose frames stopped ([`Attempt::frames_stopped`]): settled as
    /// the engine settles one cut short, and said as a refusal that names nobody, as every
    /// refusal here.
    pub(super) fn expire(&mut self, engine: &mut Engine, now: Instant) -> Option<UnlockStatus> {
        match std::mem::take(&mut self.state) {
            State::Running(attempt) if attempt.frames_stopped(now) => {
                engine.cut_short(&attempt);
                Some(self.hold(UnlockStatus::Refused {
                    reason: FRAMES_STOPPED.into(),
                }))
            }
            state => {
                self.state = state;
                None
            }
        }
    }

    pub(super) fn frame(
        &mut self,
        engine: &mut Engine,
        frame: &Frame,
        seen: Seen,
        timings: &mut Timings,
    ) -> Said {
        let now = Instant::now();
        match std::mem::take(&mut self.state) {
            State::Holding(until) if now < until => {
                self.state = State::Holding(until);
                Ok(None)
            }
            State::Holding(_) | State::Searching => match self.start(engine, frame, seen) {
                // Judged from the next frame on: a recording is started over as an attempt
                // begins ([`crate::camera::FrameSource::rewind`]), and this frame is of the
                // pass before, where its head may already have turned.
                Started::Attempt(attempt) => {
                    self.state = State::Running(attempt);
                    Ok(None)
                }
                Started::Status(status) => Ok(Some(status)),
                Started::Ended(status) => Ok(Some(self.hold(status))),
                Started::Failed(e) => Err(e),
            },
            State::Running(attempt) => self.step(engine, attempt, frame, seen, timings, now),
        }
    }

    /// Identifies the one face in view; an attempt starts for the best match once a frame of
    /// theirs verifies (strangers passing by start nothing and count against nobody).
    fn start(&mut self, engine: &mut Engine, frame: &Frame, seen: Seen) -> Started {
        let searching = |reason: String| Started::Status(UnlockStatus::Searching { reason });
        // In the words an attempt's own prompts use, so they do not change as one starts.
        let face = match quality::main_face(seen.faces, quality::AMBIGUOUS_FACE_RATIO) {
            Ok(face) => face,
            Err(QualityIssue::ManyFaces {
                comparable: faces, ..
            }) => {
                return searching(Prompt::OnePersonOnly { faces }.public_text());
            }
            Err(_) => return searching(Refusal::NoFace.text().into()),
        };
        // Not started on a face too dark to judge: its frames would not vote, and it would end
        // with no face judged, five of which pause face login for everyone at this desk
        // (design review, session 29: R5).
        if crate::auth::attempt::too_dark(&frame.image, face) {
            return searching(Prompt::TooDark.public_text());
        }
        let (rule, liveness) = engine.attempt_for(Purpose::DeskUnlock { turn: self.turn });
        let identified = engine
            .embed(&frame.image, face)
            .and_then(|probe| engine.identify_at(&probe, rule.thresholds, rule.trained_head));
        let id = match identified {
            Ok(id) => id,
            Err(e) => return Started::Failed(format!("cannot identify: {e}")),
        };
        if id.ranking.is_empty() {
            return Started::Status(UnlockStatus::Refused {
                reason: nobody_to_try(&id),
            });
        }
        // Whoever stands here may not be anyone enrolled: a login tells them neither who they
        // look like nor how closely (a score per frame is an oracle to tune a photo, a pose or a
        // mask against), as the system path's prompts do not (`Prompt::public_text`). Whom to
        // try is the identification's own answer, not worked out again from its ranking
        // (design review s32 D7).
        let Some(person) = id.identity else {
            // What an attempt's own prompt says before K of N matched: nothing tells whether a
            // frame came close, so a stranger cannot watch for the flip to a name.
            return searching(Prompt::LookAtCamera.public_text());
        };
        match engine.begin_attempt(&person, rule, liveness) {
            Ok(attempt) => Started::Attempt(Box::new(attempt)),
            // Without the name, as every refusal here.
            Err(Error::LockedOut { lock, .. }) => Started::Ended(UnlockStatus::Refused {
                reason: locked(lock),
            }),
            Err(e) => Started::Failed(format!("cannot start the attempt: {e}")),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        engine: &mut Engine,
        mut attempt: Box<Attempt>,
        frame: &Frame,
        seen: Seen,
        timings: &mut Timings,
        now: Instant,
    ) -> Said {
        let judged =
            match engine.attempt_frame(&mut attempt, &frame.image, seen.faces, seen.ids, now) {
                Ok(judged) => judged,
                Err(e) => {
                    // Settled as one whose frames stopped, not dropped still counted.
                    engine.cut_short(&attempt);
                    return Err(format!("cannot verify: {e}"));
                }
            };
        timings.embed_ms = judged.embed_ms;

        Ok(Some(match judged.step {
            Step::Pending(prompt) => {
                let status = UnlockStatus::Attempt {
                    prompt,
                    turn: attempt.turn_progress(),
                    challenge: matches!(attempt.liveness(), LivenessCheck::Challenge(_)),
                };
                self.state = State::Running(attempt);
                status
            }
            Step::Done(outcome) => {
                // The full reason, which the window does not show (`Refusal::public_text`).
                tracing::debug!(
                    "unlock attempt ended after {} frames in {:.1} s: {}",
                    outcome.frames,
                    outcome.seconds,
                    outcome.refusal.map_or("accepted", |r| r.text())
                );
                self.hold(ended(outcome))
            }
        }))
    }

    fn hold(&mut self, status: UnlockStatus) -> UnlockStatus {
        self.state = State::Holding(Instant::now() + RESULT_HOLD);
        status
    }
}

/// The faces of one frame and their tracker ids.
#[derive(Clone, Copy)]
pub(super) struct Seen<'a> {
    pub faces: &'a [Face],
    pub ids: &'a [u64],
}

enum Started {
    Attempt(Box<Attempt>),
    /// Still searching (or nothing to search for): show this.
    Status(UnlockStatus),
    /// Refused before it began (locked out): show this for a moment.
    Ended(UnlockStatus),
    Failed(String),
}

/// Why identification had nobody to try: it leaves out people locked out (as it read them) and
/// people whose images are not one person, so when anyone is, that is the reason (the soonest
/// lock to end), not "nobody is enrolled".
fn nobody_to_try(id: &crate::auth::Identification) -> String {
    use crate::auth::lockout::Lock;
    let soonest = id
        .locked
        .iter()
        .map(|(_, lock)| *lock)
        .min_by_key(|lock| match lock {
            Lock::Running(s) | Lock::For(s) | Lock::Paused(s) => *s,
            Lock::UntilReset | Lock::Unreadable => u64::MAX,
        });
    match (
        soonest,
        id.not_one_person.is_empty(),
        id.unreadable.is_empty(),
    ) {
        (Some(lock), _, _) => locked(lock),
        // Nobody named, as with a lock: whoever stands here learns no enrolled name.
        (None, false, _) => "Face login is off: an enrolled person's verification images do not \
                             all show one person (see Enrol & verify)"
            .into(),
        (None, true, false) => "Face login is off: an enrolled person's images cannot be read \
                                (see Enrol & verify)"
            .into(),
        (None, true, true) => "nobody is enrolled with verification images".into(),
    }
}

/// What the desk says of a lock, with no name: whoever stands here learns no enrolled name.
fn locked(lock: crate::auth::lockout::Lock) -> String {
    format!("Face login is {lock}")
}

fn ended(outcome: Outcome) -> UnlockStatus {
    if outcome.accepted {
        return UnlockStatus::Welcome {
            name: outcome.person,
            liveness: outcome.liveness.map(|s| s.score),
        };
    }
    // Not whose attempt it was: a stranger whose one frame passed would learn whom they
    // resemble; nor whether the face matched before a liveness check refused it.
    let why = outcome.refusal.map_or("refused", |r| r.public_text());
    UnlockStatus::Refused {
        reason: format!("Not unlocked: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Identification;
    use crate::auth::lockout::Lock;

    fn nobody(locked: Vec<(String, Lock)>, not_one_person: Vec<String>) -> String {
        nobody_to_try(&Identification {
            ranking: Vec::new(),
            identity: None,
            locked,
            not_one_person,
            unreadable: Vec::new(),
        })
    }

    /// The Unlock view's reason when identification had nobody to try, naming nobody.
    #[test]
    fn why_nobody_was_tried_names_nobody() {
        assert_eq!(
            nobody(Vec::new(), Vec::new()),
            "nobody is enrolled with verification images"
        );
        let mixed = nobody(Vec::new(), vec!["Katie".into()]);
        assert!(mixed.contains("do not all show one person") && !mixed.contains("Katie"));
        let locked = nobody(
            vec![("Ann".into(), Lock::For(40)), ("Bo".into(), Lock::For(10))],
            vec!["Katie".into()],
        );
        assert!(
            locked.starts_with("Face login is") && !locked.contains("Ann"),
            "{locked}"
        );
        assert!(locked.contains("10"), "the soonest lock: {locked}");
        // Someone whose images cannot be read: said, again naming nobody.
        let unreadable = nobody_to_try(&Identification {
            ranking: Vec::new(),
            identity: None,
            locked: Vec::new(),
            not_one_person: Vec::new(),
            unreadable: vec![("Ann".into(), "Permission denied".into())],
        });
        assert!(
            unreadable.contains("images cannot be read") && !unreadable.contains("Ann"),
            "{unreadable}"
        );
    }
}
