//! Repeated failures lock a person's face verification, for longer each time: 5 failures with no
//! success between lock it for 30 s, the next 5 for 2 min, the next for 10 min, and after that face
//! verification stays off until it is reset (`facegate user reset` on the desk, `facegate unlock
//! reset` for system unlock); the password works all along. It slows down an impostor trying
//! photo after photo, and a patient one stops for good. The price: anyone who can start attempts
//! for an account (the account's own sessions, the login screen at the desk; not another user's
//! `su`, which the unlock daemon refuses) and show the camera a face can turn its face unlock
//! off, never its password; an attempt that compared no face is taken back
//! ([`Ended::Unjudged`]). Kept on disk so separate CLI calls (e.g. from PAM) share it; every change is a locked
//! read-modify-write in the store, and an attempt counts as failed from the moment it starts.
//! While it may still run, that failure is provisional to anyone who only looks at the record
//! (a second request, `unlock list`, the window): only a new attempt counts it, so attempts
//! begun at once share five tries, and a look never locks on an attempt later taken back.
//!
//! Taking those back must not make them free: each keeps the camera on for the whole time-out,
//! and its answer ("no face in view", "more than one person") tells whoever asked, from
//! anywhere, whether someone sits at the desk. So [`UNSEEN_LIMIT`] live attempts that
//! judged no face (each within [`UNSEEN_GAP`] of the one before, with no success between) pause
//! face verification for [`PAUSE`]: the account's owner running their own attempts in a loop,
//! or a lock screen that retries at an empty desk, turns the camera on for at most 5 time-outs,
//! then not for 5 minutes. That slows the presence question to about 60 answers an hour; it
//! does not end it, since the first prompt already answers it. A pause does not grow (a user
//! back at the desk must not find face unlock off for long) and counts nothing toward a
//! lock-out; a success ends it. A photo without a face starts none: it turns no camera on.

use crate::hint::FACEGATE;
use serde::{Deserialize, Serialize};

pub const MAX_FAILURES: u32 = 5;
/// Lock periods in seconds, one after another; after the last, verification stays off.
pub const LOCK_STEPS: [u64; 3] = [30, 120, 600];
/// Live attempts that judged no face (with no success between) before verification pauses.
pub const UNSEEN_LIMIT: u32 = 5;
/// Seconds after which a live attempt that judged no face no longer follows the one before: a
/// lock screen woken at an empty desk now and then never pauses.
pub const UNSEEN_GAP: u64 = 600;
/// Seconds a pause lasts.
pub const PAUSE: u64 = 300;
pub const STATE_FILE: &str = "lockout.json";

/// Why attempts are refused now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// For this many more seconds.
    For(u64),
    /// Until it is reset (`facegate user reset`, `facegate unlock reset`).
    UntilReset,
    /// Paused for this many more seconds after [`UNSEEN_LIMIT`] live attempts saw no
    /// face to judge.
    Paused(u64),
    /// Its record cannot be read (damaged, not a file): locked until it is reset, since a
    /// lock-out that read as none would fail open; said as what it is, not as lock-outs that
    /// never happened.
    Unreadable,
    /// Another attempt still running would make this one the fifth before a lock: refused
    /// until it ends, with no lock started on its failure, which may yet be taken back (red
    /// team retest, session 28: the owner's own photo started a lock so). It ends within this
    /// many seconds, when one that never ended (a window or command killed) counts as failed.
    Running(u64),
}

/// A lock as every `--json` listing gives it (`user list`, `user show`, `unlock list`): a word a
/// script can test, the seconds left where it ends on its own, the listing's words, and the
/// command that lifts it. The desk's lists carried only the words, a countdown inside prose
/// (final read s39 F7).
#[derive(Debug, Clone, Serialize)]
pub struct LockShown {
    /// locked_out, paused, locked_until_reset, unreadable or held (another attempt runs).
    pub kind: &'static str,
    pub seconds_left: Option<u64>,
    pub says: String,
    pub remedy: String,
}

impl Lock {
    /// As [`LockShown`], with the command that lifts it where it is listed.
    pub fn shown(&self, remedy: String) -> LockShown {
        let (kind, seconds_left) = match *self {
            Lock::For(s) => ("locked_out", Some(s)),
            Lock::Paused(s) => ("paused", Some(s)),
            Lock::UntilReset => ("locked_until_reset", None),
            Lock::Unreadable => ("unreadable", None),
            Lock::Running(s) => ("held", Some(s)),
        };
        LockShown {
            kind,
            seconds_left,
            says: self.brief(),
            remedy,
        }
    }

    /// What holds, in a few words, for a listing (`unlock list`).
    pub fn brief(&self) -> String {
        match self {
            Lock::For(s) => format!("locked out for {s} more s"),
            Lock::Paused(s) => format!("paused for {s} more s"),
            Lock::UntilReset => "locked out until reset".into(),
            Lock::Unreadable => "locked out (its record cannot be read)".into(),
            Lock::Running(s) => format!("held while another attempt runs, for at most {s} more s"),
        }
    }
}

impl std::fmt::Display for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lock::For(_) => write!(f, "{} after repeated failed verifications", self.brief()),
            Lock::Paused(_) => write!(
                f,
                "{} after {UNSEEN_LIMIT} attempts with no face to judge since the last success; use your password",
                self.brief()
            ),
            Lock::UntilReset => write!(
                f,
                "locked out after {} lock-outs in a row: use your password; face verification stays off until it is reset (`{FACEGATE} user reset`, or `facegate unlock reset` for system unlock)",
                LOCK_STEPS.len()
            ),
            // "Try again when it ends" gave no time, with the window that ran it long gone
            // (journey s36 #2).
            Lock::Running(_) => write!(
                f,
                "{}: with it, {MAX_FAILURES} failed attempts would be under way since the last \
                 success; try again when it ends (one that never ends counts as failed then)",
                self.brief()
            ),
            Lock::Unreadable => write!(
                f,
                "locked out: the record of failed attempts cannot be read, so face verification stays off until it is reset (`{FACEGATE} user reset`, or `facegate unlock reset` for system unlock); use your password",
            ),
        }
    }
}

/// Where an attempt's face came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A camera or a replay, frame after frame.
    Live,
    /// One photo.
    Photo,
}

impl Channel {
    /// As the audit log names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Live => "live",
            Channel::Photo => "photo",
        }
    }
}

/// How an attempt counted by [`Lockout::begin`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Accepted,
    Refused,
    /// Refused without a face ever compared (none in view, too dark, two people at once): taken
    /// back. An impostor learns nothing from it, and counting it would let a lock screen woken
    /// with nobody at the desk, or a camera another user turned dark, lock the owner out.
    Unjudged,
    /// Its frames stopped before any face was compared (a camera unplugged, switched off or
    /// stalled part-way): taken back, and no sign that nobody was there, so no step toward a
    /// pause either. Otherwise anyone at the desk could lock an account's face unlock by pulling
    /// the cable, and a loose one would do it unseen.
    CutShort,
}

/// Why an attempt ended before its verdict ([`Ended::early`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Early {
    /// Whoever asked is gone, or moved on (the window switched views, the PAM client left).
    Abandoned,
    /// No more frames came (the camera was unplugged, switched off or stalled), or the models
    /// failed on one: the machine's failure, not the face's.
    FramesStopped,
}

impl Ended {
    /// How an attempt ended that was `accepted` or not, having `compared` a face or not: the one
    /// rule for live attempts and photos that reach a verdict.
    pub fn of(accepted: bool, compared: bool) -> Ended {
        match (accepted, compared) {
            (true, _) => Ended::Accepted,
            (false, true) => Ended::Refused,
            (false, false) => Ended::Unjudged,
        }
    }

    /// How an attempt begun and not finished settles, having `compared` a face or not: the one
    /// rule for every way an attempt stops short (a hang-up, a view left, an unplugged camera,
    /// a model that failed on a frame or a photo).
    ///
    /// Once a face was compared, a refusal whatever the reason, whether or not it matched: the
    /// match comes before the liveness checks, so taking back an attempt ended after a match
    /// would let a photo or a replay retry the head turn without limit by hanging up or pulling
    /// the cable (read-through, session 28); a client that cannot show the prompts leaves
    /// before the attempt begins instead (the daemon's moment for a hang-up). Before that, one
    /// its caller gave up on judged no face ([`Ended::Unjudged`], a step toward a pause:
    /// hanging up at once is still asking), and one whose frames stopped is taken back whole
    /// ([`Ended::CutShort`]).
    pub fn early(compared: bool, why: Early) -> Ended {
        match why {
            _ if compared => Ended::Refused,
            Early::Abandoned => Ended::Unjudged,
            Early::FramesStopped => Ended::CutShort,
        }
    }

    pub fn accepted(self) -> bool {
        self == Ended::Accepted
    }

    /// As the audit log says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Accepted => "accepted",
            Ended::Refused => "refused",
            Ended::Unjudged => "no face judged",
            Ended::CutShort => "cut short",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lockout {
    pub consecutive_failures: u32,
    /// Unix seconds until which attempts are refused.
    pub locked_until: Option<u64>,
    /// Lock periods since the last success.
    #[serde(default)]
    pub locks: u32,
    /// Live attempts that judged no face since the last success or pause (a refusal between
    /// does not start the count again: a face shown now and then must not reset it).
    #[serde(default)]
    pub unseen: u32,
    /// Unix seconds when the last of them ended.
    #[serde(default)]
    pub last_unseen: Option<u64>,
    /// Unix seconds until which attempts are paused.
    #[serde(default)]
    pub paused_until: Option<u64>,
    /// Attempts begun and not yet settled (each counted in `consecutive_failures` meanwhile),
    /// and when the first of those overlapping began: while they may still run, someone only
    /// looking at the record must not start a lock from their provisional failures. (Attempts
    /// that keep overlapping for longer than [`RUNNING_AT_MOST`] are then all taken as killed:
    /// more locks, never more tries.)
    #[serde(default)]
    pub running: u32,
    #[serde(default)]
    pub running_since: Option<u64>,
}

/// Seconds after its start by which any attempt has ended: twice the longest time-out a rule
/// may have (`facegate_proto::DESK_MAX_TIMEOUT_S`, above the system's), for a slow frame. One
/// not settled by then was killed part-way, and its failure stands.
pub const RUNNING_AT_MOST: u64 = 2 * facegate_proto::DESK_MAX_TIMEOUT_S as u64;

/// What [`Lockout::begin_noted`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begun {
    /// The lock that keeps the attempt out, if one does; otherwise it counts.
    pub refused: Option<Lock>,
    /// The lock it started, if it did.
    pub started: Option<Lock>,
}

impl Lockout {
    /// The lock in force at `now` (unix seconds), if any. A stored time is never trusted beyond
    /// the longest period: a forged `locked_until` cannot lock anyone out for 1e19 s.
    pub fn lock(&self, now: u64) -> Option<Lock> {
        if self.locks as usize > LOCK_STEPS.len() {
            return Some(Lock::UntilReset);
        }
        let longest = LOCK_STEPS[LOCK_STEPS.len() - 1];
        let locked = self
            .locked_until
            .filter(|&t| t > now)
            .map(|t| Lock::For((t - now).min(longest)));
        let paused = || {
            self.paused_until
                .filter(|&t| t > now)
                .map(|t| Lock::Paused((t - now).min(PAUSE)))
        };
        locked.or_else(paused)
    }

    /// A lock set while the clock ran ahead (or written by hand) is brought to end at most the
    /// longest period from `now`, as [`Lockout::lock`] already reports it, instead of whenever
    /// the clock reaches it. Whether it changed (then it is written back).
    pub fn bound(&mut self, now: u64) -> bool {
        let latest = now.saturating_add(LOCK_STEPS[LOCK_STEPS.len() - 1]);
        let locked = self.locked_until.map(|t| t.min(latest));
        let paused = self.paused_until.map(|t| t.min(now.saturating_add(PAUSE)));
        // Attempts running since the future (a forged record, a clock stepped back) would pass
        // for running for ever, and more running than failures counted cannot be.
        let since = self.running_since.map(|t| t.min(now));
        let running = self.running.min(self.consecutive_failures);
        let changed = (locked, paused, since, running)
            != (
                self.locked_until,
                self.paused_until,
                self.running_since,
                self.running,
            );
        (self.locked_until, self.paused_until) = (locked, paused);
        (self.running_since, self.running) = (since, running);
        changed
    }

    /// Starts the lock that failures never settled (attempts killed part-way) have piled up
    /// to, if none is in force: whether it did. Whoever looks at the record before an attempt
    /// (the daemon, the window, `unlock list`) writes it back, so the lock counts down from
    /// then; worked out and not kept, it said "30 more s" for ever. Attempts that may still be
    /// running are left out: one short of a lock, an attempt that would be taken back (no face
    /// in view) locked the account as soon as anything looked, a second request or the
    /// admin's `unlock list` (red team, session 28). The lock started, where one did: whoever
    /// starts it logs it.
    pub fn start_pending(&mut self, now: u64) -> Option<Lock> {
        let running = self.still_running(now);
        self.start_lock_if(self.consecutive_failures.saturating_sub(running), now)
    }

    /// Attempts recorded as running whose process is known to be gone (the daemon, which alone
    /// begins attempts on its store, started again): taken as killed at once, their failures
    /// standing, rather than held for up to [`RUNNING_AT_MOST`] as if they might still end.
    /// How many there were, and the lock their failures started.
    pub fn end_killed(&mut self, now: u64) -> (u32, Option<Lock>) {
        let killed = self.running;
        if killed == 0 {
            return (0, None);
        }
        self.running = 0;
        self.running_since = None;
        (killed, self.start_pending(now))
    }

    /// What keeps an attempt out at `now`: [`Lockout::lock`], or attempts still running that an
    /// attempt begun now would have to wait for ([`Lock::Running`]). For whoever looks without
    /// beginning one (`identify`, `unlock list`, the daemon's gate, `user reset`): the hold
    /// read as no lock at all there, while `verify` was refused on it (journey s36 #2).
    pub fn held(&self, now: u64) -> Option<Lock> {
        // An attempt begun on a copy: the one rule that admits attempts, counting nothing.
        self.clone().begin_noted(now).refused
    }

    /// Seconds until the attempts running are all taken as killed.
    fn running_left(&self, now: u64) -> u64 {
        self.running_since
            .map_or(0, |t| t.saturating_add(RUNNING_AT_MOST).saturating_sub(now))
    }

    /// The attempts begun and not settled, while the oldest of them began within
    /// [`RUNNING_AT_MOST`]; after that, all are taken as killed.
    fn still_running(&self, now: u64) -> u32 {
        match self.running_since {
            Some(t) if now.saturating_sub(t) <= RUNNING_AT_MOST => self.running,
            _ => 0,
        }
    }

    fn start_lock_if(&mut self, failures: u32, now: u64) -> Option<Lock> {
        if self.lock(now).is_some() || failures < MAX_FAILURES {
            return None;
        }
        self.start_lock(now);
        self.lock(now)
    }

    /// An attempt starts: refused while locked; otherwise counted as a failure until
    /// [`Lockout::settle`] says otherwise, so an attempt killed part-way counts. A new attempt
    /// counts those still running too (ten begun at once get five tries between them, not
    /// ten), but starts no lock on them: it is refused with [`Lock::Running`] until they end.
    /// `running_since` is when the first of those overlapping began.
    pub fn begin(&mut self, now: u64) -> Option<Lock> {
        self.begin_noted(now).refused
    }

    /// [`Lockout::begin`], saying too the lock it started, if it did (on attempts that never
    /// ended), for whoever logs it.
    pub fn begin_noted(&mut self, now: u64) -> Begun {
        self.bound(now);
        if self.still_running(now) == 0 {
            // Killed part-way: their failures stand, and nothing runs any more.
            self.running = 0;
        }
        let started = self.start_pending(now);
        let refused = self.admit(now);
        Begun { refused, started }
    }

    /// Counts an attempt in, or the lock that keeps it out.
    fn admit(&mut self, now: u64) -> Option<Lock> {
        if let Some(lock) = self.lock(now) {
            return Some(lock);
        }
        if self.consecutive_failures >= MAX_FAILURES {
            // Those running make five: none more until they end, and no lock on them yet.
            return Some(Lock::Running(self.running_left(now)));
        }
        // Saturating: the count comes from a file, and a damaged one must not panic the check.
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.running == 0 {
            self.running_since = Some(now);
        }
        self.running = self.running.saturating_add(1);
        None
    }

    /// An attempt begun with [`Lockout::begin`] ended: the lock-out or pause that started, if
    /// one did.
    pub fn settle(&mut self, ended: Ended, channel: Channel, now: u64) -> Option<Lock> {
        self.running = self.running.saturating_sub(1);
        if self.running == 0 {
            self.running_since = None;
        }
        match ended {
            Ended::Accepted => *self = Lockout::default(),
            // Those still running are not failures yet, here as for a look at the record.
            Ended::Refused => return self.start_pending(now),
            Ended::Unjudged => {
                self.consecutive_failures = self.consecutive_failures.saturating_sub(1);
                if channel == Channel::Live && self.saw_nobody(now) {
                    return self.lock(now);
                }
            }
            Ended::CutShort => {
                self.consecutive_failures = self.consecutive_failures.saturating_sub(1);
            }
        }
        None
    }

    /// Begins and settles a one-shot attempt (the tests' shorthand: the engine begins an
    /// attempt when it starts and settles it when it ends).
    #[cfg(test)]
    fn record(&mut self, ended: Ended, channel: Channel, now: u64) {
        if self.begin(now).is_none() {
            self.settle(ended, channel, now);
        }
    }

    /// Counts a live attempt that judged no face: whether it started a pause.
    fn saw_nobody(&mut self, now: u64) -> bool {
        let follows = self
            .last_unseen
            .is_some_and(|t| now.saturating_sub(t) <= UNSEEN_GAP);
        self.unseen = if follows {
            self.unseen.saturating_add(1)
        } else {
            1
        };
        self.last_unseen = Some(now);
        let pause = self.unseen >= UNSEEN_LIMIT;
        if pause {
            self.unseen = 0;
            self.paused_until = Some(now.saturating_add(PAUSE));
        }
        pause
    }

    fn start_lock(&mut self, now: u64) {
        self.locks = self.locks.saturating_add(1);
        self.consecutive_failures = 0;
        self.locked_until = LOCK_STEPS
            .get(self.locks as usize - 1)
            .map(|s| now.saturating_add(*s));
        if self.locked_until.is_none() {
            // Past the last step: off until a reset.
            self.locks = LOCK_STEPS.len() as u32 + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_thirty_seconds_and_success_resets() {
        let mut l = Lockout::default();
        for _ in 0..4 {
            l.record(Ended::Refused, Channel::Live, 100);
        }
        assert_eq!(l.lock(100), None);
        l.record(Ended::Accepted, Channel::Live, 100);
        assert_eq!(l.consecutive_failures, 0);
        for _ in 0..5 {
            l.record(Ended::Refused, Channel::Live, 200);
        }
        assert_eq!(l.lock(200), Some(Lock::For(30)));
        assert_eq!(l.lock(229), Some(Lock::For(1)));
        assert_eq!(l.lock(230), None);
    }

    /// Five attempts begun and never settled (killed part-way): the next one is refused, and
    /// once they cannot be running any more, a look at the record starts their lock (the
    /// daemon looks before it turns the camera on).
    #[test]
    fn unsettled_attempts_are_refused_before_the_next_begins() {
        let mut l = Lockout::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.begin(100), None);
        }
        assert_eq!(l.lock(100), None, "no lock in force yet");
        let mut looked = l.clone();
        assert_eq!(looked.start_pending(100), None, "they may still be running");
        assert_eq!(
            l.clone().begin(100),
            Some(Lock::Running(RUNNING_AT_MOST)),
            "a sixth counts them"
        );
        assert_eq!(l.held(110), Some(Lock::Running(RUNNING_AT_MOST - 10)));
        let killed = 100 + RUNNING_AT_MOST + 1;
        // An attempt begun once they cannot be running starts their lock, says so (its log
        // line), and is refused on it; the next is refused on it and starts nothing.
        let mut next = l.clone();
        let started = Some(Lock::For(30));
        assert_eq!(
            next.begin_noted(killed),
            Begun {
                refused: started,
                started
            }
        );
        assert_eq!(
            next.begin_noted(killed + 1),
            Begun {
                refused: Some(Lock::For(29)),
                started: None
            }
        );
        assert_eq!(looked.start_pending(killed), Some(Lock::For(30)));
        assert_eq!(looked.lock(killed), Some(Lock::For(30)));
        // Started when looked at, it counts down and ends (it was worked out afresh each time,
        // "30 more s" for ever).
        assert_eq!(looked.lock(killed + 29), Some(Lock::For(1)));
        assert_eq!(looked.start_pending(killed + 30), None);
        assert_eq!(looked.lock(killed + 30), None);
        assert_eq!(looked.begin(killed + 30), None, "the next attempt starts");
    }

    /// One failure short of a lock, an attempt under way is not a failure to anyone who only
    /// looks (a second request, `unlock list`): taken back when it sees no face, it leaves no
    /// lock and no step up the ladder (red team, session 28: R2).
    #[test]
    fn a_look_during_an_attempt_does_not_lock_on_its_provisional_failure() {
        let mut l = Lockout::default();
        for _ in 0..MAX_FAILURES - 1 {
            l.record(Ended::Refused, Channel::Live, 100);
        }
        assert_eq!(l.begin(200), None);
        assert_eq!(l.start_pending(205), None, "looked at while it runs");
        assert_eq!(l.lock(205), None);
        l.settle(Ended::Unjudged, Channel::Live, 210);
        assert_eq!(l.lock(210), None);
        assert_eq!((l.consecutive_failures, l.locks, l.running), (4, 0, 0));
        // Three failures and two attempts at once (the desk's own, say): the one refused first
        // is the fourth failure while the other runs, and the other, taken back, locks nothing.
        l = Lockout::default();
        for _ in 0..MAX_FAILURES - 2 {
            l.record(Ended::Refused, Channel::Live, 100);
        }
        assert_eq!(l.begin(300), None);
        assert_eq!(l.begin(301), None);
        l.settle(Ended::Refused, Channel::Live, 305);
        assert_eq!(l.lock(305), None, "the other may still be taken back");
        let mut other_failed = l.clone();
        l.settle(Ended::Unjudged, Channel::Live, 306);
        assert_eq!(
            (l.lock(306), l.consecutive_failures, l.running),
            (None, 4, 0)
        );
        // Refused too, it is the fifth.
        other_failed.settle(Ended::Refused, Channel::Live, 306);
        assert_eq!(other_failed.lock(306), Some(Lock::For(30)));
        // A new attempt counts those running: five tries between attempts begun at once.
        let mut l = Lockout::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.begin(400), None);
        }
        assert_eq!(
            l.begin(400),
            Some(Lock::Running(RUNNING_AT_MOST)),
            "refused, no lock started"
        );
        assert_eq!(l.lock(400), None);
    }

    #[test]
    fn lock_periods_grow_then_verification_stays_off_until_a_reset() {
        let mut l = Lockout::default();
        let mut now = 1000;
        let mut seen = Vec::new();
        for _ in 0..4 {
            for _ in 0..MAX_FAILURES {
                l.record(Ended::Refused, Channel::Live, now);
            }
            seen.push(l.lock(now));
            now += 10_000;
        }
        println!("{seen:?}");
        assert_eq!(
            seen,
            [
                Some(Lock::For(30)),
                Some(Lock::For(120)),
                Some(Lock::For(600)),
                Some(Lock::UntilReset)
            ]
        );
        assert_eq!(l.lock(now + 1_000_000), Some(Lock::UntilReset));
        assert_eq!(l.begin(now), Some(Lock::UntilReset), "no attempt starts");
    }

    #[test]
    fn an_attempt_stopped_short_counts_once_a_face_was_compared() {
        for why in [Early::Abandoned, Early::FramesStopped] {
            assert_eq!(Ended::early(true, why), Ended::Refused, "{why:?}");
        }
        assert_eq!(Ended::early(false, Early::Abandoned), Ended::Unjudged);
        assert_eq!(Ended::early(false, Early::FramesStopped), Ended::CutShort);
    }

    #[test]
    fn a_damaged_count_locks_instead_of_panicking() {
        // Found with the store_load fuzz target: this count overflowed on the next failure.
        let mut l: Lockout =
            serde_json::from_str(r#"{"consecutive_failures":4294967295}"#).unwrap();
        l.record(Ended::Refused, Channel::Live, 100);
        assert_eq!(l.lock(100), Some(Lock::For(LOCK_STEPS[0])));
    }

    #[test]
    fn a_forged_lock_time_is_bounded() {
        let mut l: Lockout = serde_json::from_str(
            r#"{"consecutive_failures":0,"locked_until":18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(l.lock(100), Some(Lock::For(600)));
        // The next attempt's start writes the bound back, so the lock ends 600 s later rather
        // than whenever the clock reaches the stored time.
        assert_eq!(l.begin(100), Some(Lock::For(600)));
        assert_eq!(l.lock(699), Some(Lock::For(1)));
        assert_eq!(l.begin(700), None, "over at 700");
    }

    /// An attempt that never compared a face (a photo without one) is taken back: any number of
    /// them lock nothing, and they do not eat into the failures before one.
    #[test]
    fn attempts_that_judged_no_face_are_taken_back() {
        let mut l = Lockout::default();
        l.record(Ended::Refused, Channel::Live, 100);
        for _ in 0..3 * MAX_FAILURES {
            l.record(Ended::Unjudged, Channel::Photo, 100);
        }
        assert_eq!(l.consecutive_failures, 1);
        assert_eq!(l.lock(100), None);
        for _ in 1..MAX_FAILURES {
            l.record(Ended::Refused, Channel::Live, 100);
        }
        assert_eq!(
            l.lock(100),
            Some(Lock::For(30)),
            "the real failures still lock"
        );
    }

    /// Live attempts that judged no face in a row pause verification at the fifth, before any
    /// camera turns on again; the pause counts nothing toward a lock-out and ends on its own.
    #[test]
    fn live_attempts_that_see_nobody_pause_verification() {
        let mut l = Lockout::default();
        let mut now = 1000;
        for _ in 1..UNSEEN_LIMIT {
            l.record(Ended::Unjudged, Channel::Live, now);
            assert_eq!(l.lock(now), None);
            now += 60;
        }
        l.record(Ended::Unjudged, Channel::Live, now);
        assert_eq!(l.lock(now), Some(Lock::Paused(PAUSE)));
        assert_eq!(l.begin(now + PAUSE - 1), Some(Lock::Paused(1)));
        assert_eq!(l.consecutive_failures, 0, "nothing toward a lock-out");
        assert_eq!(l.begin(now + PAUSE), None, "over after {PAUSE} s");
        // The success after it started no pause (a stale end time once read as one).
        assert_eq!(l.settle(Ended::Accepted, Channel::Live, now + PAUSE), None);
        let mut l = Lockout::default();
        let started: Vec<Option<Lock>> = (0..UNSEEN_LIMIT)
            .map(|_| {
                l.begin(1000);
                l.settle(Ended::Unjudged, Channel::Live, 1000)
            })
            .collect();
        assert_eq!(started.iter().flatten().count(), 1);
        assert_eq!(
            started[UNSEEN_LIMIT as usize - 1],
            Some(Lock::Paused(PAUSE)),
            "the fifth starts it"
        );
        println!("{}", Lock::Paused(PAUSE));

        // Far apart (a lock screen woken at an empty desk now and then), they never pause.
        let mut l = Lockout::default();
        for i in 0..3 * UNSEEN_LIMIT as u64 {
            l.record(Ended::Unjudged, Channel::Live, 1000 + i * (UNSEEN_GAP + 1));
        }
        assert_eq!(l.lock(100_000), None);

        // A success starts the count again; failures do not.
        let mut l = Lockout::default();
        for _ in 1..UNSEEN_LIMIT {
            l.record(Ended::Unjudged, Channel::Live, 1000);
        }
        l.record(Ended::Accepted, Channel::Live, 1000);
        l.record(Ended::Unjudged, Channel::Live, 1000);
        assert_eq!(l.lock(1000), None);
        for _ in 2..UNSEEN_LIMIT {
            l.record(Ended::Unjudged, Channel::Live, 1000);
        }
        l.record(Ended::Refused, Channel::Live, 1000);
        l.record(Ended::Unjudged, Channel::Live, 1000);
        assert_eq!(l.lock(1000), Some(Lock::Paused(PAUSE)));
    }

    #[test]
    fn a_forged_pause_is_bounded() {
        let mut l: Lockout = serde_json::from_str(
            r#"{"consecutive_failures":0,"paused_until":18446744073709551615}"#,
        )
        .unwrap();
        assert_eq!(l.lock(100), Some(Lock::Paused(PAUSE)));
        assert!(l.bound(100));
        assert_eq!(l.begin(100 + PAUSE), None);
    }

    /// Attempts the daemon finds running as it starts are its own, killed: their failures
    /// lock at once, not after they might have ended (review s36 #1).
    #[test]
    fn attempts_left_running_by_a_stopped_daemon_count_at_once() {
        let mut l = Lockout::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.begin(100), None);
        }
        assert_eq!(l.held(101), Some(Lock::Running(RUNNING_AT_MOST - 1)));
        assert_eq!(l.end_killed(101), (MAX_FAILURES, Some(Lock::For(30))));
        assert_eq!(l.held(101), Some(Lock::For(30)));
        assert_eq!(l.end_killed(102), (0, None), "none left");
    }

    #[test]
    fn attempts_that_never_settle_still_lock() {
        let mut l = Lockout::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.begin(100), None);
        }
        assert_eq!(
            l.begin(100),
            Some(Lock::Running(RUNNING_AT_MOST)),
            "the sixth start is refused while they may run"
        );
        // Killed (not settled within RUNNING_AT_MOST): their failures lock.
        assert_eq!(l.begin(101 + RUNNING_AT_MOST), Some(Lock::For(30)));
    }

    /// A killed attempt is not taken for running for ever: from the oldest begin, not the
    /// latest, and never from the future (red team retest, session 28: N4).
    #[test]
    fn running_attempts_are_counted_from_the_oldest_and_never_from_the_future() {
        let mut l = Lockout::default();
        assert_eq!(l.begin(100), None); // killed: never settled
        for t in [150, 200] {
            assert_eq!(l.begin(t), None);
            l.settle(Ended::Refused, Channel::Photo, t);
        }
        assert_eq!(l.running_since, Some(100), "the oldest");
        let mut forged: Lockout = serde_json::from_str(
            r#"{"consecutive_failures":5,"locked_until":null,"running":4294967295,"running_since":18446744073709551615}"#,
        )
        .unwrap();
        assert!(forged.bound(1000));
        assert_eq!((forged.running, forged.running_since), (5, Some(1000)));
        assert!(forged.start_pending(1001 + RUNNING_AT_MOST).is_some());
        assert_eq!(forged.lock(1001 + RUNNING_AT_MOST), Some(Lock::For(30)));
    }
}
