//! One live attempt: the only place FaceGate decides, from a stream of frames, whether the person
//! in front of the camera is who they claim to be. The desktop app's Verify and Unlock, `facegate
//! verify --replay/--camera` and the system unlock path all feed frames to an [`Attempt`] and
//! render what it says; none of them has a rule of its own.
//!
//! The policy, in order:
//! 1. **One tracked face.** Frames with no face or with two people in view do not vote. When the
//!    tracked face changes (someone else, or a photo swapped in), everything gathered so far
//!    (votes, liveness frames, the challenge) starts over; the deadline does not. An attempt
//!    that then ends unmatched within N frames of the change, after the old face had matched
//!    some, is refused as the face having changed rather than as not recognised.
//! 2. **K of the last N frames verify** ([`Votes`]): one lucky frame never passes.
//! 3. **Every frame is the face that matched.** With liveness on, every frame of the tracked
//!    face is embedded, and must be within the rule's `hold` cosine of the mean of the frames
//!    that matched: the frames before the votes passed are held to it when they pass, the frames
//!    after as they come. One that is not starts the attempt over (so the face in view must
//!    match the gallery itself): the tracker's box overlap alone would let a live face swapped
//!    in for a matched photo (a beam-splitter, a quick hand), or shown before it, make the turn
//!    and the motion for it. Only frames so held are liveness evidence.
//! 4. **Liveness** ([`LivenessCheck`]): the passive motion score over the tracked face's frames
//!    always (when liveness is on), the head-turn challenge when the caller can show a prompt,
//!    and, with a [`PadRule`], the texture model's per-frame live scores (`liveness::pad`): a low
//!    quantile of them must reach the rule's threshold, else the attempt is refused as "looks
//!    like a screen or a print" (a replayed video can make the turn and move naturally; its
//!    screen still shows). Verification and liveness rest on the same tracked face.
//! 5. **Frames too dark to judge** (mean face luma under the dark limit, as howdy's dark
//!    threshold) do not vote or count as liveness frames; the attempt says so instead.
//! 6. **One deadline** for all of it; the challenge has its own shorter clock inside it.
//! 7. **Nothing said tells a match.** The challenge runs from the first frame of the tracked
//!    face, matched or not, so the prompts a person at a login screen sees (hold still, turn)
//!    are the same for a face that matches and one that does not: a stranger cannot flip
//!    through photos and watch for the one that moves the prompt on. Only the outcome tells,
//!    once an attempt (counted) is over.
//!
//! The attempt is pure: frames and times in, [`Step`]s out. Counting it against the lock-out
//! when it starts and writing its audit line when it ends is the engine's job
//! (`Engine::begin_attempt` / `Engine::attempt_frame`), so no caller can skip either.

use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;

mod rule;
mod says;
mod signals;

pub use rule::{
    AttemptRule, DEFAULT_TIMEOUT, MAX_TIMEOUT_S, MIN_TIMEOUT_S, timeout_from_secs, unlock_threshold,
};
pub use says::{Outcome, Prompt, Refusal, Step};
use signals::PadFrames;
pub use signals::{DARK_LIMIT, PadRule, face_luminance};

use super::Verification;
use super::quality::QualityIssue;
use super::votes::Votes;
use crate::liveness::{
    Challenge, ChallengeConfig, ChallengeState, Direction, LivenessScore, PassiveConfig,
    PassiveWindow,
};
use crate::vision::Embedding;
use crate::vision::Face;

/// After the turn is seen, how long to wait for the passive score to agree.
const PASSIVE_GRACE: Duration = Duration::from_secs(2);

/// What the attempt requires besides a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LivenessCheck {
    /// A match is enough (the desk app's Verify button, a test of the thresholds).
    Off,
    /// Natural face motion over the tracked face's frames: for callers that cannot prompt.
    Passive,
    /// The passive score and a head turn in `Direction`, asked for with a [`Prompt`].
    Challenge(Direction),
}

/// Whether `face` in `image` is too dark to judge: an attempt's frame of it does not vote, and
/// no attempt is started on it (one would end with no face judged, a step toward a pause).
pub fn too_dark(image: &RgbImage, face: &Face) -> bool {
    bright_enough(image, face).is_err()
}

/// [`too_dark`] as the issue a photo is refused with: a photo's face is judged as a frame's
/// is, and one too dark counts for nothing (it was REJECTED, and five locked its owner out;
/// journey s37 #1).
pub fn bright_enough(image: &RgbImage, face: &Face) -> Result<(), QualityIssue> {
    match face_luminance(image, &face.bbox) {
        Some(l) if l >= DARK_LIMIT => Ok(()),
        l => Err(QualityIssue::TooDark {
            brightness: l.unwrap_or(0.0),
            min: DARK_LIMIT,
        }),
    }
}

/// What the caller saw in one frame.
#[derive(Debug, Clone, Copy)]
pub enum Sighting<'a> {
    NoFace,
    /// Two or more faces of about the same size: whose attempt would it be?
    ManyFaces(usize),
    /// The one face in view (the largest, clearly), its tracker id, and its verification
    /// against the person claimed: needed while [`Attempt::needs_match`], ignored after (a
    /// turning head need not match the gallery). `probe`: its embedding, needed while
    /// [`Attempt::needs_probe`] (after the votes, it must stay close to the frames that matched).
    /// `pad`: the texture model's live score of this face, when the caller ran it (see
    /// [`Attempt::with_pad`]).
    Face {
        face: &'a Face,
        track: u64,
        verification: Option<&'a Verification>,
        probe: Option<&'a Embedding>,
        pad: Option<f32>,
    },
}

/// How long past its deadline an attempt waits for one more frame before it is taken as ended
/// without frames: a frame that is late (a slow detection, a camera's own hiccup) still ends it
/// with the verdict its frames earned.
pub const FRAMES_STOPPED_GRACE: Duration = Duration::from_secs(1);

pub struct Attempt {
    person: String,
    /// The system account it is for, by uid (the daemon's attempts): on its audit line.
    account: Option<u32>,
    rule: AttemptRule,
    liveness: LivenessCheck,
    started: Instant,
    track: Option<u64>,
    votes: Votes,
    passive: PassiveWindow,
    /// The last judgement of the passive window; `live` latches (one live window is enough).
    judged: Option<LivenessScore>,
    /// With liveness on: how the texture scores decide, and the tracked face's scores so far.
    pad_rule: Option<PadRule>,
    pad: PadFrames,
    dark_frames: u64,
    /// Frames with two or more people in view, and with nobody.
    crowded_frames: u64,
    empty_frames: u64,
    /// Started on the tracked face's first frame, with the challenge on.
    challenge: Option<Challenge>,
    /// The probes of the liveness evidence taken before the votes passed: held to the matched
    /// frames' mean when they pass.
    pending: Vec<Embedding>,
    turned_at: Option<Instant>,
    /// When K of N frames had matched (for the timing the outcome reports).
    matched_at: Option<Instant>,
    /// The sum of the probes of the frames that matched since the tracked face last changed,
    /// and, once the votes pass, their mean (normalised): what later frames must hold to.
    matched: Option<Vec<f32>>,
    anchor: Option<Embedding>,
    /// After the votes passed: the lowest cosine of a frame's probe to the matched frames' mean
    /// among those that held (since the last restart), the lowest of all (for the outcome), and
    /// whether one fell under the rule's `hold` (the attempt then started over).
    held: Option<f32>,
    lowest_held: Option<f32>,
    /// After the votes passed, a frame left the matched embedding: another face in its place.
    swapped: bool,
    /// When (in frames with a face) a face that had matched gave way to a new tracked face
    /// before the votes passed. An unmatched ending within N frames of it says so; after N
    /// frames of the new face without a pass, it was simply not recognised (a detector blink
    /// also starts a new track).
    matched_then_lost: Option<u64>,
    last: Option<Verification>,
    /// The tracked face as last seen (for the saved frame of a failed attempt).
    face: Option<Face>,
    frames: u64,
    frames_with_face: u64,
    outcome: Option<Outcome>,
}

impl Attempt {
    pub fn new(person: &str, rule: AttemptRule, liveness: LivenessCheck, now: Instant) -> Attempt {
        Attempt {
            person: person.to_owned(),
            account: None,
            votes: Votes::new(rule.frames),
            rule,
            liveness,
            started: now,
            track: None,
            passive: PassiveWindow::new(PassiveConfig::default()),
            judged: None,
            pad_rule: None,
            pad: PadFrames::default(),
            dark_frames: 0,
            crowded_frames: 0,
            empty_frames: 0,
            challenge: None,
            pending: Vec::new(),
            turned_at: None,
            matched_at: None,
            matched: None,
            anchor: None,
            held: None,
            lowest_held: None,
            swapped: false,
            matched_then_lost: None,
            last: None,
            face: None,
            frames: 0,
            frames_with_face: 0,
            outcome: None,
        }
    }

    /// For the system account with `uid`, which its audit line names: an account of the same
    /// name made later is another person (red team s33 F3).
    pub fn for_account(mut self, uid: u32) -> Attempt {
        self.account = Some(uid);
        self
    }

    pub fn account(&self) -> Option<u32> {
        self.account
    }

    /// Requires, with liveness on, the texture model's scores to pass `rule`: the attempt is not
    /// accepted before `rule.min_frames` of the tracked face were scored, and is refused when
    /// their low quantile stays under the threshold. The engine always sets it; without it the
    /// scores in [`Sighting::Face`] are ignored.
    pub fn with_pad(mut self, rule: PadRule) -> Attempt {
        self.pad_rule = Some(rule);
        self
    }

    /// Whether `face` in `image` is too dark to judge ([`too_dark`]): such a frame does not
    /// vote, so a caller need not embed or score it.
    pub fn too_dark(&self, image: &RgbImage, face: &Face) -> bool {
        too_dark(image, face)
    }

    /// The texture model's verdict so far: the rule's low quantile of the tracked face's scores
    /// (None before enough frames, or without a rule).
    pub fn pad_score(&self) -> Option<f32> {
        self.pad_rule.and_then(|rule| self.pad.judged(&rule))
    }

    pub fn person(&self) -> &str {
        &self.person
    }

    pub fn liveness(&self) -> LivenessCheck {
        self.liveness
    }

    /// Whether a face has been compared yet (one frame with a single face bright enough): an
    /// attempt abandoned before that is taken back from the lock-out, as one that ends so.
    pub fn compared_a_face(&self) -> bool {
        self.frames_with_face > 0
    }

    /// The last verification of a face, if one was compared.
    pub fn last(&self) -> Option<&Verification> {
        self.last.as_ref()
    }

    pub fn rule(&self) -> AttemptRule {
        self.rule
    }

    /// When the attempt's one time-out runs out. A frame that comes after it ends the attempt;
    /// whoever feeds it frames ends it there too if none comes ([`Attempt::frames_stopped`]).
    pub fn deadline(&self) -> Instant {
        self.started + self.rule.timeout
    }

    /// Whether the attempt, still running, has had no frame for [`FRAMES_STOPPED_GRACE`] past
    /// its deadline: its source stopped sending without saying so (a replay from another
    /// source's number, a driver that hangs without an error), and nothing else would end it.
    pub fn frames_stopped(&self, now: Instant) -> bool {
        self.outcome.is_none() && now >= self.deadline() + FRAMES_STOPPED_GRACE
    }

    /// Once ended, how.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Whether the next face needs a verification: until K of N frames have matched.
    pub fn needs_match(&self) -> bool {
        !self.votes.passed()
    }

    /// Whether the next face needs its embedding ([`Sighting::Face`]'s `probe`): to vote, and
    /// with liveness on, to show that the face that turns and moves is the one that matched.
    pub fn needs_probe(&self) -> bool {
        self.outcome.is_none() && (self.needs_match() || self.liveness != LivenessCheck::Off)
    }

    /// Share of the asked head turn made so far (0 before the challenge).
    pub fn turn_progress(&self) -> f32 {
        match self.challenge.as_ref().map(Challenge::state) {
            Some(ChallengeState::Turning { progress }) => progress,
            Some(ChallengeState::Passed) => 1.0,
            _ => 0.0,
        }
    }

    /// Feeds one frame (`image` is the frame `sighting` was found in). After `Done`, every
    /// further frame returns the same outcome.
    pub fn step(&mut self, image: &RgbImage, sighting: Sighting, now: Instant) -> Step {
        if let Some(outcome) = &self.outcome {
            return Step::Done(outcome.clone());
        }
        self.frames += 1;
        let prompt = match sighting {
            Sighting::NoFace => {
                self.empty_frames += 1;
                self.no_face(now)
            }
            Sighting::ManyFaces(faces) => {
                // Two people: neither may borrow the other's frames, and a turn cannot be told
                // apart, so the attempt starts over on whoever is left.
                self.restart();
                self.crowded_frames += 1;
                Prompt::OnePersonOnly { faces }
            }
            Sighting::Face { face, .. } if self.too_dark(image, face) => {
                // Too dark to judge: neither a vote nor a liveness frame; to the challenge it is
                // a frame where the face was missed.
                self.dark_frames += 1;
                if let Some(challenge) = &mut self.challenge {
                    challenge.push(None, now);
                }
                Prompt::TooDark
            }
            Sighting::Face {
                face,
                track,
                verification,
                probe,
                pad,
            } => {
                self.frames_with_face += 1;
                if self.track.replace(track).is_some_and(|t| t != track) {
                    // A face that had matched gave way to another before K of N: if the attempt
                    // ends unmatched soon after, that is why (a folder of different photos of
                    // the person read "not recognised" though every frame matched).
                    if self.votes.verified() > 0 {
                        self.matched_then_lost = Some(self.frames_with_face);
                    }
                    self.restart();
                }
                self.face(image, face, verification, probe, pad, now)
            }
        };
        match self.finished(now) {
            Some(refusal) => self.end(refusal, now),
            None => Step::Pending(prompt),
        }
    }

    fn restart(&mut self) {
        self.votes.clear();
        self.passive.clear();
        self.pad.clear();
        self.judged = None;
        self.challenge = None;
        self.pending.clear();
        self.turned_at = None;
        self.matched_at = None;
        self.matched = None;
        self.anchor = None;
        self.held = None;
    }

    fn no_face(&mut self, now: Instant) -> Prompt {
        match &mut self.challenge {
            // A turned head is sometimes missed; the challenge's clock covers a face gone.
            Some(challenge) => {
                challenge.push(None, now);
                challenge_prompt(challenge)
            }
            None => Prompt::LookAtCamera,
        }
    }

    fn face(
        &mut self,
        image: &RgbImage,
        face: &Face,
        verification: Option<&Verification>,
        probe: Option<&Embedding>,
        pad: Option<f32>,
        now: Instant,
    ) -> Prompt {
        // Whether this frame counts as the claimed face's: held to the matched frames' mean,
        // now (after the votes) or when the votes pass (before them: kept in `pending`). Only
        // such frames are evidence of liveness, so the motion and the texture that let an
        // attempt through are the claimed face's own, not those of a live face shown before a
        // photo was swapped in, or after.
        let own = match (self.liveness, probe) {
            (LivenessCheck::Off, _) | (_, None) => false,
            (_, Some(probe)) if !self.votes.passed() => {
                self.pending.push(probe.clone());
                true
            }
            (_, Some(probe)) => {
                if !self.hold(probe) {
                    return self.swapped();
                }
                true
            }
        };
        if own {
            self.passive
                .push(image, face, now.duration_since(self.started).as_secs_f64());
            if self.passive.is_full() && !self.judged.is_some_and(|s| s.live) {
                self.judged = self.passive.score();
            }
            if let Some(score) = pad {
                self.pad.push(score);
            }
        }
        // The challenge goes on whether or not the face has matched yet (rule 7).
        let prompt = match self.liveness {
            LivenessCheck::Off | LivenessCheck::Passive => None,
            LivenessCheck::Challenge(direction) => {
                let challenge = self.challenge.get_or_insert_with(|| {
                    Challenge::new(direction, ChallengeConfig::default(), now)
                });
                challenge.push(Some(face), now);
                if challenge.state() == ChallengeState::Passed && self.turned_at.is_none() {
                    self.turned_at = Some(now);
                }
                Some(challenge_prompt(challenge))
            }
        };
        if !self.votes.passed() {
            // Votes are counted until they pass; after, the frames must keep the matched
            // frames' embedding instead (a turned head need not match the gallery).
            let Some(verification) = verification else {
                return prompt.unwrap_or(Prompt::LookAtCamera);
            };
            self.votes.push(verification.accepted);
            if verification.accepted
                && let Some(probe) = probe
            {
                let sum = self.matched.get_or_insert_with(|| vec![0.0; probe.0.len()]);
                sum.iter_mut().zip(&probe.0).for_each(|(s, x)| *s += x);
            }
            self.last = Some(verification.clone());
            self.face = Some(face.clone());
            if !self.votes.passed() {
                return prompt.unwrap_or(Prompt::Matching {
                    verified: self.votes.verified(),
                    needed: self.votes.needed(),
                    similarity: verification.best,
                    matched: verification.accepted,
                });
            }
            self.matched_at = Some(now);
            // Fixed from here on: only frames before the votes add to the sum.
            self.anchor = self.matched.clone().map(Embedding::normalised);
            // The evidence taken so far must be the matched face's too.
            let pending = std::mem::take(&mut self.pending);
            if !pending.iter().all(|p| self.hold(p)) {
                return self.swapped();
            }
        }
        prompt.unwrap_or(Prompt::HoldOn)
    }

    /// A frame that is not the matched face: another face in its place, or this one's worst
    /// frame. The attempt starts over on it, so it must match the gallery itself.
    fn swapped(&mut self) -> Prompt {
        self.swapped = true;
        self.restart();
        Prompt::LookAtCamera
    }

    /// Whether a frame after the votes keeps the matched frames' embedding (at least the rule's
    /// `hold` cosine to their mean; a NaN does not). Without a matched probe (a caller that gave
    /// none) nothing is held, and [`Self::accepted`] refuses.
    fn hold(&mut self, probe: &Embedding) -> bool {
        let Some(anchor) = &self.anchor else {
            return false;
        };
        let similarity = anchor.cosine(probe);
        let held = similarity >= self.rule.hold;
        self.lowest_held = Some(self.lowest_held.map_or(similarity, |h| h.min(similarity)));
        if held {
            self.held = Some(self.held.map_or(similarity, |h| h.min(similarity)));
        }
        held
    }

    /// `Some(refusal)` to end now as refused, `None` to go on; an acceptance ends through
    /// [`Self::accepted`].
    fn finished(&mut self, now: Instant) -> Option<Option<Refusal>> {
        if self.accepted() {
            return Some(None);
        }
        if self.motion_passed() && self.pad_verdict() == Some(false) {
            // Motion and the turn say live, the texture says screen or print: a replayed video.
            return Some(Some(Refusal::Presentation));
        }
        if let Some(challenge) = &self.challenge {
            match challenge.state() {
                // The challenge runs before the face has matched (rule 7): a face that never
                // matched is refused as such, whatever it did with its head.
                ChallengeState::Failed(_) if !self.votes.passed() => {
                    return Some(Some(self.unmatched()));
                }
                ChallengeState::Failed(crate::liveness::challenge::Failure::TimedOut) => {
                    return Some(Some(self.liveness_refusal(Refusal::NoTurn)));
                }
                ChallengeState::Failed(crate::liveness::challenge::Failure::FaceChanged) => {
                    return Some(Some(Refusal::FaceChanged));
                }
                // The grace runs from the later of the turn and the match: the turn may come
                // first now (rule 7), and until the votes pass there is nothing to judge.
                ChallengeState::Passed if self.votes.passed() => {
                    let turned = *self.turned_at.get_or_insert(now);
                    let since = turned.max(self.matched_at.unwrap_or(turned));
                    if now.duration_since(since) >= PASSIVE_GRACE {
                        self.judged = self.passive.score();
                        return Some(Some(self.liveness_refusal(Refusal::NoMotion)));
                    }
                }
                _ => {}
            }
        }
        if now.duration_since(self.started) >= self.rule.timeout {
            let refusal = if self.votes.passed() {
                self.liveness_refusal(match self.liveness {
                    LivenessCheck::Challenge(_) => Refusal::NoTurn,
                    _ => Refusal::NoMotion,
                })
            } else {
                self.unmatched()
            };
            return Some(Some(refusal));
        }
        None
    }

    /// Why an attempt whose votes never passed is refused.
    fn unmatched(&self) -> Refusal {
        let lately_lost = self
            .matched_then_lost
            .is_some_and(|at| self.frames_with_face - at < self.rule.frames.n() as u64);
        if self.swapped || lately_lost {
            // It matched, then another face took its place and never matched itself.
            Refusal::FaceChanged
        } else if self.frames_with_face == 0 && self.crowded_frames > self.empty_frames {
            Refusal::ManyFaces
        } else if self.frames_with_face == 0 && self.dark_frames > 0 {
            Refusal::TooDark
        } else if self.frames_with_face == 0 {
            Refusal::NoFace
        } else {
            Refusal::NotRecognised
        }
    }

    /// Whether the motion checks (the passive score and, when asked, the turn) are met.
    fn motion_passed(&self) -> bool {
        match self.liveness {
            LivenessCheck::Off => false,
            LivenessCheck::Passive => self.judged.is_some_and(|s| s.live),
            LivenessCheck::Challenge(_) => {
                self.challenge
                    .as_ref()
                    .is_some_and(|c| c.state() == ChallengeState::Passed)
                    && self.passive.score().is_some_and(|s| s.live)
            }
        }
    }

    /// The texture model's verdict: true (passes, or no rule), false (fails), None (not enough
    /// frames scored yet).
    fn pad_verdict(&self) -> Option<bool> {
        match self.pad_rule {
            None => Some(true),
            Some(rule) => self.pad.live(&rule),
        }
    }

    /// The reason for a refusal with the votes passed: the texture model's when it failed (the
    /// more telling one for a screen or a print that also failed to move), else `motion`.
    fn liveness_refusal(&self, motion: Refusal) -> Refusal {
        if self.liveness != LivenessCheck::Off && self.pad_verdict() == Some(false) {
            Refusal::Presentation
        } else {
            motion
        }
    }

    fn accepted(&mut self) -> bool {
        if !self.votes.passed() {
            return false;
        }
        if self.liveness != LivenessCheck::Off
            && (self.pad_verdict() != Some(true) || self.held.is_none())
        {
            // Not before the texture has passed and a frame after the votes was the same face.
            return false;
        }
        match self.liveness {
            LivenessCheck::Off => true,
            LivenessCheck::Passive => self.judged.is_some_and(|s| s.live),
            LivenessCheck::Challenge(_) => {
                let turned = self
                    .challenge
                    .as_ref()
                    .is_some_and(|c| c.state() == ChallengeState::Passed);
                // The turn itself deforms the landmarks, so a live face scores live over the
                // frames around it; a photo turned in the hand does not. The window may have
                // been judged live before the votes passed (the turn came first): its frames
                // were held to the matched face when they passed, so it stands.
                let score = self.passive.score();
                if turned && score.is_some_and(|s| s.live) {
                    self.judged = score;
                    return true;
                }
                turned && self.judged.is_some_and(|s| s.live)
            }
        }
    }

    fn end(&mut self, refusal: Option<Refusal>, now: Instant) -> Step {
        let outcome = Outcome {
            person: self.person.clone(),
            accepted: refusal.is_none(),
            refusal,
            last: self.last.clone(),
            face: self.face.clone(),
            liveness: self.judged.or_else(|| self.passive.score()),
            pad: self.pad_score(),
            pad_rule: self.pad_rule,
            held: self.lowest_held,
            frames: self.frames,
            dark_frames: self.dark_frames,
            frames_with_face: self.frames_with_face,
            seconds: now.duration_since(self.started).as_secs_f32(),
            matched_s: self.since_start(self.matched_at),
            turned_s: self.since_start(self.turned_at),
        };
        self.outcome = Some(outcome.clone());
        Step::Done(outcome)
    }
}

impl Attempt {
    fn since_start(&self, at: Option<Instant>) -> Option<f32> {
        at.map(|t| t.duration_since(self.started).as_secs_f32())
    }
}

fn challenge_prompt(challenge: &Challenge) -> Prompt {
    match challenge.state() {
        ChallengeState::Baseline => Prompt::HoldStill,
        ChallengeState::Turning { progress } => Prompt::Turn {
            direction: challenge.direction(),
            progress,
        },
        ChallengeState::Passed | ChallengeState::Failed(_) => Prompt::HoldOn,
    }
}

#[cfg(test)]
mod tests;
