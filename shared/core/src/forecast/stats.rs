//! The forecaster's statistics: order statistics by selection (no full sort), the robust
//! sigma of a sample, and the Theil-Sen slope with Sen's rank interval.
//!
//! Every function takes finite values; a non-finite value does not panic (the order is
//! `f64::total_cmp`), it only makes the answer meaningless.

/// z for a two-sided 90 % interval.
const Z_90: f64 = 1.645;

/// MAD × this estimates the standard deviation of normal data.
const MAD_TO_SIGMA: f64 = 1.4826;

/// The `k`-th smallest value (0-based), reordering `values`; `None` when out of range.
pub fn kth(values: &mut [f64], k: usize) -> Option<f64> {
    if k >= values.len() {
        return None;
    }
    let (_, v, _) = values.select_nth_unstable_by(k, f64::total_cmp);
    Some(*v)
}

/// The median (the mean of the two middle values for an even count), reordering `values`.
pub fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let hi = kth(values, n / 2)?;
    if n % 2 == 1 {
        return Some(hi);
    }
    // After the selection, the lower middle is the largest value left of n / 2.
    let lo = values[..n / 2]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(hi);
    Some(lo + (hi - lo) / 2.0)
}

/// The median of a slice, left as it is.
pub fn median_of(values: &[f64]) -> Option<f64> {
    median(&mut values.to_vec())
}

/// A quantile by linear interpolation between closest ranks (`q` in 0..=1), reordering
/// `values`.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    let pos = q * (n - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, (pos.ceil() as usize).min(n - 1));
    let a = kth(values, lo)?;
    let b = if hi == lo { a } else { kth(values, hi)? };
    Some(a + (b - a) * (pos - lo as f64))
}

/// The robust sigma, 1.4826 × the median absolute deviation from the median, reordering
/// `values`; 0 for an empty sample.
pub fn robust_sigma(values: &mut [f64]) -> f64 {
    let Some(m) = median(values) else {
        return 0.0;
    };
    for v in values.iter_mut() {
        *v = (*v - m).abs();
    }
    median(values).map_or(0.0, |mad| MAD_TO_SIGMA * mad)
}

/// A fitted line with the interval of its slope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Per unit of `x`.
    pub slope: f64,
    /// Sen's 90 % two-sided interval of the slope.
    pub low: f64,
    pub high: f64,
    /// The line's value at x = 0: the median of v − slope·x.
    pub intercept: f64,
}

impl Trend {
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The Theil-Sen line through (x, v): the median of the pairwise slopes, with Sen's
/// nonparametric interval (normal approximation of Kendall's S, no tie correction).
/// `None` with fewer than two points or no two distinct x. O(n²) memory and time, with
/// selections rather than a sort: about 57 000 slopes for two weeks of hourly points.
pub fn theil_sen(x: &[f64], v: &[f64]) -> Option<Trend> {
    let n = x.len().min(v.len());
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[j] - x[i];
            if dx != 0.0 {
                slopes.push((v[j] - v[i]) / dx);
            }
        }
    }
    let total = slopes.len();
    let slope = median(&mut slopes)?;
    let nf = n as f64;
    let c = Z_90 * (nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0).sqrt();
    let nn = total as f64;
    // Ranks are 1-based, clamped to 1..=N.
    let rank = |r: f64| (r.max(1.0).min(nn) as usize).saturating_sub(1);
    let low = kth(&mut slopes, rank(((nn - c) / 2.0).round()))?;
    let high = kth(&mut slopes, rank(((nn + c) / 2.0).round() + 1.0))?;
    let mut residuals: Vec<f64> = (0..n).map(|i| v[i] - slope * x[i]).collect();
    let intercept = median(&mut residuals)?;
    Some(Trend {
        slope,
        low: low.min(slope),
        high: high.max(slope),
        intercept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statistics() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(quantile(&mut [1.0, 2.0, 3.0, 4.0, 5.0], 0.25), Some(2.0));
        assert_eq!(quantile(&mut [10.0, 0.0], 0.95), Some(9.5));
        assert_eq!(kth(&mut [1.0], 1), None);
        // MAD of 1..=5 is 1.
        assert!((robust_sigma(&mut [1.0, 2.0, 3.0, 4.0, 5.0]) - 1.4826).abs() < 1e-12);
        assert_eq!(robust_sigma(&mut []), 0.0);
    }

    #[test]
    fn theil_sen_on_a_line_is_exact_and_ignores_one_outlier() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let mut v: Vec<f64> = x.iter().map(|x| 3.0 + 0.5 * x).collect();
        let t = theil_sen(&x, &v).unwrap();
        assert_eq!((t.slope, t.low, t.high, t.intercept), (0.5, 0.5, 0.5, 3.0));
        v[7] = 1000.0;
        let t = theil_sen(&x, &v).unwrap();
        assert!((t.slope - 0.5).abs() < 1e-9, "{t:?}");
        assert!(t.low <= t.slope && t.slope <= t.high);
        assert_eq!(theil_sen(&[1.0], &[1.0]), None);
        assert_eq!(theil_sen(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn sens_interval_uses_the_documented_ranks() {
        // n = 12: N = 66, C = 1.645·sqrt(12·11·29/18) = 23.99; ranks 21 and 46 (1-based).
        let x: Vec<f64> = (0..12).map(f64::from).collect();
        // Values whose pairwise slopes are all distinct.
        let v: Vec<f64> = x
            .iter()
            .map(|x: &f64| x * x * 0.37 + (x * 1.7).sin())
            .collect();
        let mut all = Vec::new();
        for i in 0..12 {
            for j in i + 1..12 {
                all.push((v[j] - v[i]) / (x[j] - x[i]));
            }
        }
        all.sort_by(f64::total_cmp);
        let t = theil_sen(&x, &v).unwrap();
        assert_eq!(t.low, all[20]);
        assert_eq!(t.high, all[45]);
        assert_eq!(t.slope, (all[32] + all[33]) / 2.0);
    }
}
