//! A process-wide limit on calls to WeChat (`poll.max_calls_per_minute`).
//!
//! WeChat counts calls per appid and per minute and answers 45011 beyond its
//! limit; a gateway or egress proxy in front of many apps may impose its own
//! limit on the whole process. Every WeChat call — data calls, their retries
//! and token calls — waits here for its turn.
//!
//! The limiter is a leaky bucket without burst: calls are released at least
//! `60 s / N` apart, in the order they asked. That guarantees the stronger
//! property users care about — **no 60-second window ever holds more than
//! N calls** — which a token bucket with a burst of N would not (it allows
//! up to 2N in a sliding minute), and it spreads the calls of a large round
//! evenly instead of front-loading them.
//!
//! A turn is reserved under a `std` mutex that is never held across an
//! `.await`; the caller then sleeps until its slot. A caller dropped while
//! sleeping wastes its slot, which only makes the limiter more conservative.
//! Time is tokio's, so tests can run it on paused time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// One limiter shared by every app of the process. `0` calls per minute
/// means unlimited.
#[derive(Debug, Default)]
pub struct RateLimiter {
    state: Mutex<State>,
    granted: AtomicU64,
    /// Total time callers spent waiting, in microseconds.
    waited_us: AtomicU64,
    /// The same total, published as a self-metric when set.
    wait_counter: Option<prometheus::Counter>,
}

#[derive(Debug, Default)]
struct State {
    /// The least time between two calls; `None` = unlimited.
    spacing: Option<Duration>,
    /// The earliest instant the next call may go.
    next: Option<Instant>,
}

fn spacing_of(per_minute: u32) -> Option<Duration> {
    (per_minute > 0).then(|| Duration::from_secs(60) / per_minute)
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self::spaced(spacing_of(per_minute))
    }

    /// Calls at least `spacing` apart. Serves rates of any size, below one
    /// a minute too (backfill's `--rate`).
    pub fn spaced(spacing: Option<Duration>) -> Self {
        Self {
            state: Mutex::new(State {
                spacing: spacing.filter(|s| !s.is_zero()),
                next: None,
            }),
            ..Self::default()
        }
    }

    /// Also adds every wait to `counter` (seconds).
    pub fn with_wait_counter(mut self, counter: prometheus::Counter) -> Self {
        self.wait_counter = Some(counter);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two plain fields: a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the limit (on config reload). Calls already waiting keep
    /// their slot; the new spacing applies from the next reservation.
    pub fn set_per_minute(&self, per_minute: u32) {
        let mut st = self.lock();
        let spacing = spacing_of(per_minute);
        if st.spacing != spacing {
            st.spacing = spacing;
            if spacing.is_none() {
                st.next = None;
            }
        }
    }

    /// The limit in calls per minute, 0 when unlimited.
    pub fn per_minute(&self) -> u32 {
        self.lock()
            .spacing
            .map_or(0, |s| (60.0 / s.as_secs_f64()).round() as u32)
    }

    /// Waits for this call's turn.
    pub async fn acquire(&self) {
        let slot = {
            let mut st = self.lock();
            if let Some(spacing) = st.spacing {
                let now = Instant::now();
                let slot = st.next.map_or(now, |n| n.max(now));
                st.next = Some(slot + spacing);
                Some((slot, now))
            } else {
                None
            }
        };
        if let Some((slot, now)) = slot {
            if slot > now {
                self.waited_us.fetch_add(
                    (slot - now).as_micros().min(u64::MAX as u128) as u64,
                    Ordering::Relaxed,
                );
                if let Some(c) = &self.wait_counter {
                    c.inc_by((slot - now).as_secs_f64());
                }
                tokio::time::sleep_until(slot).await;
            }
        }
        self.granted.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls let through so far (limited or not).
    pub fn granted(&self) -> u64 {
        self.granted.load(Ordering::Relaxed)
    }

    /// Total time callers have waited for their turn.
    pub fn waited(&self) -> Duration {
        Duration::from_micros(self.waited_us.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Largest number of instants in any half-open window of `len`.
    fn max_in_window(times: &[Instant], len: Duration) -> usize {
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= len {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }

    #[tokio::test(start_paused = true)]
    async fn no_minute_holds_more_than_the_limit() {
        let limiter = Arc::new(RateLimiter::new(100));
        let start = Instant::now();
        // 60 concurrent callers asking five times each: 300 calls.
        let mut tasks = Vec::new();
        for _ in 0..60 {
            let l = limiter.clone();
            tasks.push(tokio::spawn(async move {
                let mut at = Vec::new();
                for _ in 0..5 {
                    l.acquire().await;
                    at.push(Instant::now());
                }
                at
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.extend(t.await.expect("task"));
        }
        times.sort();
        assert_eq!(times.len(), 300);
        assert_eq!(limiter.granted(), 300);
        assert_eq!(max_in_window(&times, Duration::from_secs(60)), 100);
        // Spread evenly, not in bursts: 300 calls take ~3 minutes.
        let took = *times.last().expect("calls") - start;
        assert!(took >= Duration::from_secs(179), "{took:?}");
        assert!(took <= Duration::from_secs(181), "{took:?}");
        assert!(limiter.waited() > Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_is_unlimited_and_idle_time_is_not_banked() {
        let limiter = RateLimiter::new(0);
        let start = Instant::now();
        for _ in 0..10_000 {
            limiter.acquire().await;
        }
        assert_eq!(Instant::now(), start);
        // After a long idle spell the limiter does not release a burst.
        limiter.set_per_minute(60);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(Instant::now() - t0, Duration::from_secs(2));
    }
}
