//! Throughput of capacity-forecast's forecaster: 500 targets, each with a day of 5-minute
//! maxima (288 points) and two weeks of hourly maxima (336 points), of four shapes (steady
//! growth with noise, flat noise, daily seasonality with growth, a leaking sawtooth), the
//! history one run reads.
//!
//! Run: `cargo run --release -p apptrack-bench --bin forecast-bench [rounds]`.
//! Single-threaded, so the figure is forecasts per second per core. It also prints the
//! GetMetricData calls one run of 500 targets makes: arithmetic on the adapter's request
//! split (500 series per request) and CloudWatch's pages (100,800 datapoints), not a count
//! (ministack does not page); the runtime test counts 2 calls for 3 targets.

use std::hint::black_box;
use std::time::{Duration, Instant};

use apptrack_core::clock::Timestamp;
use apptrack_core::forecast::model::{ForecastInput, History, Point, Toward, forecast};

const TARGETS: usize = 500;
const NOW: i64 = 1_796_299_200_000; // 2026-12-03T12:00:00Z

/// splitmix64: deterministic, so every run measures the same series.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn noise(&mut self, sd: f64) -> f64 {
        // Box-Muller.
        let (u, v) = (self.unit().max(1e-12), self.unit());
        sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn shape(kind: usize, hours_ago: f64, rng: &mut Rng) -> f64 {
    let t = -hours_ago;
    match kind {
        0 => 70.0 + 0.8 * t + rng.noise(1.5),
        1 => 50.0 + rng.noise(5.0),
        2 => 55.0 + 0.05 * t + 15.0 * (t * std::f64::consts::TAU / 24.0).sin() + rng.noise(2.0),
        _ => 60.0 + 0.6 * t + 2.0 * (hours_ago * 12.0 % 10.0) + rng.noise(0.5),
    }
}

fn series(kind: usize, step_s: i64, count: i64, rng: &mut Rng) -> Vec<Point> {
    (0..count)
        .map(|i| {
            let ago_s = (count - 1 - i) * step_s;
            Point {
                at: Timestamp::from_millis(NOW - ago_s * 1000),
                value: shape(kind, ago_s as f64 / 3600.0, rng),
            }
        })
        .collect()
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let mut rng = Rng(2026);
    let histories: Vec<History> = (0..TARGETS)
        .map(|i| History {
            fine: series(i % 4, 300, 288, &mut rng),
            coarse: series(i % 4, 3600, 336, &mut rng),
        })
        .collect();
    let run = |out: &mut [usize; 2]| {
        for h in &histories {
            let f = forecast(&ForecastInput {
                history: h,
                limit: 90.0,
                toward: Toward::Above,
                now: Timestamp::from_millis(NOW),
                look_ahead: Duration::from_secs(48 * 3600),
            });
            match black_box(f) {
                Ok(f) if f.exhaustion.earliest.is_some() => out[0] += 1,
                _ => out[1] += 1,
            }
        }
    };
    let mut counts = [0usize; 2];
    run(&mut counts); // warm-up
    let start = Instant::now();
    for _ in 0..rounds {
        run(&mut [0; 2]);
    }
    let elapsed = start.elapsed();
    let per_run = elapsed / rounds;
    let points = 288 + 336;
    println!(
        "forecast-bench: {TARGETS} targets x {points} points, {rounds} rounds: {:.1} ms per run of {TARGETS}, {:.0} forecasts/s on one core",
        per_run.as_secs_f64() * 1e3,
        TARGETS as f64 / per_run.as_secs_f64()
    );
    println!(
        "  verdicts: {} exhaust within 48 h, {} do not (of one run)",
        counts[0], counts[1]
    );
    // The adapter sends every target's day in one read and its two weeks in another, each
    // split into requests of at most 500 series; CloudWatch pages a request's answer at
    // 100,800 datapoints.
    let pages = |series: usize, points_each: usize| {
        let requests = series.div_ceil(500);
        let per_request = (series / requests.max(1)) * points_each;
        requests * per_request.div_ceil(100_800).max(1)
    };
    println!(
        "  GetMetricData per run of {TARGETS} targets: {} (day: {} + two weeks: {}), from the adapter's request split and CloudWatch's 100,800-datapoint pages",
        pages(TARGETS, 288) + pages(TARGETS, 336),
        pages(TARGETS, 288),
        pages(TARGETS, 336)
    );
}
