//! Property tests: the forecaster never panics, whatever the points; its exhaustion times
//! are ordered; flat noise well below the limit never exhausts; and the unit does not
//! matter.

use std::time::Duration;

use proptest::prelude::*;

use super::model::tests::{FIVE_MIN, NOW, Rng, fine, run};
use super::model::{Forecast, ForecastInput, History, NoVerdict, Point, Toward, forecast};
use crate::clock::Timestamp;

/// Values with the awkward ones well represented.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3f64..1e3,
        2 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => Just(0.0),
    ]
}

/// Times around `NOW`, many on a few milliseconds (duplicates), some anywhere.
fn time() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => (NOW - 86_400_000)..=NOW,
        2 => (NOW - 20)..=NOW,
        1 => any::<i64>(),
    ]
}

fn points(max: usize) -> impl Strategy<Value = Vec<Point>> {
    prop::collection::vec(
        (time(), value()).prop_map(|(ms, value)| Point {
            at: Timestamp::from_millis(ms),
            value,
        }),
        0..max,
    )
}

/// Every fifth minute of the last day, with arbitrary values: deep enough to reach the
/// trend and the walk.
fn regular() -> impl Strategy<Value = Vec<Point>> {
    prop::collection::vec(value(), 288).prop_map(|vs| {
        let mut vs = vs.into_iter();
        fine(move |_| vs.next().unwrap_or(0.0))
    })
}

fn toward() -> impl Strategy<Value = Toward> {
    prop_oneof![Just(Toward::Above), Just(Toward::Below)]
}

fn check(f: &Result<Forecast, NoVerdict>) {
    if let Ok(f) = f {
        let e = f.exhaustion;
        // Ordered whenever set, on whatever input: the walk is monotone in the slope.
        if let (Some(a), Some(b)) = (e.earliest, e.likely) {
            assert!(a <= b, "{f:?}");
        }
        if let (Some(b), Some(c)) = (e.likely, e.latest) {
            assert!(b <= c, "{f:?}");
        }
        assert!(f.method.points >= 12, "{f:?}");
    }
}

/// A noisy line: `slope` per hour, `level` now, noise of `sd`.
fn line(seed: u64, level: f64, slope: f64, sd: f64) -> Vec<Point> {
    let mut rng = Rng(seed);
    fine(move |t| level + slope * t + sd * rng.normal())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_arbitrary_points(
        fine in points(300),
        coarse in points(300),
        limit in value(),
        toward in toward(),
        now in time(),
        secs in any::<u64>(),
    ) {
        let history = History { fine, coarse };
        let out = forecast(&ForecastInput {
            history: &history,
            limit,
            toward,
            now: Timestamp::from_millis(now),
            look_ahead: Duration::from_secs(secs),
        });
        check(&out);
    }

    #[test]
    fn never_panics_on_regular_arbitrary_series(
        fine in regular(),
        limit in value(),
        toward in toward(),
        hours in prop_oneof![0u64..400, Just(u64::MAX / 3600)],
    ) {
        let coarse: Vec<Point> = fine.iter().step_by(12).copied().collect();
        check(&run(fine, coarse, limit, toward, hours));
    }

    #[test]
    fn exhaustion_times_are_ordered_on_noisy_lines(
        seed in any::<u64>(),
        level in 0.0f64..1000.0,
        slope in 0.01f64..10.0,
        sd in 0.0f64..0.05,
        ahead in 0.5f64..200.0,
    ) {
        // Noise small against the rise over the day.
        let f = line(seed, level, slope, sd * slope * 24.0);
        let out = run(f, Vec::new(), level + slope * ahead, Toward::Above, 14 * 24).unwrap();
        let e = out.exhaustion;
        if let (Some(a), Some(b), Some(c)) = (e.earliest, e.likely, e.latest) {
            prop_assert!(a <= b && b <= c, "{:?}", out);
        }
        prop_assert!(out.slope_low <= out.slope_per_hour && out.slope_per_hour <= out.slope_high);
        // The line is found, so its crossing is too.
        prop_assert!(e.earliest.is_some() && e.likely.is_some(), "{:?}", out);
    }

    #[test]
    fn flat_noise_well_below_the_limit_never_exhausts_within_two_days(
        seed in any::<u64>(),
        level in 1.0f64..1000.0,
        sd in 0.0f64..0.1,
        // The level is at most 70 % of the limit.
        share in 0.05f64..=0.7,
        with_coarse in any::<bool>(),
        gaps in 0.0f64..0.3,
    ) {
        let mut rng = Rng(seed);
        let sd = sd * level;
        let f: Vec<Point> = fine(|_| level + sd * rng.normal())
            .into_iter()
            .filter(|p| p.at.as_millis() == NOW || rng.uniform() >= gaps)
            .collect();
        let c = if with_coarse {
            super::model::tests::coarse(|_| level + sd * rng.normal())
        } else {
            Vec::new()
        };
        let out = run(f, c, level / share, Toward::Above, 48).unwrap();
        let e = out.exhaustion;
        prop_assert_eq!((e.earliest, e.likely, e.latest), (None, None, None), "{:?}", out);
    }

    #[test]
    fn the_unit_does_not_matter(
        seed in any::<u64>(),
        level in 1.0f64..100.0,
        slope in -2.0f64..2.0,
        sd in 0.0f64..2.0,
        gap in 1.0f64..100.0,
        scale in 0.001f64..1000.0,
        toward in toward(),
        restart in any::<bool>(),
    ) {
        let mut rng = Rng(seed);
        let f = fine(|t| {
            let base = if restart && t < -5.0 { level + 30.0 } else { level };
            base + slope * t + sd * rng.normal()
        });
        let limit = match toward {
            Toward::Above => level + gap,
            Toward::Below => level - gap,
        };
        let scaled: Vec<Point> = f.iter().map(|p| Point { value: p.value * scale, ..*p }).collect();
        let a = run(f, Vec::new(), limit, toward, 7 * 24);
        let b = run(scaled, Vec::new(), limit * scale, toward, 7 * 24);
        match (a, b) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.exhaustion, b.exhaustion);
                prop_assert_eq!(a.already_past, b.already_past);
                prop_assert_eq!(a.method, b.method);
            }
            (a, b) => prop_assert_eq!(a.err(), b.err()),
        }
    }
}

#[test]
fn the_walk_ends_on_a_huge_look_ahead_and_a_tiny_slope() {
    let f = line(1, 50.0, 1e-9, 0.0);
    let out = run(f, Vec::new(), 100.0, Toward::Above, u64::MAX / 3600).unwrap();
    // 50 / 1e-9 h is about 5.7 million years: found, and at the right step.
    let likely = out.exhaustion.likely.expect("a crossing");
    let expected = (100.0 - out.level) / out.slope_per_hour * 3600.0;
    assert!((likely.as_secs_f64() - expected).abs() <= 600.0, "{out:?}");
    assert_eq!(likely.as_millis() % u128::from(FIVE_MIN.unsigned_abs()), 0);
}
