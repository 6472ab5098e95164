//! Throughput of login-guard's pure path (parse + aggregate) on a realistic 10,000-event
//! batch, and how many distinct keys (= DynamoDB writes) such a batch produces.
//!
//! Run: `cargo run --release -p apptrack-bench --bin auth-bench [iterations]`.
//! Single-threaded, so the figure is events per second per core.

use std::hint::black_box;
use std::time::{Duration, Instant};

use apptrack_core::auth::{AuthParser, BatchAggregate, GuardPolicy, LoginAttempt, SourceState};
use apptrack_core::clock::Timestamp;

const EVENTS: usize = 10_000;
const T0: i64 = 1_732_416_613_000; // 2024-11-24T02:50:13Z
const SPAN_MS: i64 = 5 * 60_000; // one batch covering five minutes

/// xorshift64*: deterministic, so every run measures the same batch.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SSH_NAMES: &[&str] = &[
    "root",
    "admin",
    "ubuntu",
    "test",
    "oracle",
    "postgres",
    "user",
    "git",
    "ftpuser",
    "pi",
    "guest",
    "deploy",
    "jenkins",
    "hadoop",
    "mysql",
    "www-data",
    "support",
    "dev",
    "backup",
    "nagios",
    "ansible",
    "elastic",
    "minecraft",
    "steam",
    "teamspeak",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
    "python-requests/2.31.0",
    "okhttp/4.12.0",
    "curl/8.5.0",
];

fn ip(rng: &mut Rng, pool: usize, net: u8) -> String {
    let n = rng.below(pool);
    format!("{net}.{}.{}.{}", 10 + n % 200, n / 200 % 250, 1 + n % 253)
}

fn header(at: i64, pid: usize) -> String {
    let secs = at.div_euclid(1000) % 60;
    let mins = at.div_euclid(60_000) % 60;
    format!("Nov 24 02:{mins:02}:{secs:02} ip-10-0-1-17 sshd[{pid}]: ")
}

/// A mix shaped like an auth log group of a busy service under attack: sshd brute force
/// from a botnet, a credential-stuffing source against the web login, ordinary users
/// failing and succeeding, health checks from loopback, and lines that are not logins.
fn batch() -> Vec<(String, String, i64)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let at = T0 + i64::try_from(i).unwrap_or(0) * SPAN_MS / EVENTS as i64;
        let pid = 4000 + rng.below(3000);
        let roll = rng.below(100);
        let line = match roll {
            0..=29 => {
                let inv = if rng.below(3) == 0 { "" } else { "invalid user " };
                format!(
                    "{}Failed password for {inv}{} from {} port {} ssh2",
                    header(at, pid),
                    rng.pick(SSH_NAMES),
                    ip(&mut rng, 150, 45),
                    30_000 + rng.below(30_000)
                )
            }
            30..=34 => format!(
                "{}Invalid user {} from {} port {}",
                header(at, pid),
                rng.pick(SSH_NAMES),
                ip(&mut rng, 150, 45),
                30_000 + rng.below(30_000)
            ),
            35..=39 => format!(
                "{}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={}  user={}",
                header(at, pid),
                ip(&mut rng, 150, 45),
                rng.pick(SSH_NAMES)
            ),
            40..=49 => format!(
                "{}Connection closed by authenticating user {} {} port {} [preauth]",
                header(at, pid),
                rng.pick(SSH_NAMES),
                ip(&mut rng, 150, 45),
                30_000 + rng.below(30_000)
            ),
            50..=52 => format!(
                "{}Accepted publickey for {} from {} port {} ssh2: ED25519 SHA256:Zx1nq4s7b8Yv0MpLk3",
                header(at, pid),
                rng.pick(&["ec2-user", "deploy"]),
                ip(&mut rng, 5, 198),
                50_000 + rng.below(10_000)
            ),
            53..=62 => format!(
                r#"{{"level":"warn","time":"2024-11-24T02:50:13.412Z","service":"accounts","event":"login_failed","email":"user{:05}@example.com","ip":"203.0.113.77","user_agent":"python-requests/2.31.0","reason":"invalid_password"}}"#,
                rng.below(5000)
            ),
            63..=72 => format!(
                r#"{{"level":"warn","time":"2024-11-24T02:50:13.412Z","service":"accounts","event":"login_failed","email":"User{:04}@Example.com","ip":"{}","user_agent":"{}","reason":"invalid_password"}}"#,
                rng.below(2000),
                ip(&mut rng, 3000, 81),
                rng.pick(AGENTS)
            ),
            73..=82 => format!(
                r#"{{"level":"info","time":"2024-11-24T02:50:13.412Z","service":"accounts","event":"login_success","email":"user{:04}@example.com","ip":"{}","user_agent":"{}","mfa":true}}"#,
                rng.below(2000),
                ip(&mut rng, 3000, 81),
                rng.pick(AGENTS)
            ),
            83..=94 => format!(
                r#"{{"level":"info","time":"2024-11-24T02:50:13.412Z","service":"accounts","msg":"GET /api/profile 200","user":"user{:04}@example.com","ip":"{}","duration_ms":{}}}"#,
                rng.below(2000),
                ip(&mut rng, 3000, 81),
                rng.below(300)
            ),
            95..=97 => r#"{"level":"info","event":"login_success","user":"healthcheck","ip":"127.0.0.1","user_agent":"ELB-HealthChecker/2.0"}"#.to_owned(),
            _ => format!(
                "REPORT RequestId: 6f1c2a8e-3b7d-4c1e-9f0a-{:012x}\tDuration: 12.31 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 41 MB",
                rng.next() >> 16
            ),
        };
        // CloudWatch Logs event ids are 56 decimal digits.
        out.push((line, format!("3{:055}", i), at));
    }
    out
}

fn run(
    parser: &AuthParser,
    policy: &GuardPolicy,
    events: &[(String, String, i64)],
) -> (BatchAggregate, usize) {
    let mut unparsed = 0;
    let attempts: Vec<LoginAttempt> = events
        .iter()
        .filter_map(|(line, id, at)| {
            let a = parser.parse(line, id, Timestamp::from_millis(*at));
            unparsed += usize::from(a.is_none());
            a
        })
        .collect();
    (
        BatchAggregate::from_attempts(&attempts, &policy.allow, policy.limits),
        unparsed,
    )
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let policy = GuardPolicy::default();
    let parser = AuthParser::new(policy.parser.clone());
    let events = batch();
    let bytes: usize = events.iter().map(|(l, _, _)| l.len()).sum();

    // Warm up caches and the allocator before timing.
    let (agg, unparsed) = run(&parser, &policy, &events);
    for _ in 0..5 {
        black_box(run(&parser, &policy, black_box(&events)));
    }

    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            black_box(run(&parser, &policy, black_box(&events)));
            t.elapsed()
        })
        .collect();
    samples.sort_unstable();
    let median = samples[samples.len() / 2];
    let best = samples[0];
    let per_sec = |d: Duration| EVENTS as f64 / d.as_secs_f64();

    // Parse alone, to see where the time goes.
    let t = Instant::now();
    for _ in 0..iterations {
        for (line, id, at) in black_box(&events) {
            black_box(parser.parse(line, id, Timestamp::from_millis(*at)));
        }
    }
    let parse_only = t.elapsed() / iterations.max(1);

    let stuffing = agg
        .sources
        .iter()
        .filter(|(ip, s)| {
            let st = SourceState {
                account_buckets: s.accounts_by_minute.clone(),
            };
            policy.decide_stuffing(**ip, &st, s.last_at).is_some()
        })
        .count();
    let over_threshold = agg
        .accounts
        .values()
        .filter(|a| policy.window.should_lock(&a.failure_minutes, a.last_at))
        .count();

    println!(
        "auth-bench: {EVENTS} events, {:.1} MiB, {iterations} iterations, 1 thread",
        bytes as f64 / 1_048_576.0
    );
    println!(
        "  recognized {}  unparsed {unparsed}  (failures {}, successes {}, allow-listed {}, duplicates {})",
        agg.failures + agg.successes + agg.allowed + agg.duplicates,
        agg.failures,
        agg.successes,
        agg.allowed,
        agg.duplicates
    );
    println!(
        "  distinct keys = DynamoDB writes: {} ({} accounts + {} sources)",
        agg.write_count(),
        agg.accounts.len(),
        agg.sources.len()
    );
    println!(
        "  accounts over the lock threshold in this batch alone: {over_threshold}; stuffing sources: {stuffing}"
    );
    println!(
        "  parse + aggregate: median {:.2} ms/batch = {:.0} events/s/core (best {:.0}); parse alone {:.2} ms/batch",
        median.as_secs_f64() * 1e3,
        per_sec(median),
        per_sec(best),
        parse_only.as_secs_f64() * 1e3
    );
}
