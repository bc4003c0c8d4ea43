//! Live attempts against the store: an [`Attempt`] is counted against the lock-out when it
//! starts (so killing it part-way still counts) and settled with its audit line when it ends.
//! Here the models run on each frame for it: the embedding while it still needs a match, and,
//! with liveness on, the presentation-attack model's score of the face (skipped, like the
//! embedding, for a frame too dark to judge).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use image::RgbImage;

use super::Engine;
use crate::auth::Verification;
use crate::auth::attempt::{Attempt, AttemptRule, LivenessCheck, Outcome, PadRule, Sighting, Step};
use crate::auth::lockout::{self, Channel, Early, Ended, Lock, Lockout};
use crate::auth::quality::{self, QualityIssue};
use crate::camera::FrameSource;
use crate::liveness::Direction;
use crate::store::audit::{AuditEntry, AuditScores};
use crate::store::face_region;
use crate::vision::Face;
use crate::{Error, Result};

/// What an attempt's audit line records besides its outcome, when the caller has it.
#[derive(Debug, Default, Clone, Copy)]
pub struct AttemptDetails<'a> {
    /// The verification the verdict rests on (the last one of a live attempt).
    pub last: Option<&'a Verification>,
    pub liveness: Option<f32>,
    /// The frame the attempt ended on and the face judged in it: the face region is kept for a
    /// failed attempt when the user opted in.
    pub frame: Option<&'a RgbImage>,
    pub face: Option<&'a Face>,
    /// The system account the attempt was for ([`Attempt::for_account`]).
    pub account: Option<u32>,
}

/// One frame of a live attempt, as the engine saw it.
#[derive(Debug, Clone)]
pub struct AttemptFrame {
    pub step: Step,
    /// Index (into the faces passed in) of the face the attempt judged, and its verification.
    pub judged: Option<(usize, Verification)>,
    /// Milliseconds spent embedding that face (0 when none was).
    pub embed_ms: f32,
    /// Milliseconds spent on its presentation-attack score (0 when none was).
    pub pad_ms: f32,
}

/// Largest side of a saved failed-attempt picture: enough to see who tried, and a 6000×6000
/// probe does not leave a 19 MB file per failure.
const SAVED_FRAME_SIDE: u32 = 640;

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The lock on `person`'s face verification in `store` now, if any. A lock-out file that
/// cannot be read locks until reset: it fails closed, as attempts do ([`Engine::count_start`]
/// refuses to start on it). A person who does not exist has no lock: a mistyped name was told
/// it was locked out until a reset that could not run either (design review, session 27);
/// nothing is verified against nobody, so this opens nothing.
pub fn lock_of(store: &crate::store::Store, person: &str) -> Option<Lock> {
    read_lock(store, person).unwrap_or_else(|e| {
        tracing::warn!("{person}: lock-out state unreadable ({e}): treated as locked");
        Some(Lock::Unreadable)
    })
}

/// [`lock_of`], with a record that cannot be read as the error, not yet logged: the daemon's
/// gate logs it with its limit on what one user can have logged (a damaged record logged a
/// line on each request, thousands a second; red team s35 #1).
pub fn read_lock(
    store: &crate::store::Store,
    person: &str,
) -> std::result::Result<Option<Lock>, crate::store::StoreError> {
    let now = now_unix();
    match store.read_state::<Lockout>(person, lockout::STATE_FILE) {
        Err(crate::store::StoreError::UnknownPerson(_)) => Ok(None),
        Ok(mut state) => {
            // A lock time beyond the longest period is bounded, and a lock that failures of
            // killed attempts piled up to is started, on disk as soon as they are seen (never
            // one from attempts that may still be running): the daemon and the window ask here
            // and never start an attempt (and its `begin`) while a lock holds.
            if state.bound(now) | state.start_pending(now).is_some() {
                let started = store.update_state(person, lockout::STATE_FILE, |l: &mut Lockout| {
                    l.bound(now);
                    l.start_pending(now)
                });
                // Logged as a lock an attempt's end starts is (review s33: these were not), as
                // the record written has it.
                if let Ok(Some(lock)) = started {
                    log_started(person, lock, true);
                }
            }
            Ok(state.held(now))
        }
        Err(e) => Err(e),
    }
}

/// A lock-out or pause that just started for `person`, on the log (the daemon's journal, or a
/// command's stderr): the one wording for each place a lock starts. `never_ended`: started on
/// attempts killed before they ended, not by an attempt's end.
fn log_started(person: &str, lock: Lock, never_ended: bool) {
    let why = if never_ended {
        " (attempts that never ended counted)"
    } else {
        ""
    };
    tracing::warn!("{person}: face verification {lock}{why}");
}

/// Lifts `person`'s lock-out or pause in `store` (they proved who they are another way): a
/// fresh state over whatever is there, a damaged file included, so failures counted toward a
/// lock-out go too. No engine: a machine whose models are missing or damaged can still lift a
/// lock (design review 4.4). Returns the lock that held, so that a reset with none to lift
/// does not say it lifted one.
pub fn reset_lock(store: &crate::store::Store, person: &str) -> Result<Option<Lock>> {
    store.require_person(person)?;
    let held = lock_of(store, person);
    store.write_state(person, lockout::STATE_FILE, &Lockout::default())?;
    Ok(held)
}

/// How a whole attempt ([`Engine::run_attempt`]) ended.
#[derive(Debug)]
pub enum Ran {
    /// With its outcome.
    Done(Box<Outcome>),
    /// Abandoned by whoever asked for it, and settled so: whether it counted is the caller's
    /// to say (the daemon logged only a broken pipe for one that counted; red team s36 F4).
    Left(Ended),
}

/// What a live attempt is for. [`Engine::attempt_for`] turns it into the attempt's rule and
/// liveness check, the one place that does: the window's Verify and Unlock, `facegate verify`
/// and the daemon each name their purpose, and none picks thresholds, K of N or a challenge
/// itself. (`facegate verify --timeout` then sets the time limit the user typed, range-checked
/// by `timeout_from_secs`.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Purpose {
    /// Does this face match (the window's Verify, `facegate verify`)? The settings' rule; a
    /// head turn only when asked for (`--liveness`), to `turn` or a random side.
    Check {
        head_turn: bool,
        turn: Option<Direction>,
    },
    /// Face login at the desk (the window's Unlock view): the unlock rule, and a head turn while
    /// the settings' liveness is on, to `turn` (a recording's side) or a random side.
    DeskUnlock { turn: Option<Direction> },
    /// System face unlock (the daemon): the unlock rule within the config's `timeout_s`, and
    /// always a head turn, to the config's `turn` or a random side.
    SystemUnlock {
        timeout: std::time::Duration,
        turn: Option<Direction>,
    },
}

impl Engine {
    /// K of N, the time-out and the thresholds from the settings: for checking a match (the
    /// Verify button, `facegate verify`).
    pub fn attempt_rule(&self) -> AttemptRule {
        self.settings.attempt_rule()
    }

    /// The same for unlocking (the app's Unlock view, the system daemon): thresholds raised to
    /// the measured unlock defaults when the settings are looser.
    pub fn unlock_rule(&self) -> AttemptRule {
        self.settings.unlock_rule()
    }

    /// The rule and the liveness check of an attempt for `purpose` ([`Purpose`]).
    pub fn attempt_for(&self, purpose: Purpose) -> (AttemptRule, LivenessCheck) {
        let challenge = |turn: Option<Direction>| {
            LivenessCheck::Challenge(turn.unwrap_or_else(Direction::random))
        };
        match purpose {
            Purpose::Check { head_turn, turn } => (
                self.attempt_rule(),
                if head_turn {
                    challenge(turn)
                } else {
                    LivenessCheck::Off
                },
            ),
            Purpose::DeskUnlock { turn } => (
                self.unlock_rule(),
                if self.settings.liveness {
                    challenge(turn)
                } else {
                    LivenessCheck::Off
                },
            ),
            Purpose::SystemUnlock { timeout, turn } => (
                AttemptRule {
                    timeout,
                    ..self.unlock_rule()
                },
                challenge(turn),
            ),
        }
    }

    /// Starts a live attempt for `person`: refused while they are locked out or have no
    /// verification images; otherwise counted as a failure until it ends in success. With
    /// liveness on, the presentation-attack model must load (before anything is counted) and its
    /// scores must pass [`PadRule::default`].
    pub fn begin_attempt(
        &mut self,
        person: &str,
        rule: AttemptRule,
        liveness: LivenessCheck,
    ) -> Result<Attempt> {
        self.begin_attempt_at(person, rule, liveness, Instant::now())
    }

    /// [`Engine::begin_attempt`] with its clock started at `asked`: the daemon opens the camera
    /// before the attempt counts, and that time is part of the attempt's `timeout_s`, which the
    /// PAM module waits for.
    pub fn begin_attempt_at(
        &mut self,
        person: &str,
        rule: AttemptRule,
        liveness: LivenessCheck,
        asked: Instant,
    ) -> Result<Attempt> {
        self.ensure_enrolled(person)?;
        if liveness != LivenessCheck::Off && self.pad.is_none() {
            self.pad = Some(crate::liveness::PadModel::new(&self.models)?);
        }
        self.count_start(person)?;
        let attempt = Attempt::new(person, rule, liveness, asked);
        Ok(match liveness {
            LivenessCheck::Off => attempt,
            _ => attempt.with_pad(PadRule::default()),
        })
    }

    /// The lock on `person`'s face verification, if any ([`lock_of`]).
    pub fn lockout(&self, person: &str) -> Option<Lock> {
        lock_of(&self.store, person)
    }

    /// Whether `person` may have an attempt now, asked before a camera turns on: enrolled,
    /// then not locked out or paused. [`Engine::begin_attempt`] asks again as it counts.
    pub fn attempt_gate(&mut self, person: &str) -> Result<()> {
        self.ensure_enrolled(person)?;
        match self.lockout(person) {
            Some(lock) => Err(Error::LockedOut {
                person: person.to_owned(),
                lock,
            }),
            None => Ok(()),
        }
    }

    /// One frame of `attempt`: picks the one face in view among `faces` (with their tracker
    /// `ids`), verifies it against the attempt's person and feeds the attempt. When the attempt
    /// ends, its outcome is settled in the lock-out and the audit log before this returns.
    pub fn attempt_frame(
        &mut self,
        attempt: &mut Attempt,
        image: &RgbImage,
        faces: &[Face],
        ids: &[u64],
        now: Instant,
    ) -> Result<AttemptFrame> {
        if attempt.outcome().is_some() {
            // Already settled: never count or log an attempt twice.
            let step = attempt.step(image, Sighting::NoFace, now);
            return Ok(AttemptFrame {
                step,
                judged: None,
                embed_ms: 0.0,
                pad_ms: 0.0,
            });
        }
        let main = quality::main_face_index(faces, quality::AMBIGUOUS_FACE_RATIO);
        let (mut embed_ms, mut pad_ms) = (0.0, 0.0);
        let (step, judged) = match main {
            Ok(index) => {
                let face = &faces[index];
                // A frame too dark to judge does not vote: nothing to embed or score.
                let judge = !attempt.too_dark(image, face);
                let pad = match &mut self.pad {
                    Some(model) if judge && attempt.liveness() != LivenessCheck::Off => {
                        let t = Instant::now();
                        let score = model.score(image, face)?;
                        pad_ms = t.elapsed().as_secs_f32() * 1e3;
                        score.map(|s| s.live)
                    }
                    _ => None,
                };
                let probe = if judge && attempt.needs_probe() {
                    let t = Instant::now();
                    let probe = self.embed(image, face)?;
                    embed_ms = t.elapsed().as_secs_f32() * 1e3;
                    Some(probe)
                } else {
                    None
                };
                let verification = match &probe {
                    Some(probe) if attempt.needs_match() => {
                        let rule = attempt.rule();
                        Some(self.score_with(
                            attempt.person(),
                            probe,
                            rule.thresholds,
                            rule.trained_head,
                        )?)
                    }
                    _ => None,
                };
                let sighting = Sighting::Face {
                    face,
                    track: ids.get(index).copied().unwrap_or(0),
                    verification: verification.as_ref(),
                    probe: probe.as_ref(),
                    pad,
                };
                let step = attempt.step(image, sighting, now);
                (step, verification.map(|v| (index, v)))
            }
            Err(QualityIssue::ManyFaces { comparable: n, .. }) => {
                (attempt.step(image, Sighting::ManyFaces(n), now), None)
            }
            Err(_) => (attempt.step(image, Sighting::NoFace, now), None),
        };
        if let Step::Done(outcome) = &step {
            self.settle(outcome, image, attempt.account())?;
        }
        Ok(AttemptFrame {
            step,
            judged,
            embed_ms,
            pad_ms,
        })
    }

    /// A whole attempt on frames from `source` (a camera or a replay) until it ends: the CLI's
    /// and the system unlock's loop. `prompt` sees every pending prompt and returns false to
    /// abandon the attempt (whoever asked is gone): it is then settled as
    /// [`Engine::end_early`] says, and that is returned ([`Ran::Left`]), for the caller to say
    /// what it cost. A source that fails part-way ends it the same way before its error is
    /// returned.
    pub fn run_attempt(
        &mut self,
        attempt: &mut Attempt,
        source: &mut dyn FrameSource,
        mut prompt: impl FnMut(&crate::auth::attempt::Prompt) -> bool,
    ) -> Result<Ran> {
        let mut tracker = crate::vision::Tracker::default();
        loop {
            let wait = (attempt.deadline() + crate::auth::attempt::FRAMES_STOPPED_GRACE)
                .saturating_duration_since(Instant::now());
            let step = source
                .next_frame_within(wait)
                .map_err(Error::from)
                .and_then(|frame| {
                    let faces = self.detect(&frame.image)?;
                    let ids = tracker.update(&faces);
                    self.attempt_frame(attempt, &frame.image, &faces, &ids, Instant::now())
                });
            match step.map(|f| f.step) {
                Ok(Step::Pending(p)) => {
                    if !prompt(&p) {
                        // Pending: no outcome settled it yet.
                        return Ok(Ran::Left(self.settle_early(attempt, Early::Abandoned)?));
                    }
                }
                Ok(Step::Done(outcome)) => return Ok(Ran::Done(Box::new(outcome))),
                Err(e) => {
                    // Its own failure to settle would hide the source's error: logged.
                    if let Err(settling) = self.end_early(attempt, Early::FramesStopped) {
                        tracing::warn!("the attempt cut short was not settled: {settling}");
                    }
                    return Err(e);
                }
            }
        }
    }

    /// [`Engine::end_early`] for an attempt whose frame could not be judged (a detection or an
    /// embedding failed): settled as one whose frames stopped, a failure to settle logged. The
    /// window's Verify and Unlock both end theirs so.
    pub(crate) fn cut_short(&mut self, attempt: &Attempt) {
        if let Err(settling) = self.end_early(attempt, Early::FramesStopped) {
            tracing::warn!("the attempt cut short was not settled: {settling}");
        }
    }

    /// Settles `attempt`, begun and not finished, with its audit line, as [`Ended::early`]
    /// says. Its audit line has the last comparison's scores when there was one.
    ///
    /// An attempt that already has its outcome was settled with it, and is left alone (`None`);
    /// otherwise how it was settled.
    pub(crate) fn end_early(&mut self, attempt: &Attempt, why: Early) -> Result<Option<Ended>> {
        if attempt.outcome().is_some() {
            return Ok(None);
        }
        self.settle_early(attempt, why).map(Some)
    }

    /// [`Engine::end_early`] for an attempt known to have no outcome yet.
    fn settle_early(&mut self, attempt: &Attempt, why: Early) -> Result<Ended> {
        let ended = Ended::early(attempt.compared_a_face(), why);
        let person = attempt.person().to_owned();
        let details = AttemptDetails {
            last: attempt.last(),
            account: attempt.account(),
            ..AttemptDetails::default()
        };
        self.settle_attempt(&person, Channel::Live, ended, details)?;
        Ok(ended)
    }

    /// A live attempt ended: settled as a photo's is, so the fifth settled failure locks at
    /// once (it used to lock only when the next attempt began, and until then `lockout` and
    /// `identify` did not see it); with others still running, once they have settled too.
    fn settle(&mut self, outcome: &Outcome, frame: &RgbImage, account: Option<u32>) -> Result<()> {
        self.settle_attempt(
            &outcome.person,
            Channel::Live,
            outcome.ended(),
            AttemptDetails {
                last: outcome.last.as_ref(),
                liveness: outcome.liveness.map(|s| s.score),
                frame: Some(frame),
                face: outcome.face.as_ref(),
                account,
            },
        )
    }

    /// Takes every attempt the store records as running as killed, and logs it: for the daemon
    /// as it starts, the only one that begins attempts on its store, so that none of them can
    /// still end. A restart during a login held that account for up to two minutes, "while
    /// another attempt runs" with none running (review s36 #1).
    pub fn end_attempts_left_running(&self) -> Result<()> {
        let now = now_unix();
        for person in self.store.people()? {
            let mut ended = (0, None);
            let edited = self
                .store
                .edit_state(&person, lockout::STATE_FILE, |l: &mut Lockout| {
                    ended = l.end_killed(now);
                    ended.0 > 0
                });
            // A damaged record stays as it is: it is read as a lock until it is reset.
            if let Err(e) = edited {
                tracing::warn!("{person}: its record of attempts was not looked at: {e}");
                continue;
            }
            if ended.0 > 0 {
                tracing::warn!(
                    "{person}: {} begun before the daemon last stopped, never ended, counted as \
                     failed",
                    crate::shown::counted(ended.0 as usize, "attempt", "attempts")
                );
            }
            if let Some(lock) = ended.1 {
                log_started(&person, lock, true);
            }
        }
        Ok(())
    }

    /// Counts an attempt (live or a photo) as started, and failed until it settles: refused
    /// while locked out.
    pub(super) fn count_start(&mut self, person: &str) -> Result<()> {
        let now = now_unix();
        let begun =
            self.store
                .update_state(person, lockout::STATE_FILE, |lock: &mut Lockout| {
                    lock.begin_noted(now)
                })?;
        // A lock that attempts which never ended piled up to, started by this one's start.
        if let Some(lock) = begun.started {
            log_started(person, lock, true);
        }
        match begun.refused {
            Some(lock) => Err(Error::LockedOut {
                person: person.to_owned(),
                lock,
            }),
            None => Ok(()),
        }
    }

    /// Settles an attempt (live or a photo) begun with [`Engine::count_start`], with its audit
    /// line.
    pub(super) fn settle_attempt(
        &mut self,
        person: &str,
        channel: Channel,
        ended: Ended,
        details: AttemptDetails,
    ) -> Result<()> {
        let now = now_unix();
        let started =
            self.store
                .update_state(person, lockout::STATE_FILE, |lock: &mut Lockout| {
                    lock.settle(ended, channel, now)
                })?;
        if let Some(lock) = started {
            // On the daemon's log too: who is locked out or paused, and why, for whoever
            // wonders later (the daemon logged pauses only; journey s32 #11).
            log_started(person, lock, false);
        }
        self.audit(person, channel, ended, details);
        Ok(())
    }

    fn audit(&self, person: &str, channel: Channel, ended: Ended, details: AttemptDetails) {
        let accepted = ended.accepted();
        // Only a refusal keeps its frame: an attempt that compared no face (a covered lens) is
        // not counted, and must not be a free way to push the frames of a real attack out of
        // the few that are kept.
        let frame = details
            .frame
            .filter(|_| ended == Ended::Refused && self.settings.save_failed_frames)
            .map(|img| face_region(img, details.face, SAVED_FRAME_SIDE))
            .and_then(|img| match self.store.save_failed_frame(&img) {
                Ok(path) => Some(path),
                Err(e) => {
                    // The attempt still counts and is logged; only its picture is missing.
                    tracing::warn!("could not save the frame of the failed attempt: {e}");
                    None
                }
            });
        self.store.audit(&AuditEntry {
            unix_time: now_unix(),
            person: person.to_owned(),
            channel: channel.as_str().to_owned(),
            accepted,
            scores: details.last.map(|v| AuditScores {
                share: v.share,
                best: v.best,
                template_score: v.template_score,
                scorer: format!("{:?}", v.scorer).to_lowercase(),
            }),
            liveness: details.liveness,
            frame,
            ended: Some(ended.as_str().to_owned()),
            uid: details.account,
        });
    }
}
