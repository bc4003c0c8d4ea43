//! Whether a trained head replaces cosine for a person: only when it is better on the held-out
//! test pairs by more than chance allows, and never when it lets more strangers in.
//!
//! Both scorers judge the very same test pairs, so the comparison is paired: only the pairs on
//! which they *disagree* say anything about which is better (McNemar). Call b the pairs only the
//! head gets right and c those only cosine gets right. If the two were equally good, each of the
//! b + c disagreements would be a fair coin, so b ~ Binomial(b + c, ½); the head is adopted when
//! the exact one-sided p-value P(X ≥ b) is at most [`ALPHA`]. That is the margin the test-pair
//! count supports: with α = 1 % the head needs at least 7 wins and no loss (½⁷ = 0.8 %), or 10 to
//! 1, 12 to 2, 14 to 3…; winning "by a single pair" (the README's old Berlusconi row) is never
//! enough, and a person with too few test pairs to disagree on keeps cosine.
//!
//! α is 1 % rather than the usual 5 % because the test pairs are not independent (every test
//! anchor is paired with every negative, so one unusual photo moves many pairs at once), which
//! makes the binomial p-value optimistic; the stricter level pays for that. On top of the test,
//! a security rule: a head that makes more false accepts on the test's different-person pairs
//! than cosine is never adopted, whatever it gains on the person's own pairs.

use serde::{Deserialize, Serialize};

/// Significance level of the one-sided exact McNemar test (see the module comment).
pub const ALPHA: f64 = 0.01;

/// The paired comparison of head and cosine on the test pairs, and the decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Adoption {
    /// Test pairs the head decides right and cosine wrong.
    pub head_only_right: usize,
    /// Test pairs cosine decides right and the head wrong.
    pub cosine_only_right: usize,
    /// Different-person test pairs called "same" by the head, and by cosine.
    pub head_false_accepts: usize,
    pub cosine_false_accepts: usize,
    /// Exact one-sided McNemar p-value: P(X ≥ head_only_right), X ~ Bin(disagreements, ½).
    pub p_value: f64,
    pub alpha: f64,
    pub in_use: bool,
}

impl Adoption {
    /// Compares the two scorers' decisions (true = "same person") against the labels.
    pub fn decide(head: &[bool], cosine: &[bool], same: &[bool]) -> Adoption {
        assert!(head.len() == same.len() && cosine.len() == same.len());
        let (mut b, mut c, mut head_fa, mut cosine_fa) = (0, 0, 0, 0);
        for ((&h, &k), &y) in head.iter().zip(cosine).zip(same) {
            match (h == y, k == y) {
                (true, false) => b += 1,
                (false, true) => c += 1,
                _ => {}
            }
            head_fa += usize::from(h && !y);
            cosine_fa += usize::from(k && !y);
        }
        let p_value = binomial_upper_tail(b + c, b);
        Adoption {
            head_only_right: b,
            cosine_only_right: c,
            head_false_accepts: head_fa,
            cosine_false_accepts: cosine_fa,
            p_value,
            alpha: ALPHA,
            in_use: b > c && p_value <= ALPHA && head_fa <= cosine_fa,
        }
    }

    /// One line for people: why the head is or is not in use.
    pub fn reason(&self) -> String {
        let times = |n: usize| crate::shown::counted(n, "time", "times");
        let record = format!(
            "on the test pairs the head alone was right {}, cosine alone {} (one-sided McNemar p = {:.3}, need ≤ {})",
            times(self.head_only_right),
            times(self.cosine_only_right),
            self.p_value,
            self.alpha
        );
        if self.in_use {
            format!("{record}: the head is better by more than chance")
        } else if self.head_false_accepts > self.cosine_false_accepts {
            format!(
                "{record}; it lets in more strangers ({} false accepts against cosine's {}), so cosine stays",
                self.head_false_accepts, self.cosine_false_accepts
            )
        } else {
            format!("{record}: not better by more than chance, so cosine stays")
        }
    }
}

/// P(X ≥ k) for X ~ Binomial(n, ½): I_½(k, n − k + 1), the regularised incomplete beta
/// function (statrs), which holds for n in the thousands.
pub fn binomial_upper_tail(n: usize, k: usize) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    statrs::function::beta::beta_reg(k as f64, (n - k + 1) as f64, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_by_hand() {
        assert_eq!(binomial_upper_tail(5, 0), 1.0);
        assert!((binomial_upper_tail(5, 5) - 1.0 / 32.0).abs() < 1e-12);
        // P(X ≥ 9 | n = 10) = 11 / 1024.
        assert!((binomial_upper_tail(10, 9) - 11.0 / 1024.0).abs() < 1e-12);
        assert!((binomial_upper_tail(4, 2) - 11.0 / 16.0).abs() < 1e-12);
        // Large n: symmetric, so P(X ≥ n/2 + 1) + P(X ≤ n/2 − 1) + P(X = n/2) = 1.
        let p = binomial_upper_tail(3000, 1501);
        assert!(p > 0.48 && p < 0.5, "{p}");
    }

    #[test]
    fn one_pair_is_not_a_margin_and_seven_are() {
        let same = [true; 10];
        let mut cosine = [true; 10];
        cosine[0] = false;
        let head = [true; 10];
        let one = Adoption::decide(&head, &cosine, &same);
        assert_eq!((one.head_only_right, one.cosine_only_right), (1, 0));
        assert!(!one.in_use && (one.p_value - 0.5).abs() < 1e-12);
        assert!(one.reason().contains("not better by more than chance"));
        cosine[..7].fill(false);
        let seven = Adoption::decide(&head, &cosine, &same);
        assert!(seven.in_use, "{seven:?}");
        cosine[6] = true;
        assert!(
            !Adoption::decide(&head, &cosine, &same).in_use,
            "6 wins: p = 1/64 > 1 %"
        );
    }

    #[test]
    fn more_false_accepts_are_never_adopted() {
        // 20 genuine pairs the head gets and cosine misses, one stranger the head lets in.
        let mut same = vec![true; 20];
        same.push(false);
        let head = vec![true; 21];
        let mut cosine = vec![false; 20];
        cosine.push(false);
        let a = Adoption::decide(&head, &cosine, &same);
        assert!(a.p_value < ALPHA && !a.in_use);
        assert!(a.reason().contains("more strangers"), "{}", a.reason());
    }
}
