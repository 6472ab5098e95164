//! Property tests: the miner never panics, stays within its limits, a message's
//! fingerprint survives any change of its variable values and does not depend on
//! the batch it came in, and lines whose constant words differ are never joined.

use proptest::prelude::*;

use super::mask::{is_bool, is_date_word, is_unit, names_a_resource};
use std::collections::{BTreeMap, HashMap};

use super::{
    Fingerprint, LearnRules, MemoryTemplateRegistry, MinerConfig, PatternMiner, PatternSet, VAR,
    learn, renames_for_batch,
};
use crate::clock::Timestamp;

/// Kinds of values `value` makes.
const KINDS: usize = 16;

/// Values of one kind that logs are full of; `kind` picks the kind, so two
/// messages of one shape get different values of the same kinds.
fn value(kind: usize) -> BoxedStrategy<String> {
    match kind % KINDS {
        0 => any::<i64>().prop_map(|n| n.to_string()).boxed(),
        1 => any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f}"))
            .boxed(),
        2 => any::<[u8; 4]>()
            .prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
            .boxed(),
        3 => (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(b, p)| format!("{}.{}.{}.{}:{p}", b[0], b[1], b[2], b[3]))
            .boxed(),
        4 => any::<u64>().prop_map(|n| format!("0x{n:x}")).boxed(),
        5 => any::<u128>()
            .prop_map(|n| {
                let h = format!("{n:032x}");
                format!(
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                )
            })
            .boxed(),
        6 => (
            1u32..100_000,
            prop::sample::select(vec!["ms", "s", "MB", "KB", "%"]),
        )
            .prop_map(|(n, u)| format!("{n}{u}"))
            .boxed(),
        7 => "[a-z]{1,8}(/[a-z0-9_.-]{0,7}[a-z0-9]){1,4}"
            .prop_map(|p| format!("/{p}"))
            .boxed(),
        8 => "[a-z]{1,8}".prop_map(|w| format!("'{w}'")).boxed(),
        9 => "[a-z]{1,6}-[0-9]{1,3}".boxed(),
        // Host names, bare or with a port: `api.shop.example.com`, `db.prod.lan:5432`.
        10 => (
            "[a-z]{2,6}(\\.[a-z]{2,6}){1,3}\\.(com|net|org|lan)",
            prop::option::of(1u16..),
        )
            .prop_map(|(h, p)| p.map_or(h.clone(), |p| format!("{h}:{p}")))
            .boxed(),
        // Sizes with or without their restatement: `403 bytes`, `9018 bytes (8.8 KB)`.
        11 => (0u32..10_000_000, any::<bool>())
            .prop_map(|(n, aside)| {
                if aside {
                    format!("{n} bytes ({:.1} KB)", f64::from(n) / 1024.0)
                } else {
                    format!("{n} bytes")
                }
            })
            .boxed(),
        // Dates as syslog and ctime write them.
        12 => (0usize..7, 0usize..12, 1u32..29, 0u32..86_400)
            .prop_map(|(d, m, day, t)| {
                format!(
                    "{} {} {day:2} {:02}:{:02}:{:02} 2005",
                    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d],
                    [
                        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                        "Nov", "Dec"
                    ][m],
                    t / 3600,
                    t / 60 % 60,
                    t % 60
                )
            })
            .boxed(),
        // Durations: `<1 sec`, `00:02`, `01:14:07`, `350 ms`.
        13 => prop_oneof![
            Just("<1 sec".to_owned()),
            (0u32..60, 0u32..60).prop_map(|(m, s)| format!("{m:02}:{s:02}")),
            (1u32..1000).prop_map(|n| format!("{n} ms")),
        ]
        .boxed(),
        14 => prop::sample::select(vec!["true", "false", "True", "FALSE"])
            .prop_map(str::to_owned)
            .boxed(),
        _ => any::<[u8; 6]>()
            .prop_map(|m| {
                m.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .boxed(),
    }
}

/// A message shape: constant words (no digits, so they stay constant) and slots
/// of a value kind.
#[derive(Debug, Clone)]
enum Part {
    Word(String),
    Slot(usize),
}

/// A shape and two fillings of its slots.
fn shape_and_values() -> impl Strategy<Value = (Vec<Part>, Vec<String>, Vec<String>)> {
    prop::collection::vec(
        prop_oneof![
            3 => "[A-Za-z][a-z]{0,9}:?".prop_map(Part::Word),
            1 => (0usize..KINDS).prop_map(Part::Slot),
        ],
        1..20,
    )
    .prop_flat_map(|shape| {
        let kinds: Vec<usize> = shape
            .iter()
            .filter_map(|p| match p {
                Part::Slot(k) => Some(*k),
                Part::Word(_) => None,
            })
            .collect();
        let a: Vec<_> = kinds.iter().map(|&k| value(k)).collect();
        let b: Vec<_> = kinds.iter().map(|&k| value(k)).collect();
        (Just(shape), a, b)
    })
}

/// A lower-case word that no rule masks by position, and is no keyword either.
fn plain_word() -> impl Strategy<Value = String> {
    "[a-z]{3,9}".prop_filter("a plain word", |w| plain(w))
}

fn plain(word: &str) -> bool {
    let w = word.trim_end_matches(':').as_bytes();
    !w.is_empty()
        && !is_unit(w)
        && !is_bool(w)
        && !is_date_word(w)
        && !names_a_resource(w)
        && !names_a_resource(word.as_bytes())
        && !matches!(w, b"for" | b"by" | b"from")
}

/// Log-like lines: a shape filled with values.
fn log_line() -> impl Strategy<Value = String> {
    shape_and_values().prop_map(|(shape, a, _)| fill(&shape, &a))
}

fn fill(shape: &[Part], values: &[String]) -> String {
    let mut values = values.iter();
    let parts: Vec<&str> = shape
        .iter()
        .map(|p| match p {
            Part::Word(w) => w.as_str(),
            Part::Slot(_) => values.next().map_or("", String::as_str),
        })
        .collect();
    parts.join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_and_stays_bounded(s in any::<String>(), cap in 1usize..64, toks in 1usize..8) {
        let m = PatternMiner::new(MinerConfig { max_message_bytes: cap, max_tokens: toks });
        let p = m.mine(&s);
        // Constant text comes from the capped message, at most once; each
        // variable adds `<*>`.
        prop_assert!(p.template.len() <= cap.min(s.len()) + 3 * p.params.len());
        // Every param is a piece of the message.
        for v in &p.params {
            prop_assert!(s.contains(v.as_str()));
        }
        let _ = PatternMiner::default().mine(&s);
    }

    #[test]
    fn never_panics_on_log_like_text(s in "[ -~\t\n\u{e9}\u{4e2d}\u{1f600}]{0,300}") {
        let p = PatternMiner::default().mine(&s);
        prop_assert!(p.template.len() <= s.len() + 3 * p.params.len() + 3);
    }

    #[test]
    fn fingerprint_survives_new_variable_values((shape, a, b) in shape_and_values()) {
        let m = PatternMiner::default();
        let (x, y) = (fill(&shape, &a), fill(&shape, &b));
        prop_assert_eq!(m.template(&x), m.template(&y), "{:?} vs {:?}", x, y);
        prop_assert_eq!(m.fingerprint(&x), m.fingerprint(&y));
    }

    #[test]
    // Quote-free text: in a soup of nested quotes a template can pair its
    // quotes differently from the message it came from.
    fn templates_are_fixed_points(s in "[ !#-&(-~]{0,200}") {
        let m = PatternMiner::default();
        let t = m.template(&s);
        prop_assert_eq!(m.template(&t), t.clone());
        let pair = format!("{VAR} {VAR}");
        prop_assert!(!t.contains(&pair));
    }

    #[test]
    // One delivery of lines cut into batches in any order, each batch mined by a
    // fresh set (as separate invocations after cold starts do): every line gets
    // the fingerprint a fresh miner gives it alone.
    fn fingerprint_is_the_same_in_any_batch_and_order(
        (msgs, cuts) in prop::collection::vec(log_line(), 1..40)
            .prop_shuffle()
            .prop_flat_map(|m| {
                let n = m.len();
                (Just(m), prop::collection::vec(0..=n, 0..4))
            })
    ) {
        let alone: Vec<_> = msgs.iter().map(|m| PatternMiner::default().fingerprint(m)).collect();
        let mut cuts = cuts;
        cuts.push(0);
        cuts.push(msgs.len());
        cuts.sort_unstable();
        for w in cuts.windows(2) {
            let mut batch = PatternSet::new(PatternMiner::default());
            for k in w[0]..w[1] {
                prop_assert_eq!(batch.add(&msgs[k]).unwrap(), alone[k], "{:?}", msgs[k]);
            }
        }
    }

    #[test]
    // Two lines of one shape but for one constant word never share a pattern.
    // The words are ones no rule takes for a value by where they stand (units,
    // dates, booleans and the words after `user`-like words are, by design).
    fn lines_whose_constant_words_differ_are_never_joined(
        (shape, values, _) in shape_and_values(),
        at in any::<prop::sample::Index>(),
        other in plain_word(),
    ) {
        let words: Vec<usize> = (0..shape.len())
            .filter(|&k| matches!(&shape[k], Part::Word(w) if plain(w)))
            .collect();
        prop_assume!(!words.is_empty());
        let k = words[at.index(words.len())];
        let Part::Word(w) = &shape[k] else { unreachable!() };
        prop_assume!(w.trim_end_matches(':') != other);
        // The word before must not name a resource: that makes this one a value.
        prop_assume!(k == 0 || !matches!(&shape[k - 1], Part::Word(b) if !plain(b)));
        let mut changed = shape.clone();
        changed[k] = Part::Word(other.clone());
        let m = PatternMiner::default();
        let (x, y) = (fill(&shape, &values), fill(&changed, &values));
        prop_assert_ne!(m.fingerprint(&x), m.fingerprint(&y), "{:?} vs {:?}", x, y);
    }

    #[test]
    fn set_grouping_is_order_independent(msgs in prop::collection::vec("[ -~]{0,40}", 0..40)) {
        let mut fwd = PatternSet::new(PatternMiner::default());
        let mut rev = PatternSet::new(PatternMiner::default());
        let f: Vec<_> = msgs.iter().map(|m| fwd.add(m).unwrap()).collect();
        let mut r: Vec<_> = msgs.iter().rev().map(|m| rev.add(m).unwrap()).collect();
        r.reverse();
        prop_assert_eq!(f, r);
        prop_assert_eq!(fwd.len(), rev.len());
    }

    #[test]
    // Learning never joins templates whose words differ outside the positions it learned:
    // every member of a merge equals the merge's form token for token, but at a learned
    // position. And the merges depend on the set of templates, not on their order.
    fn a_merge_never_joins_words_that_differ_outside_learned_positions(
        templates in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    Just("<*>".to_owned()),
                    prop::sample::select(vec![
                        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "user",
                        "via", "is", "(golf)", "hotel:", "opened", "closed",
                    ]).prop_map(str::to_owned),
                ],
                3..7,
            ).prop_map(|w| w.join(" ")),
            0..60,
        ).prop_shuffle()
    ) {
        let refs: Vec<&str> = templates.iter().map(String::as_str).collect();
        let l = learn(&refs, &LearnRules::default());
        for (t, m) in refs.iter().zip(&l.of) {
            let Some(m) = m else { continue };
            let merge = &l.merges[*m];
            prop_assert!(merge.covers(t), "{:?} not covered by {:?}", t, merge);
            for (k, (ours, theirs)) in merge.form.split(' ').zip(t.split(' ')).enumerate() {
                if !merge.learned.contains(&(k as u16)) {
                    prop_assert_eq!(ours, theirs);
                }
            }
        }
        let mut rev = refs.clone();
        rev.reverse();
        let r = learn(&rev, &LearnRules::default());
        let of = |l: &super::Learning, i: usize| l.of[i].map(|m| l.merges[m].template());
        for i in 0..refs.len() {
            prop_assert_eq!(of(&l, i), of(&r, refs.len() - 1 - i));
        }
    }

    #[test]
    // A set that learns gives every line of a template the same fingerprint, and lines of
    // one merge the merged template's, whatever the order the lines came in.
    fn learned_grouping_is_order_independent(
        (msgs, words) in (
            prop::collection::vec(log_line(), 0..20),
            prop::collection::vec(plain_word(), 0..8),
        )
    ) {
        let mut all = msgs.clone();
        all.extend(words.iter().map(|w| format!("upstream {w} is unhealthy again")));
        let mut fwd = PatternSet::new(PatternMiner::default());
        let mut rev = PatternSet::new(PatternMiner::default());
        let f: Vec<_> = all.iter().map(|m| fwd.add(m).unwrap()).collect();
        let r: Vec<_> = all.iter().rev().map(|m| rev.add(m).unwrap()).collect();
        fwd.learn(&LearnRules::default());
        rev.learn(&LearnRules::default());
        let f: Vec<_> = f.into_iter().map(|x| fwd.canonical(x)).collect();
        let mut r: Vec<_> = r.into_iter().map(|x| rev.canonical(x)).collect();
        r.reverse();
        prop_assert_eq!(&f, &r);
        prop_assert_eq!(fwd.len(), rev.len());
    }

    #[test]
    // With the registry: lines fed in batches in one order teach it; afterwards, lines cut
    // into batches in any other order, each mined by a fresh miner (a cold start) with only
    // the registry kept, get the fingerprint that line gets alone. And whatever joins two
    // lines is a recorded merge that covers both templates.
    fn with_the_registry_a_line_keeps_its_fingerprint_in_any_batch_and_order(
        (lines, order, cuts) in families().prop_flat_map(|lines| {
            let n = lines.len();
            (
                Just(lines.clone()),
                Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
                prop::collection::vec(0..=n, 0..4),
            )
        })
    ) {
        let registry = MemoryTemplateRegistry::default();
        let mut next_batch = 0usize;
        let mut run = |msgs: &[&str]| -> HashMap<String, (String, Fingerprint)> {
            next_batch += 1;
            resolve(&registry, &format!("b{next_batch}"), msgs)
        };
        // Teaching: the lines in their order, in batches of five.
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        for chunk in refs.chunks(5) {
            run(chunk);
        }
        let miner = PatternMiner::default();
        let alone: Vec<Fingerprint> = refs
            .iter()
            .map(|l| {
                let t = miner.template(l);
                run(&[*l]).get(&t).map_or(Fingerprint::of_template(&t), |r| r.1)
            })
            .collect();
        let mut cuts = cuts;
        cuts.push(0);
        cuts.push(order.len());
        cuts.sort_unstable();
        for w in cuts.windows(2) {
            let batch: Vec<&str> = order[w[0]..w[1]].iter().map(|&k| refs[k]).collect();
            let renamed = run(&batch);
            for &k in &order[w[0]..w[1]] {
                let t = miner.template(refs[k]);
                let f = renamed.get(&t).map_or(Fingerprint::of_template(&t), |r| r.1);
                prop_assert_eq!(f, alone[k], "{:?}", refs[k]);
            }
        }
        let merges = registry.merges();
        for l in &refs {
            let t = miner.template(l);
            if let Some((template, f)) = run(&[*l]).get(&t) {
                prop_assert!(
                    merges.iter().any(|m| m.canonical == *f
                        && m.merge.template() == *template
                        && m.merge.covers(&t)),
                    "{:?} renamed to {:?} by no recorded merge", t, template
                );
            }
        }
    }

    #[test]
    // The bench scores `PatternSet::learn`; error-analyzer asks the registry. On a registry
    // with nothing recorded (a first batch) both give every line the same fingerprint.
    fn a_first_batch_through_the_registry_groups_as_the_set_learns(lines in families()) {
        let mut set = PatternSet::new(PatternMiner::default());
        let raw: Vec<_> = lines.iter().map(|l| set.add(l).unwrap()).collect();
        set.learn(&LearnRules::default());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let renamed = resolve(&MemoryTemplateRegistry::default(), "b", &refs);
        let miner = PatternMiner::default();
        for (l, f) in refs.iter().zip(raw) {
            let t = miner.template(l);
            let via_registry = renamed.get(&t).map_or(Fingerprint::of_template(&t), |r| r.1);
            prop_assert_eq!(set.canonical(f), via_registry, "{:?}", l);
        }
    }
}

/// Lines of a few families, each a sentence with one slot filled from a few plain words
/// (so learning has something to learn), plus log-like lines.
fn families() -> impl Strategy<Value = Vec<String>> {
    let family = (
        prop::collection::vec(plain_word(), 2..4),
        prop::collection::vec(plain_word(), 1..3),
        prop::collection::vec(plain_word(), 1..8),
    )
        .prop_map(|(before, after, values)| {
            values
                .iter()
                .map(|v| format!("{} {v} {}", before.join(" "), after.join(" ")))
                .collect::<Vec<_>>()
        });
    (
        prop::collection::vec(family, 1..4),
        prop::collection::vec(log_line(), 0..6),
    )
        .prop_map(|(fams, logs)| fams.into_iter().flatten().chain(logs).collect())
}

/// One batch through the registry: each template's rename, by template.
fn resolve(
    registry: &MemoryTemplateRegistry,
    batch: &str,
    msgs: &[&str],
) -> HashMap<String, (String, Fingerprint)> {
    let miner = PatternMiner::default();
    let mut templates: Vec<String> = msgs.iter().map(|m| miner.template(m)).collect();
    templates.sort();
    templates.dedup();
    let mut by_service = BTreeMap::new();
    by_service.insert(
        "svc".to_owned(),
        templates.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let renames = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(renames_for_batch(
            registry,
            batch,
            &by_service,
            &LearnRules::default(),
            Timestamp::from_secs(1_795_000_000),
        ))
        .unwrap();
    renames
        .into_iter()
        .map(|r| (r.from, (r.template, r.fingerprint)))
        .collect()
}
