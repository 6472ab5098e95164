//! LogHub benchmark of the pattern miner: grouping accuracy (GA, FGA) and lines/s
//! per labelled data set, plus one large run over all data sets concatenated.
//!
//! Usage: `loghub-bench DIR [--json FILE]`, where DIR holds one folder per data
//! set with `<Name>_2k.log_structured.csv` (only its `Content` and `EventId`
//! columns are read). The large run mirrors drain3_baseline.py's: every data
//! set's messages concatenated, fed 10 times into one `PatternSet`.
//!
//! Each data set is scored as error-analyzer groups one batch: every line added to a
//! `PatternSet`, then `PatternSet::learn` with the product's `LearnRules` (merges of
//! templates that differ only where many words were seen), timed with the adds.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use apptrack_core::clock::Timestamp;
use apptrack_core::pattern::{
    Fingerprint, LearnRules, MemoryTemplateRegistry, PatternMiner, PatternSet, renames_for_batch,
};
use clap::Parser;
use serde::Serialize;

/// Measure the apptrack pattern miner on LogHub-style labelled data sets.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Folder with one sub-folder per data set holding <Name>_2k.log_structured.csv.
    dir: PathBuf,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Timed repetitions per data set (best and median are reported).
    #[arg(long, default_value_t = 15)]
    repeats: usize,
    /// How many times the concatenation of all data sets is fed in the large run.
    #[arg(long, default_value_t = 10)]
    big_repeat: usize,
    /// Independent large runs (fresh pattern set each).
    #[arg(long, default_value_t = 3)]
    big_runs: usize,
    /// Print up to this many true groups per data set that were not found exactly,
    /// with the templates their messages got (for working on the miner).
    #[arg(long, default_value_t = 0)]
    misses: usize,
    /// Also replay each data set in batches of this many lines through one (in-memory)
    /// template registry, as error-analyzer would see a day of logs, and score the
    /// fingerprint each line got in its batch (0: off).
    #[arg(long, default_value_t = 0)]
    replay_batch: usize,
}

/// One labelled data set: messages and their true group ids.
struct DataSet {
    name: String,
    contents: Vec<String>,
    labels: Vec<String>,
}

#[derive(Serialize)]
struct DataSetResult {
    lines: usize,
    true_groups: usize,
    found_groups: usize,
    /// Found groups of two lines or more: the `new-error` incidents a first
    /// replay of the set would open at the default `APPTRACK_NEW_ERROR_MIN_COUNT`
    /// (2), if every line were an error.
    new_error_incidents: usize,
    /// The same count for the true groups: what it would be with perfect grouping.
    true_new_error_incidents: usize,
    ga: f64,
    fga: f64,
    precision: f64,
    recall: f64,
    lines_per_sec: f64,
    lines_per_sec_median: f64,
}

#[derive(Serialize)]
struct BigRun {
    lines: usize,
    patterns: usize,
    /// Best of the runs.
    lines_per_sec: f64,
    lines_per_sec_median: f64,
    all_runs_lines_per_sec: Vec<f64>,
}

#[derive(Serialize)]
struct Report {
    tool: &'static str,
    env: Env,
    datasets: std::collections::BTreeMap<String, DataSetResult>,
    avg: Averages,
    big: BigRun,
}

#[derive(Serialize)]
struct Averages {
    ga: f64,
    fga: f64,
}

#[derive(Serialize)]
struct Env {
    nproc: usize,
    cpu_model: String,
    threads_used: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let sets = load_all(&args.dir)?;
    let miner = PatternMiner::default();

    println!(
        "{:<12} {:>7} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>12} {:>12}",
        "dataset",
        "lines",
        "true_g",
        "found_g",
        "new_err",
        "GA",
        "FGA",
        "FGA_P",
        "FGA_R",
        "lines/s",
        "lines/s(med)"
    );
    let mut datasets = std::collections::BTreeMap::new();
    for set in &sets {
        let (fingerprints, templates, rates) =
            timed_runs(miner, &set.contents, args.repeats.max(1));
        let ga = grouping_accuracy(&set.labels, &fingerprints);
        let (precision, recall, fga) = fga(&set.labels, &fingerprints);
        let r = DataSetResult {
            lines: set.contents.len(),
            true_groups: distinct(&set.labels),
            found_groups: distinct(&fingerprints),
            new_error_incidents: groups_of_at_least(&fingerprints, 2),
            true_new_error_incidents: groups_of_at_least(&set.labels, 2),
            ga,
            fga,
            precision,
            recall,
            lines_per_sec: best(&rates),
            lines_per_sec_median: median(&rates),
        };
        println!(
            "{:<12} {:>7} {:>7} {:>7} {:>7} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>12.0} {:>12.0}",
            set.name,
            r.lines,
            r.true_groups,
            r.found_groups,
            r.new_error_incidents,
            r.ga,
            r.fga,
            r.precision,
            r.recall,
            r.lines_per_sec,
            r.lines_per_sec_median
        );
        datasets.insert(set.name.clone(), r);
        if args.misses > 0 {
            print_misses(set, &fingerprints, &templates, args.misses);
        }
    }
    if args.replay_batch > 0 {
        replay(miner, &sets, args.replay_batch);
    }
    let n = datasets.len() as f64;
    let avg = Averages {
        ga: datasets.values().map(|r| r.ga).sum::<f64>() / n,
        fga: datasets.values().map(|r| r.fga).sum::<f64>() / n,
    };
    println!(
        "{:<12} {:>7} {:>7} {:>7} {:>7} {:>8.4} {:>8.4}",
        format!("AVG({})", datasets.len()),
        "",
        "",
        "",
        "",
        avg.ga,
        avg.fga
    );

    let one_pass: Vec<&str> = sets
        .iter()
        .flat_map(|s| s.contents.iter().map(String::as_str))
        .collect();
    let big = big_run(
        miner,
        &one_pass,
        args.big_repeat.max(1),
        args.big_runs.max(1),
    );
    println!(
        "BIG: {} lines (all data sets concatenated x{}), one thread, best of {} runs: {:.0} lines/s (median {:.0}), patterns={}",
        big.lines,
        args.big_repeat.max(1),
        args.big_runs.max(1),
        big.lines_per_sec,
        big.lines_per_sec_median,
        big.patterns
    );

    if let Some(path) = &args.json {
        let report = Report {
            tool: "apptrack loghub-bench",
            env: Env {
                nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
                cpu_model: cpu_model(),
                threads_used: 1,
            },
            datasets,
            avg,
            big,
        };
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Loads every `DIR/<Name>/<Name>_2k.log_structured.csv`, sorted by name.
fn load_all(dir: &Path) -> Result<Vec<DataSet>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry
            .path()
            .join(format!("{name}_2k.log_structured.csv"))
            .is_file()
        {
            names.push(name);
        }
    }
    names.sort();
    if names.is_empty() {
        bail!(
            "no data sets under {}: expected <Name>/<Name>_2k.log_structured.csv",
            dir.display()
        );
    }
    names
        .into_iter()
        .map(|name| {
            let path = dir
                .join(&name)
                .join(format!("{name}_2k.log_structured.csv"));
            let (contents, labels) =
                load_csv(&path).with_context(|| format!("loading {}", path.display()))?;
            Ok(DataSet {
                name,
                contents,
                labels,
            })
        })
        .collect()
}

/// Reads the `Content` and `EventId` columns.
fn load_csv(path: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let mut reader = csv::Reader::from_path(path)?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("no {name} column"))
    };
    let (content, event) = (col("Content")?, col("EventId")?);
    let (mut contents, mut labels) = (Vec::new(), Vec::new());
    for (k, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("row {}", k + 2))?;
        contents.push(record.get(content).unwrap_or_default().to_owned());
        labels.push(record.get(event).unwrap_or_default().to_owned());
    }
    Ok((contents, labels))
}

/// Feeds the messages into a fresh `PatternSet` `repeats` times and learns; returns the
/// fingerprints of the last run (after learning), the template of each fingerprint and
/// each run's lines/s. Only the `add` loop and `learn` are timed.
fn timed_runs(
    miner: PatternMiner,
    lines: &[String],
    repeats: usize,
) -> (Vec<Fingerprint>, HashMap<Fingerprint, String>, Vec<f64>) {
    let rules = LearnRules::default();
    let mut rates = Vec::with_capacity(repeats);
    let mut out = Vec::with_capacity(lines.len());
    let mut templates = HashMap::new();
    for _ in 0..repeats {
        out.clear();
        let mut set = PatternSet::new(miner);
        let t0 = Instant::now();
        for line in lines {
            // A full set only happens past 10,000 patterns; count such lines as
            // their own group (the fingerprint is still computable).
            let f = set.add(line).unwrap_or_else(|_| miner.fingerprint(line));
            out.push(f);
        }
        set.learn(&rules);
        rates.push(lines.len() as f64 / t0.elapsed().as_secs_f64());
        for f in out.iter_mut() {
            *f = set.canonical(*f);
        }
        templates = set
            .groups()
            .iter()
            .map(|g| (g.fingerprint, g.template.clone()))
            .collect();
    }
    (out, templates, rates)
}

/// Each data set cut into batches of `size` lines, each batch through one registry (a cold
/// start per batch: only the registry is kept): GA, FGA and `new-error` of the fingerprints
/// the lines got in their batches.
fn replay(miner: PatternMiner, sets: &[DataSet], size: usize) {
    println!("replay in batches of {size} lines through one template registry per data set:");
    let (mut ga_sum, mut fga_sum) = (0.0, 0.0);
    for set in sets {
        let registry = MemoryTemplateRegistry::default();
        let mut found = Vec::with_capacity(set.contents.len());
        for (b, chunk) in set.contents.chunks(size).enumerate() {
            let templates: Vec<String> = chunk.iter().map(|l| miner.template(l)).collect();
            let mut distinct: Vec<&str> = templates.iter().map(String::as_str).collect();
            distinct.sort_unstable();
            distinct.dedup();
            let by_service = std::collections::BTreeMap::from([("svc".to_owned(), distinct)]);
            let renames = ready(renames_for_batch(
                &registry,
                &format!("b{b}"),
                &by_service,
                &LearnRules::default(),
                Timestamp::from_secs(1_795_000_000),
            ))
            .expect("the memory registry does not fail");
            let map: HashMap<&str, Fingerprint> = renames
                .iter()
                .map(|r| (r.from.as_str(), r.fingerprint))
                .collect();
            found.extend(templates.iter().map(|t| {
                map.get(t.as_str())
                    .copied()
                    .unwrap_or_else(|| Fingerprint::of_template(t))
            }));
        }
        let ga = grouping_accuracy(&set.labels, &found);
        let (_, _, f) = fga(&set.labels, &found);
        ga_sum += ga;
        fga_sum += f;
        let (frame_reads, frame_writes) = registry.frame_calls();
        println!(
            "  {:<12} GA {ga:.4} FGA {f:.4} found {} new_err {} (true {}), frame reads {frame_reads}, writes {frame_writes}",
            set.name,
            distinct(&found),
            groups_of_at_least(&found, 2),
            groups_of_at_least(&set.labels, 2),
        );
    }
    let n = sets.len() as f64;
    println!("  AVG          GA {:.4} FGA {:.4}", ga_sum / n, fga_sum / n);
}

/// The output of a future that is ready at once (the memory registry's).
fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the memory registry never waits"),
    }
}

fn big_run(miner: PatternMiner, one_pass: &[&str], repeat: usize, runs: usize) -> BigRun {
    let mut rates = Vec::with_capacity(runs);
    let mut patterns = 0;
    for _ in 0..runs {
        let mut set = PatternSet::new(miner);
        let mut overflow_check = 0u64;
        let t0 = Instant::now();
        for _ in 0..repeat {
            for line in one_pass {
                if set.add(line).is_err() {
                    overflow_check += 1;
                }
            }
        }
        set.learn(&LearnRules::default());
        let secs = t0.elapsed().as_secs_f64();
        std::hint::black_box(overflow_check);
        rates.push((one_pass.len() * repeat) as f64 / secs);
        patterns = set.len();
    }
    BigRun {
        lines: one_pass.len() * repeat,
        patterns,
        lines_per_sec: best(&rates),
        lines_per_sec_median: median(&rates),
        all_runs_lines_per_sec: rates.iter().map(|r| r.round()).collect(),
    }
}

/// The true groups not found exactly: their size, and how many of their messages got
/// each template (with, for a template shared with other groups, how many in all).
fn print_misses(
    set: &DataSet,
    found: &[Fingerprint],
    named: &HashMap<Fingerprint, String>,
    most: usize,
) {
    let mut by_fp: HashMap<&Fingerprint, usize> = HashMap::new();
    for f in found {
        *by_fp.entry(f).or_default() += 1;
    }
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, l) in set.labels.iter().enumerate() {
        groups.entry(l.as_str()).or_default().push(i);
    }
    let mut misses: Vec<(&str, Vec<usize>)> = groups
        .into_iter()
        .filter(|(_, rows)| {
            let f = &found[rows[0]];
            !(rows.iter().all(|&i| &found[i] == f) && by_fp[f] == rows.len())
        })
        .collect();
    misses.sort_by_key(|(l, rows)| (std::cmp::Reverse(rows.len()), *l));
    for (label, rows) in misses.into_iter().take(most) {
        let mut templates: HashMap<&Fingerprint, (usize, usize)> = HashMap::new();
        for &i in rows.iter() {
            templates.entry(&found[i]).or_insert((0, i)).0 += 1;
        }
        println!(
            "  miss {} {label}: {} lines, {} templates",
            set.name,
            rows.len(),
            templates.len()
        );
        let mut t: Vec<_> = templates.into_iter().collect();
        t.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
        for (f, (n, i)) in t.into_iter().take(4) {
            println!(
                "      {n:>5} (of {:>5})  {}",
                by_fp[f],
                named
                    .get(f)
                    .map_or(set.contents[i].as_str(), String::as_str)
            );
        }
    }
}

/// Ids of each item's group in a partition, as dense integers.
fn dense<T: Hash + Eq>(keys: &[T]) -> Vec<usize> {
    let mut ids: HashMap<&T, usize> = HashMap::new();
    keys.iter()
        .map(|k| {
            let n = ids.len();
            *ids.entry(k).or_insert(n)
        })
        .collect()
}

fn groups_of_at_least<T: Hash + Eq>(keys: &[T], n: usize) -> usize {
    let mut sizes: HashMap<&T, usize> = HashMap::new();
    for k in keys {
        *sizes.entry(k).or_default() += 1;
    }
    sizes.values().filter(|&&s| s >= n).count()
}

fn distinct<T: Hash + Eq>(keys: &[T]) -> usize {
    dense(keys).into_iter().max().map_or(0, |m| m + 1)
}

/// For each true group: whether the found groups of its members are exactly it.
/// Rows with an empty label are left out (the Loghub-2.0 rule).
fn exact_groups<T: Hash + Eq>(labels: &[String], found: &[T]) -> (Vec<(usize, bool)>, usize) {
    let keep: Vec<usize> = (0..labels.len())
        .filter(|&i| !labels[i].is_empty())
        .collect();
    let truth = dense(&keep.iter().map(|&i| &labels[i]).collect::<Vec<_>>());
    let pred = dense(&keep.iter().map(|&i| &found[i]).collect::<Vec<_>>());
    let n_true = truth.iter().max().map_or(0, |m| m + 1);
    let n_pred = pred.iter().max().map_or(0, |m| m + 1);
    let mut pred_size = vec![0usize; n_pred];
    for &p in &pred {
        pred_size[p] += 1;
    }
    // Per true group: its size and the single found group of its members (or none).
    let mut size = vec![0usize; n_true];
    let mut group: Vec<Option<Option<usize>>> = vec![None; n_true];
    for (&t, &p) in truth.iter().zip(&pred) {
        size[t] += 1;
        group[t] = match group[t] {
            None => Some(Some(p)),
            Some(Some(q)) if q == p => Some(Some(p)),
            _ => Some(None),
        };
    }
    let verdicts = (0..n_true)
        .map(|t| {
            let ok = matches!(group[t], Some(Some(p)) if pred_size[p] == size[t]);
            (size[t], ok)
        })
        .collect();
    (verdicts, n_pred)
}

/// GA: share of messages whose found group is exactly their true group.
fn grouping_accuracy<T: Hash + Eq>(labels: &[String], found: &[T]) -> f64 {
    let (verdicts, _) = exact_groups(labels, found);
    let total: usize = verdicts.iter().map(|v| v.0).sum();
    let correct: usize = verdicts.iter().filter(|v| v.1).map(|v| v.0).sum();
    if total == 0 {
        f64::NAN
    } else {
        correct as f64 / total as f64
    }
}

/// FGA (Loghub-2.0): precision = correct groups / found groups, recall =
/// correct groups / true groups, and their harmonic mean.
fn fga<T: Hash + Eq>(labels: &[String], found: &[T]) -> (f64, f64, f64) {
    let (verdicts, n_pred) = exact_groups(labels, found);
    let correct = verdicts.iter().filter(|v| v.1).count() as f64;
    let p = if n_pred == 0 {
        0.0
    } else {
        correct / n_pred as f64
    };
    let r = if verdicts.is_empty() {
        0.0
    } else {
        correct / verdicts.len() as f64
    };
    let f = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    (p, r, f)
}

fn best(rates: &[f64]) -> f64 {
    rates.iter().copied().fold(0.0, f64::max)
}

fn median(rates: &[f64]) -> f64 {
    let mut v = rates.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn ga_counts_messages_of_exactly_matched_groups() {
        let truth = labels(&["a", "a", "b", "c", "c"]);
        // a exact, b merged with part of c: only a's two messages are right.
        let found = [1, 1, 2, 2, 3];
        assert!((grouping_accuracy(&truth, &found) - 0.4).abs() < 1e-9);
        let (p, r, f) = fga(&truth, &found);
        assert!((p - 1.0 / 3.0).abs() < 1e-9 && (r - 1.0 / 3.0).abs() < 1e-9);
        assert!((f - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(grouping_accuracy(&truth, &[5, 5, 6, 7, 7]), 1.0);
    }

    #[test]
    fn counts_groups_that_would_open_an_incident() {
        assert_eq!(groups_of_at_least(&[1, 1, 2, 3, 3, 3], 2), 2);
    }

    #[test]
    fn empty_labels_are_left_out() {
        let truth = labels(&["a", "", "a"]);
        assert_eq!(grouping_accuracy(&truth, &[1, 1, 1]), 1.0);
    }
}
