//! Dixa's rate limit, kept by the host for every call of a connector (one key):
//! a GCRA limiter (`governor`) that each request to Dixa waits for, paused for
//! everyone when Dixa answers 429.
//!
//! The limit is per API token, so batch lines, `dixa serve` requests and MCP
//! tool calls that share a connector share one budget, and one 429 slows them
//! all down instead of each finding out alone.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota};
use tokio::time::Instant;

use crate::fair::{Caller, FairSemaphore};

/// Dixa's documented limit: 10 requests per second per API token...
pub const DIXA_REQUESTS_PER_SECOND: u32 = 10;
/// ... with bursts of up to 4.
pub const DIXA_BURST: u32 = 4;
/// Wait after a 429 without a usable `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// Longest pause a `Retry-After` can impose (Dixa's daily quota resets within a day).
const MAX_PAUSE: Duration = Duration::from_secs(24 * 3600);

/// How fast a connector may send requests to Dixa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: NonZeroU32,
    /// Requests that may go out at once after a quiet spell.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// No pacing at all (a 429 still pauses every call): for a Dixa stand-in,
    /// or a proxy in front of Dixa that keeps the limit itself.
    pub const UNLIMITED: RateLimit = RateLimit {
        per_second: NonZeroU32::MAX,
        burst: NonZeroU32::MAX,
    };

    /// `per_second` with Dixa's burst of 4 (or less, if `per_second` is lower).
    pub fn per_second(per_second: NonZeroU32) -> Self {
        RateLimit {
            per_second,
            burst: NonZeroU32::new(DIXA_BURST.min(per_second.get())).unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl Default for RateLimit {
    /// Dixa's documented limit: 10 per second, bursts of 4.
    fn default() -> Self {
        RateLimit::per_second(NonZeroU32::new(DIXA_REQUESTS_PER_SECOND).unwrap_or(NonZeroU32::MIN))
    }
}

/// The limiter shared by every call of one connector.
pub(crate) struct DixaRateLimiter {
    limiter: DefaultDirectRateLimiter,
    /// Set by a 429: nobody sends before this instant.
    paused_until: Mutex<Option<Instant>>,
    /// Who waits for the limiter next: one request at a time, taken
    /// round-robin by caller, so a caller with many requests in line delays
    /// another by one turn, not by its whole line.
    turns: Arc<FairSemaphore>,
}

impl DixaRateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        DixaRateLimiter {
            limiter: DefaultDirectRateLimiter::direct(quota),
            paused_until: Mutex::new(None),
            turns: FairSemaphore::new(1),
        }
    }

    /// Waits until a request of `caller` may go out: past any pause, then a
    /// cell of the quota, in the caller's turn when others wait too.
    pub(crate) async fn ready(&self, caller: Caller) {
        if let Some(_turn) = self.turns.try_acquire()
            && self.pause().is_none()
            && self.limiter.check().is_ok()
        {
            return;
        }
        let _turn = self.turns.acquire(caller).await;
        self.resumed().await;
        self.limiter.until_ready().await;
    }

    /// When the 429 pause in force ends; `None` when none holds.
    fn pause(&self) -> Option<Instant> {
        let until = (*self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner))?;
        (until > Instant::now()).then_some(until)
    }

    /// Waits until no 429 pause holds (a later 429 may extend it meanwhile).
    pub(crate) async fn resumed(&self) {
        while let Some(until) = self.pause() {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Takes note of Dixa's answer: a 429 pauses every sender for the
    /// `Retry-After` it gives (seconds or an HTTP date), else for a second.
    pub(crate) fn observe(&self, status: u16, retry_after: Option<&str>) {
        if status != 429 {
            return;
        }
        let wait = retry_after
            .and_then(|value| dixa_contract::error::parse_retry_after(value, SystemTime::now()))
            .unwrap_or(DEFAULT_PAUSE)
            .min(MAX_PAUSE);
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
        tracing::info!(
            seconds = wait.as_secs_f64(),
            "Dixa answered 429: pausing every request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_sender_for_its_retry_after() {
        let limiter = DixaRateLimiter::new(RateLimit::default());
        let start = Instant::now();
        limiter.ready(Caller::default()).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "a burst goes out at once");
        limiter.observe(503, Some("30"));
        limiter.ready(Caller::default()).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "only a 429 pauses");
        limiter.observe(429, Some("3"));
        limiter.observe(429, Some("1"));
        limiter.ready(Caller::default()).await;
        assert!(
            start.elapsed() >= Duration::from_secs(3),
            "the longest pause holds"
        );
        limiter.observe(429, Some("soon"));
        let resumed = Instant::now();
        limiter.ready(Caller::default()).await;
        assert!(resumed.elapsed() >= DEFAULT_PAUSE);
    }

    #[tokio::test]
    async fn requests_beyond_the_burst_wait_for_the_quota() {
        let limiter = DixaRateLimiter::new(RateLimit::default());
        let start = std::time::Instant::now();
        for _ in 0..8 {
            limiter.ready(Caller::default()).await;
        }
        // 4 at once, then one per 100 ms: never faster, however loaded the machine.
        assert!(
            start.elapsed() >= Duration::from_millis(390),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn the_default_is_dixas_documented_limit() {
        let limit = RateLimit::default();
        assert_eq!((limit.per_second.get(), limit.burst.get()), (10, 4));
        let slow = RateLimit::per_second(NonZeroU32::MIN);
        assert_eq!((slow.per_second.get(), slow.burst.get()), (1, 1));
    }
}
