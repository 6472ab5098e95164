//! `apptrack dlq ...`: the events a function gave up on, as records in its on-failure queue
//! (the `...FailureQueueUrl` stack outputs): list them, and redrive them to the function.

mod aws_error;
mod queue;
mod record;
mod replay;

use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::output;
use queue::{Received, Sweep};
use record::{InvocationRecord, function_label};
use replay::replay;

#[derive(Debug, Subcommand)]
pub enum DlqCmd {
    /// Show the records waiting in an on-failure queue, leaving them there.
    ///
    /// Each message is received once and made visible again at the end (receiving counts
    /// toward a queue's maxReceiveCount, if it has a redrive policy; apptrack's have none).
    List {
        #[command(flatten)]
        queue: QueueArgs,
        /// At most this many messages.
        #[arg(long, default_value = "100")]
        max: NonZeroUsize,
        /// Print a JSON array (records with their events) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replay each record's event to its function; delete the records that now succeed.
    ///
    /// Receives the queue's messages in batches of ten and invokes the function each record
    /// names (its requestContext.functionArn, or --function) synchronously with the original
    /// event (its requestPayload). A message is deleted only when that invocation succeeds.
    /// A record whose replay fails (the function's errorType and errorMessage are printed)
    /// and a message that is not an on-failure record stay in the queue, visible again when
    /// the run ends; the exit code is then 1.
    ///
    /// Safe to repeat: apptrack's handlers are idempotent (scaling claims, batch
    /// fingerprints, idempotency keys), so replaying an event that partly ran before counts,
    /// locks, scales and records nothing twice.
    Redrive {
        #[command(flatten)]
        queue: QueueArgs,
        /// Invoke this function (name, ARN, or ARN with a version or alias) instead of the
        /// one each record names; under a local emulator, the binary's name (login-guard).
        #[arg(long)]
        function: Option<String>,
        /// Stop after this many messages (default: until the queue is empty).
        #[arg(long)]
        max: Option<NonZeroUsize>,
        /// Show what would be replayed; invoke nothing, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print a JSON report instead of a line per message.
        #[arg(long)]
        json: bool,
    },
}

/// The queue, by URL or by name.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct QueueArgs {
    /// The queue's URL (the stack outputs AlarmScalerFailureQueueUrl, LoginGuardFailureQueueUrl,
    /// ErrorAnalyzerFailureQueueUrl).
    #[arg(long)]
    queue_url: Option<String>,
    /// The queue's name, looked up with GetQueueUrl.
    #[arg(long)]
    queue: Option<String>,
}

pub async fn run(cmd: DlqCmd, conf: &aws_config::SdkConfig) -> Result<ExitCode> {
    let sqs = aws_sdk_sqs::Client::new(conf);
    match cmd {
        DlqCmd::List { queue, max, json } => {
            let url = queue::queue_url(&sqs, queue.queue_url, queue.queue).await?;
            list(&sqs, &url, max.get(), json).await
        }
        DlqCmd::Redrive {
            queue,
            function,
            max,
            dry_run,
            json,
        } => {
            let url = queue::queue_url(&sqs, queue.queue_url, queue.queue).await?;
            let lambda = replay::client(conf);
            let run = Redrive {
                lambda: &lambda,
                function: function.as_deref(),
                dry_run,
            };
            let max = max.map_or(usize::MAX, NonZeroUsize::get);
            run.run(&sqs, &url, max, json).await
        }
    }
}

/// A message as `dlq list --json` prints it: the record, or why it is not one.
#[derive(Serialize)]
struct Listed {
    message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<InvocationRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

async fn list(sqs: &aws_sdk_sqs::Client, url: &str, max: usize, json: bool) -> Result<ExitCode> {
    let mut sweep = Sweep::new(sqs, url);
    let mut listed = Vec::new();
    let received = async {
        while listed.len() < max {
            let batch = sweep.next_batch(max - listed.len()).await?;
            if batch.is_empty() {
                break;
            }
            for m in batch {
                listed.push(match InvocationRecord::parse(&m.body) {
                    Ok(record) => Listed {
                        message_id: m.id.clone(),
                        record: Some(record),
                        error: None,
                        body: None,
                    },
                    Err(e) => Listed {
                        message_id: m.id.clone(),
                        record: None,
                        error: Some(e.to_string()),
                        body: Some(m.body.clone()),
                    },
                });
                sweep.keep(m);
            }
        }
        anyhow::Ok(())
    }
    .await;
    warn_unreleased(sweep.release().await);
    received?;

    if json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
    } else if listed.is_empty() {
        println!("no messages in {url}");
    } else {
        let rows: Vec<Vec<String>> = listed
            .iter()
            .map(|l| match (&l.record, &l.error) {
                (Some(r), _) => vec![
                    l.message_id.clone(),
                    r.timestamp.clone().unwrap_or_default(),
                    r.function_label().to_owned(),
                    r.failure_summary(),
                ],
                (None, error) => vec![
                    l.message_id.clone(),
                    String::new(),
                    "-".into(),
                    error.clone().unwrap_or_default(),
                ],
            })
            .collect();
        print!(
            "{}",
            output::table(&["MESSAGE", "FAILED AT", "FUNCTION", "FAILURE"], &rows)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What became of one message in a redrive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Outcome {
    /// Replayed successfully and deleted.
    Redriven,
    /// A record (dry run): would be replayed.
    WouldRedrive,
    /// The replay failed; left in the queue.
    Failed,
    /// Not an on-failure record; left in the queue.
    NotARecord,
    /// Replayed successfully, but the delete failed; left in the queue.
    NotDeleted,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Redriven => "redriven",
            Outcome::WouldRedrive => "would redrive",
            Outcome::Failed => "failed",
            Outcome::NotARecord => "not a record",
            Outcome::NotDeleted => "not deleted",
        }
    }
}

/// One message's line in the redrive report.
#[derive(Debug, Serialize)]
struct Handled {
    message_id: String,
    outcome: Outcome,
    /// The function replayed to (or that would be).
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    /// Why the message was not redriven.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// How the original invocation ended, from the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    original_failure: Option<String>,
    /// When Lambda gave up on the event, from the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_at: Option<String>,
}

impl Handled {
    fn line(&self) -> String {
        let detail = match (&self.error, &self.original_failure) {
            (Some(e), _) => e.clone(),
            (None, Some(was)) => format!("was {was}"),
            (None, None) => String::new(),
        };
        let function = self.function.as_deref().map_or("-", function_label);
        format!(
            "{:<13}  {}  {}  {}",
            self.outcome.label(),
            self.message_id,
            function,
            detail
        )
        .trim_end()
        .to_owned()
    }
}

/// The counts at the end of a redrive.
#[derive(Debug, Default, Serialize)]
struct Summary {
    received: usize,
    redriven: usize,
    would_redrive: usize,
    failed: usize,
    not_records: usize,
    not_deleted: usize,
    left_in_queue: usize,
}

impl Summary {
    fn of(handled: &[Handled]) -> Self {
        let count = |o: Outcome| handled.iter().filter(|h| h.outcome == o).count();
        let redriven = count(Outcome::Redriven);
        Summary {
            received: handled.len(),
            redriven,
            would_redrive: count(Outcome::WouldRedrive),
            failed: count(Outcome::Failed),
            not_records: count(Outcome::NotARecord),
            not_deleted: count(Outcome::NotDeleted),
            left_in_queue: handled.len() - redriven,
        }
    }

    /// Everything received was redriven (or, in a dry run, would be).
    fn all_done(&self) -> bool {
        self.redriven + self.would_redrive == self.received
    }

    fn sentence(&self) -> String {
        let parts: Vec<String> = [
            (self.redriven, "redriven"),
            (self.would_redrive, "would be redriven"),
            (self.failed, "failed again"),
            (self.not_records, "not an on-failure record"),
            (self.not_deleted, "replayed but not deleted"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        let s = if self.received == 1 { "" } else { "s" };
        format!(
            "{} message{s}: {}; {} left in the queue",
            self.received,
            parts.join(", "),
            self.left_in_queue
        )
    }
}

/// The JSON report of `dlq redrive --json`.
#[derive(Serialize)]
struct Report<'a> {
    queue_url: &'a str,
    dry_run: bool,
    messages: &'a [Handled],
    summary: &'a Summary,
}

struct Redrive<'a> {
    lambda: &'a aws_sdk_lambda::Client,
    /// Overrides each record's function.
    function: Option<&'a str>,
    dry_run: bool,
}

impl Redrive<'_> {
    async fn run(
        &self,
        sqs: &aws_sdk_sqs::Client,
        url: &str,
        max: usize,
        json: bool,
    ) -> Result<ExitCode> {
        let mut sweep = Sweep::new(sqs, url);
        let mut handled: Vec<Handled> = Vec::new();
        let received = async {
            while handled.len() < max {
                let batch = sweep.next_batch(max - handled.len()).await?;
                if batch.is_empty() {
                    break;
                }
                for m in batch {
                    let h = self.handle(&mut sweep, m).await;
                    if !json {
                        println!("{}", h.line());
                    }
                    handled.push(h);
                }
            }
            anyhow::Ok(())
        }
        .await;
        warn_unreleased(sweep.release().await);
        received?;

        let summary = Summary::of(&handled);
        if json {
            let report = Report {
                queue_url: url,
                dry_run: self.dry_run,
                messages: &handled,
                summary: &summary,
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else if handled.is_empty() {
            println!("no messages in {url}");
        } else {
            println!("{}", summary.sentence());
        }
        Ok(if summary.all_done() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }

    /// Replays one message's event and deletes the message if that succeeded; any other
    /// message is kept for [`Sweep::release`].
    async fn handle(&self, sweep: &mut Sweep<'_>, m: Received) -> Handled {
        let record = match InvocationRecord::parse(&m.body) {
            Ok(r) => r,
            Err(e) => {
                let h = Handled {
                    message_id: m.id.clone(),
                    outcome: Outcome::NotARecord,
                    function: None,
                    error: Some(e.to_string()),
                    original_failure: None,
                    failed_at: None,
                };
                sweep.keep(m);
                return h;
            }
        };
        let function = self.function.unwrap_or(&record.function_arn).to_owned();
        let mut h = Handled {
            message_id: m.id.clone(),
            outcome: Outcome::WouldRedrive,
            function: Some(function.clone()),
            error: None,
            original_failure: Some(record.failure_summary()),
            failed_at: record.timestamp.clone(),
        };
        if self.dry_run {
            sweep.keep(m);
            return h;
        }
        match replay(self.lambda, &function, &record.request_payload).await {
            Ok(()) => match sweep.delete(&m).await {
                Ok(()) => h.outcome = Outcome::Redriven,
                Err(e) => {
                    h.outcome = Outcome::NotDeleted;
                    h.error = Some(format!(
                        "replayed, but {e:#}; the next redrive replays it again"
                    ));
                    sweep.keep(m);
                }
            },
            Err(e) => {
                h.outcome = Outcome::Failed;
                h.error = Some(e.to_string());
                sweep.keep(m);
            }
        }
        h
    }
}

/// Messages that could not be made visible again reappear when their hold ends; say so.
fn warn_unreleased(failed: Vec<(String, String)>) {
    for (id, why) in failed {
        eprintln!(
            "apptrack: warning: message {id} stays hidden for up to {} s (making it visible again failed: {why})",
            queue::HOLD_SECS
        );
    }
}
