//! K of the last N frames: one lucky frame never verifies, and a person who looks away briefly is
//! not thrown out. The time-out belongs to the attempt ([`super::attempt`]), not to the window.

use std::collections::VecDeque;

use serde::Serialize;

/// Most frames the window may hold: 1 s of video; more only delays the verdict.
pub const MAX_N: usize = 30;

/// K of N frames, within range: 1 ≤ k ≤ n ≤ [`MAX_N`]. The one place that range is checked; the
/// settings, the system config, `eval attempts` and unlock's stricter rule all build one here,
/// so no [`Votes`] can run on a rule nobody checked (a K of 0 would pass on no frame).
/// Serialized as the settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KofN {
    #[serde(rename = "live_k")]
    k: usize,
    #[serde(rename = "live_n")]
    n: usize,
}

impl KofN {
    /// The settings' default: 3 of 5.
    pub const DEFAULT: KofN = KofN { k: 3, n: 5 };

    /// `k` of `n`, when within [`KofN::range`].
    pub fn new(k: usize, n: usize) -> Option<KofN> {
        (1 <= k && k <= n && n <= MAX_N).then_some(KofN { k, n })
    }

    /// The range, in the settings' names, for a refusal to name.
    pub fn range() -> String {
        format!("1 ≤ live_k ≤ live_n ≤ {MAX_N}")
    }

    pub fn k(self) -> usize {
        self.k
    }

    pub fn n(self) -> usize {
        self.n
    }

    /// This rule, made no looser than at least `min_k` frames and `num / den` of the window
    /// (the window grows to `min_k` if smaller). A stricter rule is kept as it is.
    pub fn at_least(self, min_k: usize, (num, den): (usize, usize)) -> KofN {
        let n = self.n.max(min_k).min(MAX_N);
        let k = self.k.max(min_k).max((n * num).div_ceil(den)).min(n);
        KofN { k, n }
    }
}

impl std::fmt::Display for KofN {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {}", self.k, self.n)
    }
}

#[derive(Debug, Clone)]
pub struct Votes {
    rule: KofN,
    recent: VecDeque<bool>,
}

impl Votes {
    pub fn new(rule: KofN) -> Votes {
        Votes {
            rule,
            recent: VecDeque::with_capacity(rule.n),
        }
    }

    /// Records one frame's verdict on the tracked face.
    pub fn push(&mut self, verified: bool) {
        if self.recent.len() == self.rule.n {
            self.recent.pop_front();
        }
        self.recent.push_back(verified);
    }

    /// At least K verified frames among the last N. Never true with no frame at all.
    pub fn passed(&self) -> bool {
        self.verified() >= self.rule.k
    }

    pub fn verified(&self) -> usize {
        self.recent.iter().filter(|v| **v).count()
    }

    pub fn needed(&self) -> usize {
        self.rule.k
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

    fn votes(k: usize, n: usize) -> Votes {
        Votes::new(KofN::new(k, n).unwrap())
    }

    #[test]
    fn k_of_the_last_n() {
        let mut v = votes(3, 5);
        for x in [true, false, true, false] {
            v.push(x);
            assert!(!v.passed());
        }
        v.push(true);
        assert!(v.passed());

        let mut v = votes(3, 5);
        // Old successes slide out of the window of 5.
        for x in [true, true, false, false, false, false, true] {
            v.push(x);
        }
        assert!(!v.passed());
        assert_eq!((v.verified(), v.len()), (1, 5));
    }

    #[test]
    fn a_rule_out_of_range_is_refused() {
        for (k, n) in [
            (0, 0),
            (0, 5),
            (6, 5),
            (3, MAX_N + 1),
            (usize::MAX, usize::MAX),
        ] {
            assert_eq!(KofN::new(k, n), None, "{k} of {n}");
        }
        assert_eq!(KofN::new(1, 1).map(|r| (r.k(), r.n())), Some((1, 1)));
        assert_eq!(KofN::new(MAX_N, MAX_N).map(|r| r.k()), Some(MAX_N));
        assert_eq!(KofN::range(), "1 ≤ live_k ≤ live_n ≤ 30");
    }

    #[test]
    fn at_least_raises_a_loose_rule_and_keeps_a_strict_one() {
        let rule = |k, n| KofN::new(k, n).unwrap();
        assert_eq!(rule(1, 30).at_least(3, (3, 5)), rule(18, 30));
        assert_eq!(rule(1, 1).at_least(3, (3, 5)), rule(3, 3));
        assert_eq!(rule(2, 5).at_least(3, (3, 5)), rule(3, 5));
        assert_eq!(rule(3, 6).at_least(3, (3, 5)), rule(4, 6));
        assert_eq!(rule(5, 5).at_least(3, (3, 5)), rule(5, 5));
        // Whatever it is given, the result is within range.
        for n in 1..=MAX_N {
            for k in 1..=n {
                let r = rule(k, n).at_least(3, (3, 5));
                assert_eq!(KofN::new(r.k(), r.n()), Some(r));
            }
        }
    }
}
