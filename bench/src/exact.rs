//! Exactness of a final state: named figures (a counter, a total, an incident's count) read
//! from the tables, compared one by one with the truth the benchmark derived from what it sent.

use std::collections::BTreeMap;
use std::fmt;

/// Figures by name: `ERRCOUNT#checkout#ALL MIN#2026-12-02T07:31 count` → 4000.
pub type Figures = BTreeMap<String, u64>;

/// One figure that differs: missing on one side (`None`) or of another value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub name: String,
    pub expected: Option<u64>,
    pub actual: Option<u64>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: Option<u64>| v.map_or_else(|| "absent".to_owned(), |v| v.to_string());
        write!(
            f,
            "{}: expected {}, found {}",
            self.name,
            show(self.expected),
            show(self.actual)
        )
    }
}

/// The comparison of a state with its truth.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Figures named on either side.
    pub compared: usize,
    pub mismatches: Vec<Mismatch>,
}

impl Verdict {
    pub fn exact(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exact() {
            return write!(f, "exact ({} figures)", self.compared);
        }
        write!(
            f,
            "INEXACT ({} of {} figures differ",
            self.mismatches.len(),
            self.compared
        )?;
        for m in self.mismatches.iter().take(3) {
            write!(f, "; {m}")?;
        }
        write!(f, ")")
    }
}

/// Compares every figure named in `expected` or `actual`: a figure the truth does not name
/// (an extra incident, a counter of a minute nothing was sent in) differs as much as a wrong
/// value does.
pub fn compare(expected: &Figures, actual: &Figures) -> Verdict {
    let mut names: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    names.sort_unstable();
    names.dedup();
    let mismatches = names
        .iter()
        .filter_map(|name| {
            let (e, a) = (expected.get(*name).copied(), actual.get(*name).copied());
            (e != a).then(|| Mismatch {
                name: (*name).clone(),
                expected: e,
                actual: a,
            })
        })
        .collect();
    Verdict {
        compared: names.len(),
        mismatches,
    }
}

/// Adds `by` to the figure `name` (a reader summing shards or minutes).
pub fn add(figures: &mut Figures, name: impl Into<String>, by: u64) {
    *figures.entry(name.into()).or_default() += by;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(pairs: &[(&str, u64)]) -> Figures {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn equal_figures_are_exact() {
        let truth = figures(&[("all", 4000), ("incident new-error count", 2000)]);
        let v = compare(&truth, &truth.clone());
        assert!(v.exact());
        assert_eq!(v.compared, 2);
        assert_eq!(v.to_string(), "exact (2 figures)");
    }

    #[test]
    fn one_error_too_many_is_caught() {
        let truth = figures(&[("all", 4000), ("incident new-error count", 2000)]);
        let got = figures(&[("all", 4000), ("incident new-error count", 2001)]);
        let v = compare(&truth, &got);
        assert!(!v.exact());
        assert_eq!(
            v.mismatches,
            [Mismatch {
                name: "incident new-error count".into(),
                expected: Some(2000),
                actual: Some(2001),
            }]
        );
        assert!(v.to_string().starts_with("INEXACT (1 of 2 figures differ"));
    }

    #[test]
    fn a_missing_and_an_unexpected_figure_both_differ() {
        let truth = figures(&[("lock victim", 1)]);
        let got = figures(&[("incident credential-stuffing count", 3)]);
        let v = compare(&truth, &got);
        assert_eq!(v.compared, 2);
        let names: Vec<_> = v.mismatches.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            names,
            [
                "incident credential-stuffing count: expected absent, found 3",
                "lock victim: expected 1, found absent",
            ]
        );
    }

    #[test]
    fn add_sums_into_one_figure() {
        let mut f = Figures::new();
        add(&mut f, "total", 3);
        add(&mut f, "total", 4);
        assert_eq!(f, figures(&[("total", 7)]));
    }
}
