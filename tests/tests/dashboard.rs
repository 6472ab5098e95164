//! The CloudWatch dashboard of infra/template.yaml: its body is JSON once `!Sub` has
//! substituted it, every apptrack metric it names is one a function emits (EMF), and every
//! function and on-failure queue of the template is on it.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use apptrack_tests::repo_root;
use regex::Regex;
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

fn template() -> Result<Yaml> {
    let text = std::fs::read_to_string(repo_root().join("infra/template.yaml"))?;
    Ok(serde_yaml_ng::from_str(&text)?)
}

fn resources(t: &Yaml) -> Result<&serde_yaml_ng::Mapping> {
    t.get("Resources")
        .and_then(Yaml::as_mapping)
        .context("no Resources")
}

/// The dashboard's body with every `${Ref}` / `${Res.Attr}` replaced by its name in brackets,
/// parsed; and the names that were substituted.
fn body(t: &Yaml) -> Result<(Value, BTreeSet<String>)> {
    let dashboards: Vec<&Yaml> = resources(t)?
        .values()
        .filter(|r| r.get("Type").and_then(Yaml::as_str) == Some("AWS::CloudWatch::Dashboard"))
        .collect();
    ensure!(
        dashboards.len() == 1,
        "expected one dashboard, found {}",
        dashboards.len()
    );
    let raw = dashboards[0]
        .get("Properties")
        .and_then(|p| p.get("DashboardBody"))
        .context("no DashboardBody")?;
    let Yaml::Tagged(tagged) = raw else {
        bail!("DashboardBody is not a !Sub string");
    };
    ensure!(
        tagged.tag == "Sub",
        "DashboardBody is !{} not !Sub",
        tagged.tag
    );
    let text = tagged.value.as_str().context("!Sub of a string")?;
    let refs = Regex::new(r"\$\{([A-Za-z0-9:.]+)\}")?;
    let names: BTreeSet<String> = refs.captures_iter(text).map(|c| c[1].to_string()).collect();
    let substituted = refs.replace_all(text, "[$1]");
    let parsed = serde_json::from_str(&substituted).with_context(|| {
        format!("the dashboard body is not JSON once substituted:\n{substituted}")
    })?;
    Ok((parsed, names))
}

/// Every metric row of every metric widget, with CloudWatch's `...` and `.` shorthand
/// expanded (each row repeats the previous one where it says so), options left out.
fn metric_rows(body: &Value) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for w in body["widgets"].as_array().into_iter().flatten() {
        let mut previous: Vec<String> = Vec::new();
        for row in w["properties"]["metrics"].as_array().into_iter().flatten() {
            let parts: Vec<String> = row
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect();
            if parts.is_empty() {
                continue; // an expression row
            }
            let mut full = if parts[0] == "..." {
                let rest = &parts[1..];
                let keep = previous.len().saturating_sub(rest.len());
                previous[..keep]
                    .iter()
                    .cloned()
                    .chain(rest.iter().cloned())
                    .collect()
            } else {
                parts
            };
            for (i, p) in full.iter_mut().enumerate() {
                if p == "." {
                    *p = previous.get(i).cloned().unwrap_or_default();
                }
            }
            previous = full.clone();
            rows.push(full);
        }
    }
    rows
}

/// The metric names the dashboard's SEARCH expressions ask for, with their namespace.
fn searched(body: &Value) -> Result<Vec<(String, String)>> {
    let re = Regex::new(r#"SEARCH\('\{([^,}]+)[^}]*\} MetricName="([A-Za-z]+)""#)?;
    let mut out = Vec::new();
    for w in body["widgets"].as_array().into_iter().flatten() {
        for row in w["properties"]["metrics"].as_array().into_iter().flatten() {
            for p in row.as_array().into_iter().flatten() {
                if let Some(e) = p.get("expression").and_then(Value::as_str) {
                    let c = re
                        .captures(e)
                        .with_context(|| format!("unreadable expression {e}"))?;
                    out.push((c[1].to_string(), c[2].to_string()));
                }
            }
        }
    }
    Ok(out)
}

/// The metric names the functions' code defines in EMF documents (`{"Name": "X", "Unit": ..}`).
fn emitted() -> Result<BTreeSet<String>> {
    let re = Regex::new(r#"\{\s*"Name"\s*:\s*"([A-Za-z0-9]+)"\s*,\s*"Unit""#)?;
    let mut names = BTreeSet::new();
    let mut stack = vec![repo_root().join("functions"), repo_root().join("shared")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)?;
                names.extend(re.captures_iter(&text).map(|c| c[1].to_string()));
            }
        }
    }
    Ok(names)
}

#[test]
fn the_body_is_json_and_names_only_metrics_a_function_emits() -> Result<()> {
    let t = template()?;
    let (body, refs) = body(&t)?;
    let emitted = emitted()?;
    ensure!(
        emitted.contains("Errors") && emitted.contains("LogLines"),
        "{emitted:?}"
    );
    // error-analyzer's default EMF namespace, the one the template leaves it with.
    let settings =
        std::fs::read_to_string(repo_root().join("functions/error-analyzer/src/settings.rs"))?;
    ensure!(settings.contains(r#"unwrap_or_else(|| "apptrack".to_owned())"#));

    let mut named = Vec::new();
    for row in metric_rows(&body) {
        ensure!(row.len() >= 2, "a metric row without a name: {row:?}");
        named.push((row[0].clone(), row[1].clone()));
    }
    named.extend(searched(&body)?);
    let own: Vec<&(String, String)> = named.iter().filter(|(ns, _)| ns == "apptrack").collect();
    ensure!(
        !own.is_empty(),
        "the dashboard shows none of apptrack's own metrics"
    );
    for (_, name) in &own {
        ensure!(
            emitted.contains(name),
            "the dashboard names apptrack metric {name}, which no function emits (emitted: {emitted:?})"
        );
    }
    for (ns, _) in &named {
        ensure!(
            ["apptrack", "AWS/Lambda", "AWS/SQS"].contains(&ns.as_str()),
            "unexpected namespace {ns}"
        );
    }
    // Every reference is a resource or a pseudo parameter of the template.
    let res = resources(&t)?;
    for r in &refs {
        let id = r.split('.').next().unwrap_or_default();
        ensure!(
            id.starts_with("AWS::") || res.contains_key(Yaml::String(id.to_owned())),
            "the dashboard refers to {r}, not in the template"
        );
    }
    Ok(())
}

#[test]
fn every_function_and_failure_queue_is_on_it() -> Result<()> {
    let t = template()?;
    let (body, _) = body(&t)?;
    let rows = metric_rows(&body);
    let has = |ns: &str, metric: &str, value: &str| {
        rows.iter()
            .any(|r| r.len() >= 4 && r[0] == ns && r[1] == metric && r[3] == value)
    };
    let mut functions = 0;
    for (id, r) in resources(&t)? {
        let (Some(id), Some(kind)) = (id.as_str(), r.get("Type").and_then(Yaml::as_str)) else {
            continue;
        };
        match kind {
            "AWS::Serverless::Function" => {
                functions += 1;
                for metric in ["Errors", "Throttles"] {
                    ensure!(
                        has("AWS/Lambda", metric, &format!("[{id}]")),
                        "the dashboard has no {metric} of {id}"
                    );
                }
            }
            "AWS::SQS::Queue" if id.ends_with("FailureQueue") => ensure!(
                has(
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    &format!("[{id}.QueueName]")
                ),
                "the dashboard has no depth of {id}"
            ),
            _ => {}
        }
    }
    ensure!(functions >= 6, "{functions} functions");
    // The incidents widget calls the widget function.
    let custom: Vec<&Value> = body["widgets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["type"] == "custom")
        .collect();
    ensure!(custom.len() == 1);
    ensure!(custom[0]["properties"]["endpoint"] == "[IncidentWidgetFunction.Arn]");
    ensure!(Path::new(&repo_root().join("functions/incident-widget")).is_dir());
    Ok(())
}
