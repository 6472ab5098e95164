//! The one retry policy: a bounded number of attempts with a full-jitter exponential pause
//! between them. Every loop that retries contention (conditional writes, lock races) uses it.

use std::time::Duration;

/// How often to try and how long to pause between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The jitter window of the first retry; it doubles with each retry...
    pub base: Duration,
    /// ...up to this.
    pub cap: Duration,
}

impl Retry {
    /// Contention on one DynamoDB item: many quick tries (concurrent raises of one incident).
    pub const CONTENTION: Retry = Retry {
        attempts: 40,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(250),
    };

    /// A transaction over many items that real DynamoDB may cancel while another holds them.
    pub const TRANSACTION: Retry = Retry {
        attempts: 8,
        base: Duration::from_millis(20),
        cap: Duration::from_millis(640),
    };

    /// The pause before try `attempt` (0-based): none before the first, else uniform in
    /// `[1 ms, window]` where the window doubles from `base` up to `cap` ("full jitter", so
    /// that racing writers spread out instead of colliding again in step).
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        if attempt == 0 {
            return Duration::ZERO;
        }
        let base = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let cap = u64::try_from(self.cap.as_millis()).unwrap_or(u64::MAX);
        let window = base
            .saturating_mul(1u64 << (attempt - 1).min(20))
            .min(cap)
            .max(1);
        Duration::from_millis(1 + random % window)
    }

    /// Sleeps for [`Retry::delay`] with fresh randomness.
    pub async fn pause(&self, attempt: u32) {
        let d = self.delay(attempt, random_u64());
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

/// A random number for jitter (ulid's generator is seeded from the OS).
pub fn random_u64() -> u64 {
    ulid::Ulid::new().random() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_try_does_not_wait() {
        assert_eq!(Retry::CONTENTION.delay(0, 12345), Duration::ZERO);
    }

    proptest! {
        #[test]
        fn pauses_stay_within_the_growing_window(attempt in 1u32..64, random: u64) {
            let r = Retry::CONTENTION;
            let d = r.delay(attempt, random);
            prop_assert!(d >= Duration::from_millis(1));
            prop_assert!(d <= r.cap + Duration::from_millis(1));
            let window = r.base.saturating_mul(1 << (attempt - 1).min(20)).min(r.cap);
            prop_assert!(d <= window + Duration::from_millis(1));
        }
    }
}
