//! After [`MAX_FAILURES`] consecutive rejections a person's verification is refused for
//! [`LOCK_SECONDS`]: it slows down an impostor trying photo after photo. Kept on disk so separate
//! CLI calls (e.g. from PAM) share it.

use serde::{Deserialize, Serialize};

pub const MAX_FAILURES: u32 = 5;
pub const LOCK_SECONDS: u64 = 30;
pub const STATE_FILE: &str = "lockout.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lockout {
    pub consecutive_failures: u32,
    /// Unix seconds until which attempts are refused.
    pub locked_until: Option<u64>,
}

impl Lockout {
    /// Seconds left on the lock at `now` (unix seconds), if locked.
    pub fn remaining(&self, now: u64) -> Option<u64> {
        self.locked_until.filter(|&t| t > now).map(|t| t - now)
    }

    /// An attempt starts: refused with the seconds left while locked; otherwise counted as a
    /// failure until [`Lockout::settle`] says otherwise, so an attempt killed part-way counts.
    pub fn begin(&mut self, now: u64) -> Option<u64> {
        if let Some(seconds) = self.remaining(now) {
            return Some(seconds);
        }
        if self.consecutive_failures >= MAX_FAILURES {
            // Attempts that never settled (killed) piled up to the limit.
            self.lock(now);
            return self.remaining(now);
        }
        // Saturating: the count comes from a file, and a damaged one must not panic the check.
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        None
    }

    /// An attempt begun with [`Lockout::begin`] ended.
    pub fn settle(&mut self, accepted: bool, now: u64) {
        if accepted {
            *self = Lockout::default();
        } else if self.consecutive_failures >= MAX_FAILURES {
            self.lock(now);
        }
    }

    /// Begins and settles a one-shot attempt.
    pub fn record(&mut self, accepted: bool, now: u64) {
        if self.begin(now).is_none() {
            self.settle(accepted, now);
        }
    }

    fn lock(&mut self, now: u64) {
        self.locked_until = Some(now + LOCK_SECONDS);
        self.consecutive_failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_thirty_seconds_and_success_resets() {
        let mut l = Lockout::default();
        for _ in 0..4 {
            l.record(false, 100);
        }
        assert_eq!(l.remaining(100), None);
        l.record(true, 100);
        assert_eq!(l.consecutive_failures, 0);
        for _ in 0..5 {
            l.record(false, 200);
        }
        assert_eq!(l.remaining(200), Some(30));
        assert_eq!(l.remaining(229), Some(1));
        assert_eq!(l.remaining(230), None);
    }

    #[test]
    fn a_damaged_count_locks_instead_of_panicking() {
        // Found with the store_load fuzz target: this count overflowed on the next failure.
        let mut l: Lockout =
            serde_json::from_str(r#"{"consecutive_failures":4294967295}"#).unwrap();
        l.record(false, 100);
        assert_eq!(l.remaining(100), Some(LOCK_SECONDS));
    }

    #[test]
    fn attempts_that_never_settle_still_lock() {
        let mut l = Lockout::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(l.begin(100), None);
        }
        assert_eq!(
            l.begin(100),
            Some(LOCK_SECONDS),
            "the sixth start is refused"
        );
    }
}
