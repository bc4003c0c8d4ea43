//! The live rule: accept when K of the last N analysed frames verify, within a time-out. One
//! lucky frame never unlocks, and a person who looks away briefly is not thrown out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveRule {
    pub k: usize,
    pub n: usize,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    Pending,
    Accepted,
    TimedOut,
}

#[derive(Debug, Clone)]
pub struct LiveSession {
    rule: LiveRule,
    recent: VecDeque<bool>,
    started: Instant,
    state: LiveState,
}

impl LiveSession {
    pub fn new(rule: LiveRule, now: Instant) -> LiveSession {
        LiveSession {
            rule,
            recent: VecDeque::with_capacity(rule.n),
            started: now,
            state: LiveState::Pending,
        }
    }

    /// Records one frame's verdict (`None`: no usable face in it) and returns the state.
    pub fn push(&mut self, verified: Option<bool>, now: Instant) -> LiveState {
        if self.state != LiveState::Pending {
            return self.state;
        }
        if let Some(v) = verified {
            if self.recent.len() == self.rule.n {
                self.recent.pop_front();
            }
            self.recent.push_back(v);
        }
        if self.recent.iter().filter(|v| **v).count() >= self.rule.k {
            self.state = LiveState::Accepted;
        } else if now.duration_since(self.started) >= self.rule.timeout {
            self.state = LiveState::TimedOut;
        }
        self.state
    }

    pub fn state(&self) -> LiveState {
        self.state
    }

    /// (verified frames in the window, frames in the window).
    pub fn progress(&self) -> (usize, usize) {
        (
            self.recent.iter().filter(|v| **v).count(),
            self.recent.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_of_last_n_and_timeout() {
        let t0 = Instant::now();
        let rule = LiveRule {
            k: 3,
            n: 5,
            timeout: Duration::from_secs(10),
        };
        let mut s = LiveSession::new(rule, t0);
        let ms = |m| t0 + Duration::from_millis(m);
        for (i, v) in [true, false, true, false].into_iter().enumerate() {
            assert_eq!(s.push(Some(v), ms(i as u64 * 100)), LiveState::Pending);
        }
        assert_eq!(s.push(None, ms(450)), LiveState::Pending);
        assert_eq!(s.push(Some(true), ms(500)), LiveState::Accepted);

        let mut s = LiveSession::new(rule, t0);
        // Old successes slide out of the window of 5.
        for v in [true, true, false, false, false, false, true] {
            s.push(Some(v), ms(100));
        }
        assert_eq!(s.state(), LiveState::Pending);
        assert_eq!(s.push(Some(false), ms(10_000)), LiveState::TimedOut);
    }
}
