//! K of the last N frames: one lucky frame never verifies, and a person who looks away briefly is
//! not thrown out. The time-out belongs to the attempt ([`super::attempt`]), not to the window.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Votes {
    k: usize,
    n: usize,
    recent: VecDeque<bool>,
}

impl Votes {
    /// `k` of the last `n`; the caller has range-checked both (1 ≤ k ≤ n).
    pub fn new(k: usize, n: usize) -> Votes {
        Votes {
            k: k.max(1),
            n: n.max(k.max(1)),
            recent: VecDeque::with_capacity(n.min(64)),
        }
    }

    /// Records one frame's verdict on the tracked face.
    pub fn push(&mut self, verified: bool) {
        if self.recent.len() == self.n {
            self.recent.pop_front();
        }
        self.recent.push_back(verified);
    }

    /// At least K verified frames among the last N. Never true with no frame at all.
    pub fn passed(&self) -> bool {
        self.verified() >= self.k
    }

    pub fn verified(&self) -> usize {
        self.recent.iter().filter(|v| **v).count()
    }

    pub fn needed(&self) -> usize {
        self.k
    }

    /// Frames in the window.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }

    pub fn clear(&mut self) {
        self.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_of_the_last_n() {
        let mut v = Votes::new(3, 5);
        for x in [true, false, true, false] {
            v.push(x);
            assert!(!v.passed());
        }
        v.push(true);
        assert!(v.passed());

        let mut v = Votes::new(3, 5);
        // Old successes slide out of the window of 5.
        for x in [true, true, false, false, false, false, true] {
            v.push(x);
        }
        assert!(!v.passed());
        assert_eq!((v.verified(), v.len()), (1, 5));
    }

    #[test]
    fn a_zero_k_still_needs_a_verified_frame() {
        let mut v = Votes::new(0, 0);
        assert!(!v.passed());
        v.push(false);
        assert!(!v.passed());
        v.push(true);
        assert!(v.passed());
    }
}
