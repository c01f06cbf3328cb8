//! When to try a request again, and how long to wait first.
//!
//! A request is tried again only when [`Error::may_retry`] says so: the failure
//! is temporary, and either the request is idempotent or Dixa did not act. So
//! a 429 or a refused connection is retried for every operation, while a 5xx
//! or a connection broken after sending is retried only for the idempotent
//! requests (the tag `PUT` and `DELETE`, the `GET`s): a retried POST could
//! show a customer the same message twice.

use std::time::Duration;

use crate::error::Error;

/// Attempts per operation, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// Longest single wait; a longer `Retry-After` ends the retries at once.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// Longest total wait across the retries of one operation.
pub const MAX_TOTAL_DELAY: Duration = Duration::from_secs(15);
/// Wait after a 429 without `Retry-After`; Dixa's limit is per second.
const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(1);
/// First wait after any other temporary failure; doubles.
const FAILURE_BACKOFF: Duration = Duration::from_millis(250);

/// The wait before the next attempt after `error`, or `None` to give up.
///
/// `retry_after` is the wait a 429 asked for; `attempts` how many were made so
/// far; `waited` the time already spent waiting.
pub fn delay(
    error: &Error,
    retry_after: Option<Duration>,
    idempotent: bool,
    attempts: u32,
    waited: Duration,
) -> Option<Duration> {
    if attempts >= MAX_ATTEMPTS || !error.may_retry(idempotent) {
        return None;
    }
    let delay = match error {
        Error::RateLimited { .. } => retry_after.unwrap_or(RATE_LIMIT_BACKOFF),
        _ => FAILURE_BACKOFF.saturating_mul(1 << attempts.saturating_sub(1).min(8)),
    };
    (delay <= MAX_DELAY && waited.saturating_add(delay) <= MAX_TOTAL_DELAY).then_some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransportKind;

    const NO_WAIT: Duration = Duration::ZERO;
    const LIMITED: Error = Error::RateLimited {
        retry_after_seconds: Some(2),
    };

    #[test]
    fn rate_limits_are_retried_for_every_operation() {
        let two = Some(Duration::from_secs(2));
        assert_eq!(
            delay(&LIMITED, two, false, 1, NO_WAIT),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            delay(&LIMITED, two, true, 2, NO_WAIT),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            delay(&LIMITED, two, false, 3, NO_WAIT),
            None,
            "at most three attempts"
        );
        assert_eq!(
            delay(&LIMITED, None, false, 1, NO_WAIT),
            Some(RATE_LIMIT_BACKOFF)
        );
    }

    #[test]
    fn long_or_cumulative_waits_end_the_retries() {
        let long = Some(MAX_DELAY + Duration::from_secs(1));
        assert_eq!(delay(&LIMITED, long, true, 1, NO_WAIT), None);
        let ten = Some(Duration::from_secs(10));
        assert_eq!(delay(&LIMITED, ten, true, 2, Duration::from_secs(6)), None);
    }

    #[test]
    fn failures_after_dixa_may_have_acted_are_retried_only_when_idempotent() {
        let acted = [
            Error::Api {
                status: 503,
                message: String::new(),
                dixa_may_have_acted: true,
            },
            Error::transport(TransportKind::ConnectionLost, "", true),
            Error::transport(TransportKind::Timeout, "", true),
        ];
        for error in &acted {
            assert_eq!(delay(error, None, false, 1, NO_WAIT), None, "{error:?}");
            assert_eq!(
                delay(error, None, true, 1, NO_WAIT),
                Some(Duration::from_millis(250))
            );
            assert_eq!(
                delay(error, None, true, 2, NO_WAIT),
                Some(Duration::from_millis(500))
            );
        }
    }

    #[test]
    fn failures_before_sending_are_retried_for_posts_too_unless_hopeless() {
        let refused = Error::transport(TransportKind::Connect, "", true);
        assert_eq!(
            delay(&refused, None, false, 1, NO_WAIT),
            Some(Duration::from_millis(250))
        );
        for hopeless in [
            Error::transport(TransportKind::Tls, "", true),
            Error::transport(TransportKind::Denied, "", true),
            Error::NotFound(String::new()),
        ] {
            assert_eq!(
                delay(&hopeless, None, true, 1, NO_WAIT),
                None,
                "{hopeless:?}"
            );
        }
    }
}
