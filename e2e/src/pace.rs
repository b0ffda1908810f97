//! Pacing: the checker sends no faster than a stage's throttle lets it, so that its
//! run is a check of the service and not of API Gateway's rate limit.
//!
//! A token bucket, the model API Gateway throttles with: `rate` tokens a second, at most
//! `capacity` held, one spent per request. Starting full, the first `capacity` requests
//! go at once; after that, one every `1/rate` seconds.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Pacer {
    per_second: f64,
    capacity: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    filled_at: Instant,
}

impl Pacer {
    /// `rate` requests a second, in bursts of up to `capacity` (both at least 1).
    pub fn new(rate: u32, capacity: usize) -> Self {
        let capacity = capacity.max(1) as f64;
        Self {
            per_second: f64::from(rate.max(1)),
            capacity,
            bucket: Mutex::new(Bucket {
                tokens: capacity,
                filled_at: Instant::now(),
            }),
        }
    }

    /// Waits for a token and spends it.
    pub async fn acquire(&self) {
        self.wait_for(1.0, true).await;
    }

    /// Waits until `tokens` (at most the capacity) are there, spending none: a burst
    /// that follows can then go out at once, each of its requests spending its own.
    pub async fn wait_for_burst(&self, tokens: usize) {
        self.wait_for((tokens as f64).min(self.capacity), false)
            .await;
    }

    async fn wait_for(&self, tokens: f64, spend: bool) {
        loop {
            let wait = {
                let mut bucket = self.bucket.lock().await;
                let now = Instant::now();
                let refilled = now.duration_since(bucket.filled_at).as_secs_f64() * self.per_second;
                bucket.tokens = (bucket.tokens + refilled).min(self.capacity);
                bucket.filled_at = now;
                if bucket.tokens >= tokens {
                    if spend {
                        bucket.tokens -= tokens;
                    }
                    return;
                }
                Duration::from_secs_f64((tokens - bucket.tokens) / self.per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_bucket_lets_a_burst_through_then_paces_at_the_rate() {
        let pacer = Pacer::new(10, 4);
        let started = Instant::now();
        for _ in 0..4 {
            pacer.acquire().await;
        }
        assert_eq!(started.elapsed(), Duration::ZERO);
        for _ in 0..5 {
            pacer.acquire().await;
        }
        // Five more at 10 a second.
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(499) && elapsed <= Duration::from_millis(510),
            "{elapsed:?}"
        );

        // Waiting for a burst of 4 refills the bucket without spending it.
        pacer.wait_for_burst(4).await;
        let refilled = started.elapsed() - elapsed;
        assert!(refilled >= Duration::from_millis(399), "{refilled:?}");
        let before_burst = started.elapsed();
        for _ in 0..4 {
            pacer.acquire().await;
        }
        assert_eq!(started.elapsed(), before_burst);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_larger_than_the_bucket_waits_only_for_a_full_bucket() {
        let pacer = Pacer::new(5, 2);
        pacer.acquire().await;
        pacer.acquire().await;
        let started = Instant::now();
        pacer.wait_for_burst(100).await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(399) && waited <= Duration::from_millis(410),
            "{waited:?}"
        );
    }
}
