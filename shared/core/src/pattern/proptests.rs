//! Property tests: the miner never panics, stays within its limits, and a message's
//! fingerprint survives any change of its variable values.

use proptest::prelude::*;

use super::{MinerConfig, PatternMiner, PatternSet, VAR};

/// Values of one kind that logs are full of; `kind` picks the kind, so two
/// messages of one shape get different values of the same kinds.
fn value(kind: usize) -> BoxedStrategy<String> {
    match kind % 10 {
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
        _ => "[a-z]{1,6}-[0-9]{1,3}".boxed(),
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
            1 => (0usize..10).prop_map(Part::Slot),
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
    fn set_grouping_is_order_independent(msgs in prop::collection::vec("[ -~]{0,40}", 0..40)) {
        let mut fwd = PatternSet::new(PatternMiner::default());
        let mut rev = PatternSet::new(PatternMiner::default());
        let f: Vec<_> = msgs.iter().map(|m| fwd.add(m).unwrap()).collect();
        let mut r: Vec<_> = msgs.iter().rev().map(|m| rev.add(m).unwrap()).collect();
        r.reverse();
        prop_assert_eq!(f, r);
        prop_assert_eq!(fwd.len(), rev.len());
    }
}
