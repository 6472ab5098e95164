//! What a scenario measured, and the tables the bench prints (Markdown, for BENCHMARKS.md).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::lambda::Phase;

/// Whether the final state is the truth, and whether the check could have said otherwise.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Exactness {
    pub exact: bool,
    /// Figures compared (counters, totals, incident counts, locks).
    pub compared: usize,
    pub verdict: String,
    pub mismatches: Vec<String>,
    /// When inexact: every incident, as `kind: title (count N)`.
    pub incidents: Vec<String>,
    /// One error added to an incident's count behind the handlers' backs changed the verdict.
    pub detects_an_error: bool,
}

/// One scenario: a function, N instances, a conflict rate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Scenario {
    pub function: String,
    /// The instances' DynamoDB client (`Deployed` or `SdkDefaults`).
    pub client: String,
    pub instances: usize,
    pub conflict_per_mille: u32,
    pub first: Phase,
    pub redelivery: Phase,
    /// Redelivered batches the function answered as already handled.
    pub redelivery_duplicates: usize,
    /// Items of either table the redelivery added, changed or removed.
    pub redelivery_changed_items: usize,
    /// Batches that failed for good in both deliveries: the truth counts them, the state
    /// cannot (beyond what their failed invocations wrote).
    pub never_handled: usize,
    /// login-guard: locks the invocations said they set.
    pub locks_reported: usize,
    /// Requests of the first delivery beyond those of the same function and N without conflicts.
    pub extra_requests_vs_clean: Option<i64>,
    pub exactness: Exactness,
}

impl Scenario {
    fn invocations(&self) -> u64 {
        self.first.invocations + self.redelivery.invocations
    }

    fn failed_for_good(&self) -> usize {
        self.first.failed_for_good + self.redelivery.failed_for_good
    }

    fn lambda_retries(&self) -> u64 {
        self.first.lambda_retries + self.redelivery.lambda_retries
    }

    fn conflicts(&self) -> String {
        let r = self.conflict_per_mille;
        if r.is_multiple_of(10) {
            format!("{} %", r / 10)
        } else {
            format!("{:.1} %", f64::from(r) / 10.0)
        }
    }
}

/// Fills in each scenario's extra requests against the conflict-free run of its function and N.
pub fn compare_with_clean_runs(scenarios: &mut [Scenario]) {
    let clean: Vec<(String, usize, u64)> = scenarios
        .iter()
        .filter(|s| s.conflict_per_mille == 0)
        .map(|s| (s.function.clone(), s.instances, s.first.total_requests()))
        .collect();
    for s in scenarios.iter_mut() {
        s.extra_requests_vs_clean = clean
            .iter()
            .find(|(f, n, _)| *f == s.function && *n == s.instances)
            .map(|(_, _, r)| s.first.total_requests() as i64 - *r as i64);
    }
}

fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn wall(p: &Phase) -> String {
    format!(
        "{} ({} / {})",
        secs(p.wall_ms),
        secs(p.delivery_p50_ms),
        secs(p.delivery_p95_ms)
    )
}

fn error_types(s: &Scenario) -> String {
    let mut all = s.first.error_types.clone();
    for (k, v) in &s.redelivery.error_types {
        *all.entry(k.clone()).or_default() += v;
    }
    if all.is_empty() {
        return "none".to_owned();
    }
    all.iter()
        .map(|(k, v)| format!("{k} ×{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A one-line progress report (stderr).
pub fn line(s: &Scenario) -> String {
    format!(
        "{} × {} at {} conflicts: {} invocations, {} failed for good, {} Lambda retries, \
         first delivery {}, {}",
        s.function,
        s.instances,
        s.conflicts(),
        s.invocations(),
        s.failed_for_good(),
        s.lambda_retries(),
        secs(s.first.wall_ms),
        s.exactness.verdict
    )
}

/// The two Markdown tables: outcomes, and DynamoDB calls per batch of the first delivery.
pub fn table(scenarios: &[Scenario]) -> String {
    let mut t = String::new();
    t.push_str(
        "| function | N | conflicts | invocations | failed for good | Lambda retries | failed invocations | \
         requests (faulted) | extra vs 0 % | first delivery: wall (p50 / p95 of deliveries) | redelivery | redelivered: duplicate / items changed | exact |\n",
    );
    t.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for s in scenarios {
        let requests = s.first.total_requests() + s.redelivery.total_requests();
        let faulted = s.first.faulted + s.redelivery.faulted;
        let exact = if s.exactness.exact {
            format!("yes ({} figures)", s.exactness.compared)
        } else if s.never_handled > 0 {
            format!(
                "**no**, {} batches never handled: {}",
                s.never_handled, s.exactness.verdict
            )
        } else {
            format!("**no**: {}", s.exactness.verdict)
        };
        let exact = if s.exactness.detects_an_error {
            exact
        } else {
            format!("{exact} (check blind!)")
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {requests} ({faulted}) | {} | {} | {} | {} / {} | {exact} |",
            s.function,
            s.instances,
            s.conflicts(),
            s.invocations(),
            s.failed_for_good(),
            s.lambda_retries(),
            error_types(s),
            s.extra_requests_vs_clean
                .map_or_else(|| "-".to_owned(), |e| format!("{e:+}")),
            wall(&s.first),
            secs(s.redelivery.wall_ms),
            s.redelivery_duplicates,
            s.redelivery_changed_items,
        );
    }
    let operations: BTreeSet<&String> = scenarios
        .iter()
        .flat_map(|s| s.first.requests.keys())
        .collect();
    t.push_str("\nDynamoDB requests per batch, first delivery (retries included):\n\n");
    t.push_str("| function | N | conflicts |");
    for op in &operations {
        let _ = write!(t, " {op} |");
    }
    t.push_str(" all |\n|---|---|---|");
    for _ in 0..=operations.len() {
        t.push_str("---|");
    }
    t.push('\n');
    for s in scenarios {
        let per = |n: u64| n as f64 / s.instances.max(1) as f64;
        let _ = write!(
            t,
            "| {} | {} | {} |",
            s.function,
            s.instances,
            s.conflicts()
        );
        for op in &operations {
            let n = s.first.requests.get(*op).copied().unwrap_or(0);
            let _ = write!(t, " {:.2} |", per(n));
        }
        let _ = writeln!(t, " {:.2} |", per(s.first.total_requests()));
    }
    t
}
