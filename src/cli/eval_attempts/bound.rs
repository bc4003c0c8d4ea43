//! The exact (Clopper–Pearson) one-sided upper confidence bound of a binomial rate: the largest
//! error rate that would still show `errors` or fewer in `attempts` with probability `1 - level`.
//! With no error it is `1 - (1 - level)^(1/n)`, about 3/n at 95 % (the "rule of three").

/// One-sided upper bound at confidence `level` (e.g. 0.95) on the rate behind `errors` of
/// `attempts`. 1 when nothing was tried or everything failed.
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
        if 1.0 - beta_inc(a, b, mid) > alpha {
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

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series where it is accurate.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let sum = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularised incomplete beta function I_z(a, b), by its continued fraction (modified
/// Lentz), on the side of the symmetry I_z(a, b) = 1 - I_{1-z}(b, a) where it converges fast.
fn beta_inc(a: f64, b: f64, z: f64) -> f64 {
    if z <= 0.0 {
        return 0.0;
    }
    if z >= 1.0 {
        return 1.0;
    }
    let ln_front = a * z.ln() + b * (-z).ln_1p() - (ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b));
    if z < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * continued_fraction(a, b, z) / a
    } else {
        1.0 - ln_front.exp() * continued_fraction(b, a, 1.0 - z) / b
    }
}

fn continued_fraction(a: f64, b: f64, z: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * z / qap);
    let mut h = d;
    for m in 1..100_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * z / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * z / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPS {
            break;
        }
    }
    h
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
    fn gamma_and_beta_meet_known_values() {
        close(ln_gamma(1.0).exp(), 1.0, 1e-13);
        close(ln_gamma(5.0).exp(), 24.0, 1e-13);
        close(ln_gamma(0.5).exp(), std::f64::consts::PI.sqrt(), 1e-13);
        // ln 100! = 363.73937555556347
        close(ln_gamma(101.0), 363.739_375_555_563_47, 1e-14);
        // I_z(1, 1) = z; I_z(2, 3) = 1 − (1 − z)³(1 + 3z).
        close(beta_inc(1.0, 1.0, 0.3), 0.3, 1e-13);
        let z: f64 = 0.4;
        close(
            beta_inc(2.0, 3.0, z),
            1.0 - (1.0 - z).powi(3) * (1.0 + 3.0 * z),
            1e-12,
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
}
