//! Concurrent batches of one service, step by step: counting, reading back and raising in
//! every order, retried or not, must count each error once in the new-error incident.

use proptest::prelude::*;

use super::analysis::{BatchAnalysis, analyze};
use super::counts::{ReadErrorCounts, RecordErrorCounts};
use super::memory::MemoryErrorCounts;
use super::policy::ErrorPolicy;
use crate::clock::Timestamp;
use crate::incident::{IncidentKind, Occurrence, Status};
use crate::pattern::PatternMiner;
use crate::store::memory::MemoryIncidentStore;
use crate::store::{PageRequest, ReadIncidents, RecordIncidents};
use crate::subscription::{LogEvent, LogsBatch, MessageType};

const T: i64 = 1_760_000_000_000;

/// One Lambda instance's handling of a batch, cut where another can get in between.
struct Handling {
    analysis: BatchAnalysis,
    /// The occurrences its read-back decided on, once it has read.
    decided: Option<Vec<Occurrence>>,
    raised: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Count,
    Decide,
    Raise,
}

struct World {
    counts: MemoryErrorCounts,
    incidents: MemoryIncidentStore,
    policy: ErrorPolicy,
    miner: PatternMiner,
}

impl World {
    fn new() -> Self {
        World {
            counts: MemoryErrorCounts::new(),
            incidents: MemoryIncidentStore::new(),
            policy: ErrorPolicy::default(),
            miner: PatternMiner::default(),
        }
    }

    /// A batch of `lines` errors of one pattern, from its own log stream.
    fn handling(&self, stream: usize, lines: usize) -> Handling {
        let batch = LogsBatch {
            message_type: MessageType::Data,
            owner: "1".into(),
            log_group: "/aws/lambda/checkout".into(),
            log_stream: format!("stream-{stream}"),
            subscription_filters: vec![],
            log_events: (0..lines)
                .map(|i| LogEvent {
                    id: format!("{stream}-{i}"),
                    timestamp: T + (stream * 100 + i) as i64,
                    message: format!("ERROR payment declined for order {stream}{i}"),
                })
                .collect(),
        };
        Handling {
            analysis: analyze(&batch, &self.miner),
            decided: None,
            raised: false,
        }
    }

    async fn step(&self, h: &mut Handling, step: Step) {
        let now = Timestamp::from_millis(T + 60_000);
        match step {
            Step::Count => {
                self.counts.apply(&h.analysis.delta(), now).await.unwrap();
            }
            Step::Decide => {
                let q = self.policy.query_for(&h.analysis);
                let snap = self.counts.snapshot(&q).await.unwrap();
                let occs = self.policy.decide(&h.analysis, &snap);
                h.decided = Some(
                    occs.iter()
                        .map(|f| f.occurrence(&h.analysis.id).unwrap())
                        .collect(),
                );
            }
            Step::Raise => {
                for occ in h.decided.as_deref().unwrap_or_default() {
                    self.incidents.raise(occ).await.unwrap();
                }
                h.raised = true;
            }
        }
    }

    /// The new-error incident's count, if one was opened.
    async fn new_error_count(&self) -> Option<u64> {
        let now = Timestamp::from_millis(T + 120_000);
        let page = self
            .incidents
            .list_by_status(
                Status::Open,
                &PageRequest {
                    limit: 100,
                    cursor: None,
                    now,
                },
            )
            .await
            .unwrap();
        let found: Vec<_> = page
            .items
            .iter()
            .filter(|i| i.kind == IncidentKind::NewError)
            .collect();
        assert!(found.len() <= 1, "one pattern, one incident: {found:?}");
        found.first().map(|i| i.count)
    }
}

/// Runs `steps` over `deliveries` (each the stream and line count of the batch it
/// delivers: two deliveries of one stream are the same batch), and returns the new-error
/// incident's count.
fn run(steps: &[(usize, Step)], deliveries: &[(usize, usize)]) -> Option<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let w = World::new();
        let mut hs: Vec<Handling> = deliveries
            .iter()
            .map(|(stream, lines)| w.handling(*stream, *lines))
            .collect();
        for (h, step) in steps {
            w.step(&mut hs[*h], *step).await;
        }
        w.new_error_count().await
    })
}

use Step::{Count, Decide, Raise};

#[test]
fn both_write_before_either_reads() {
    // Each batch alone is under the threshold of 2; both read the total of 2.
    let steps = [
        (0, Count),
        (1, Count),
        (0, Decide),
        (1, Decide),
        (0, Raise),
        (1, Raise),
    ];
    assert_eq!(run(&steps, &[(0, 1), (1, 1)]), Some(2));
}

#[test]
fn the_first_reads_before_the_second_writes() {
    // The first finds itself under the threshold and raises nothing; the second crosses it
    // and brings the first's error along.
    let steps = [
        (0, Count),
        (0, Decide),
        (0, Raise),
        (1, Count),
        (1, Decide),
        (1, Raise),
    ];
    assert_eq!(run(&steps, &[(0, 1), (1, 1)]), Some(2));
}

#[test]
fn the_later_reader_raises_first() {
    let steps = [
        (0, Count),
        (0, Decide),
        (1, Count),
        (1, Decide),
        (1, Raise),
        (0, Raise),
    ];
    assert_eq!(run(&steps, &[(0, 3), (1, 4)]), Some(7));
}

#[test]
fn a_retry_after_counting_but_before_raising_counts_nothing_twice() {
    // Delivery 1 of batch 0 counts and dies; batch 1 goes by; delivery 2 of batch 0 runs whole.
    let steps = [
        (0, Count),
        (1, Count),
        (1, Decide),
        (1, Raise),
        (2, Count),
        (2, Decide),
        (2, Raise),
    ];
    // Handlings 0 and 2 are deliveries of one batch (the same stream and lines).
    let count = run(&steps, &[(0, 5), (1, 1), (0, 5)]);
    assert_eq!(count, Some(6));
}

/// Batches (their sizes), each delivered once or twice, and a random interleaving of all
/// deliveries' steps that keeps each delivery's own order.
fn schedule() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<u32>)> {
    (1usize..6).prop_flat_map(|n| {
        (
            proptest::collection::vec(1usize..6, n),
            proptest::collection::vec(1usize..3, n),
            proptest::collection::vec(any::<u32>(), n * 2 * 3),
        )
    })
}

proptest! {
    #[test]
    fn every_error_counts_once_in_any_interleaving((sizes, deliveries, keys) in schedule()) {
        // Delivery d of batch b is handling index `slots[b][d]`; handlings share a batch's
        // stream, so a second delivery is the same batch.
        let mut order: Vec<(u32, usize, usize)> = Vec::new(); // (key, handling, step index)
        let mut handling_batch = Vec::new();
        for (b, &times) in deliveries.iter().enumerate() {
            for _ in 0..times {
                let h = handling_batch.len();
                handling_batch.push(b);
                for s in 0..3 {
                    order.push((keys[(h * 3 + s) % keys.len()], h, s));
                }
            }
        }
        // Sort by key, then restore each handling's own step order among its slots.
        order.sort_by_key(|(k, h, s)| (*k, *h, *s));
        let mut next = vec![0usize; handling_batch.len()];
        let steps: Vec<(usize, Step)> = order
            .iter()
            .map(|(_, h, _)| {
                let s = [Count, Decide, Raise][next[*h]];
                next[*h] += 1;
                (*h, s)
            })
            .collect();
        let delivered: Vec<(usize, usize)> =
            handling_batch.iter().map(|b| (*b, sizes[*b])).collect();
        let count = run(&steps, &delivered);
        let total: usize = sizes.iter().sum();
        let want = (total >= 2).then_some(total as u64);
        prop_assert_eq!(count, want, "steps {:?}", steps);
    }
}
