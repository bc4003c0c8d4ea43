//! Exact (Clopper–Pearson) confidence bounds of a binomial rate: how high an error rate may be
//! that showed `errors` in `attempts`. The one place the project computes them (`eval attempts`,
//! `eval pad` and `calibrate` had two hand-written versions between them).

/// One-sided upper bound at confidence `level` (e.g. 0.95) on the rate behind `errors` of
/// `attempts`: the largest rate that would still show `errors` or fewer with probability
/// `1 - level`. With no error it is `1 - (1 - level)^(1/n)`, about 3/n at 95 % (the "rule of
/// three"). 1 when nothing was tried or everything failed.
pub fn upper(errors: u64, attempts: u64, level: f64) -> f64 {
    if attempts == 0 || errors >= attempts {
        return 1.0;
    }
    let alpha = 1.0 - level;
    if errors == 0 {
        return 1.0 - alpha.powf(1.0 / attempts as f64);
    }
    // P(X ≤ errors | attempts, p) falls from 1 to 0 as p grows: bisect for where it meets α.
    // P(X ≤ x) = 1 - I_p(x + 1, n - x), with I the regularised incomplete beta function.
    let (a, b) = ((errors + 1) as f64, (attempts - errors) as f64);
    let (mut lo, mut hi) = (errors as f64 / attempts as f64, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 1.0 - statrs::function::beta::beta_reg(a, b, mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    hi
}

/// The exact two-sided 95 % interval of the rate behind `k` of `n`: each end leaves 2.5 % on its
/// side. The lower end is one minus the upper end of the other outcome's rate. `(0, 1)` for
/// n = 0.
pub fn clopper_pearson(k: u64, n: u64) -> (f64, f64) {
    const LEVEL: f64 = 0.975;
    if n == 0 {
        return (0.0, 1.0);
    }
    let lower = if k == 0 {
        0.0
    } else {
        1.0 - upper(n - k, n, LEVEL)
    };
    (lower, upper(k, n, LEVEL))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want,
            "got {got:e}, want {want:e} (±{rel})"
        );
    }

    #[test]
    fn clopper_pearson_upper_bounds() {
        // No error: 1 − 0.05^(1/n), about 3/n.
        close(upper(0, 10, 0.95), 0.258_865_4, 1e-6);
        close(upper(0, 843_000, 0.95), 3.553_650e-6, 1e-5);
        // Exact bounds, found independently by bisecting the summed binomial terms.
        close(upper(1, 10, 0.95), 0.394_163_4, 1e-6);
        close(upper(5, 100, 0.95), 0.102_253_4, 1e-6);
        close(upper(50, 1000, 0.95), 0.062_863_4, 1e-6);
        // Rare events in many attempts: the Poisson limits 4.744 and 7.754 per n.
        close(upper(1, 843_000, 0.95), 5.627_348e-6, 1e-6);
        close(upper(3, 843_000, 0.95), 9.197_669e-6, 1e-6);
        // Edges.
        assert_eq!(upper(0, 0, 0.95), 1.0);
        assert_eq!(upper(7, 7, 0.95), 1.0);
        // Always above the observed rate, and tighter with more attempts at the same rate.
        assert!(upper(20, 1000, 0.95) > 0.02);
        assert!(upper(200, 10_000, 0.95) < upper(20, 1000, 0.95));
    }

    #[test]
    fn the_bound_has_the_stated_tail() {
        // At the bound, P(X ≤ x) is exactly α: sum the binomial terms directly.
        for (x, n) in [(2u64, 40u64), (13, 300), (40, 2000)] {
            let p = upper(x, n, 0.95);
            let mut term = (1.0 - p).powi(n as i32);
            let mut cdf = term;
            for k in 0..x {
                term *= (n - k) as f64 / (k + 1) as f64 * p / (1.0 - p);
                cdf += term;
            }
            close(cdf, 0.05, 1e-6);
        }
    }

    #[test]
    fn clopper_pearson_matches_published_values() {
        // 0 of 15: upper = 1 − 0.025^(1/15) = 0.2180; 1 of 15: [0.0017, 0.3195].
        let (lo, hi) = clopper_pearson(0, 15);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.2180).abs() < 1e-4, "{hi}");
        let (lo, hi) = clopper_pearson(1, 15);
        assert!(
            (lo - 0.001_687).abs() < 1e-5 && (hi - 0.3195).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = clopper_pearson(15, 15);
        assert!((lo - 0.7820).abs() < 1e-4 && hi == 1.0);
        assert_eq!(clopper_pearson(0, 0), (0.0, 1.0));
        let (lo, hi) = clopper_pearson(500, 1000);
        assert!((lo - 0.4685).abs() < 1e-3 && (hi - 0.5315).abs() < 1e-3);
    }
}
