//! When to try a request again, and how long to wait first.
//!
//! A 429 means Dixa did not process the request, so every operation is retried
//! after one. A 5xx or a broken connection may come after Dixa acted, so only the
//! idempotent tag `PUT` is retried then: a retried POST could show a customer the
//! same message twice.

use std::time::{Duration, SystemTime};

use crate::error::Error;

/// Attempts per operation, the first included.
pub const MAX_ATTEMPTS: u32 = 3;
/// Longest single wait; a longer `Retry-After` ends the retries at once.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// Longest total wait across the retries of one operation.
pub const MAX_TOTAL_DELAY: Duration = Duration::from_secs(15);
/// Wait after a 429 without `Retry-After`; Dixa's limit is per second.
const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(1);
/// First wait after a 5xx or transport failure of an idempotent request; doubles.
const FAILURE_BACKOFF: Duration = Duration::from_millis(250);

/// A failed attempt as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429, with the wait Dixa asked for.
    RateLimited { retry_after: Option<Duration> },
    /// 5xx: Dixa may or may not have acted.
    ServerError,
    /// No usable response; `retryable` is false when trying again cannot help
    /// (for example the host's policy denied the request).
    Transport { retryable: bool },
    /// Anything else: the answer will not change.
    Final,
}

impl Failure {
    /// Classifies the typed error of an answered request.
    pub fn of(error: &Error, retry_after: Option<Duration>) -> Self {
        match error {
            Error::RateLimited(_) => Failure::RateLimited { retry_after },
            Error::Api { status, .. } if *status >= 500 => Failure::ServerError,
            _ => Failure::Final,
        }
    }
}

/// The wait before the next attempt, or `None` to give up.
///
/// `attempts` is how many were made so far; `waited` the time already spent waiting.
pub fn delay(
    failure: Failure,
    idempotent: bool,
    attempts: u32,
    waited: Duration,
) -> Option<Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let delay = match failure {
        Failure::RateLimited { retry_after } => retry_after.unwrap_or(RATE_LIMIT_BACKOFF),
        Failure::ServerError | Failure::Transport { retryable: true } if idempotent => {
            FAILURE_BACKOFF.saturating_mul(1 << attempts.saturating_sub(1).min(8))
        }
        _ => return None,
    };
    (delay <= MAX_DELAY && waited.saturating_add(delay) <= MAX_TOTAL_DELAY).then_some(delay)
}

/// Parses `Retry-After`: delay-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(parse_imf_fixdate(value)?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the Unix epoch of an IMF-fixdate.
fn parse_imf_fixdate(value: &str) -> Option<u64> {
    let mut fields = value.split(' ');
    let weekday = fields.next()?;
    let day: u64 = fields.next()?.parse().ok()?;
    let month = fields.next()?;
    let year: u64 = fields.next()?.parse().ok()?;
    let time = fields.next()?;
    if fields.next() != Some("GMT") || fields.next().is_some() || !weekday.ends_with(',') {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let mut hms = time.split(':').map(|n| n.parse::<u64>().ok());
    let (hour, minute, second) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day)?;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm), for years >= 1970.
fn days_since_epoch(year: u64, month: u64, day: u64) -> Option<u64> {
    let year = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = year / 400;
    let year_of_era = year % 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::ZERO;

    #[test]
    fn rate_limits_are_retried_for_every_operation() {
        let failure = Failure::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            delay(failure, false, 1, NO_WAIT),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            delay(failure, true, 2, NO_WAIT),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            delay(failure, false, 3, NO_WAIT),
            None,
            "at most three attempts"
        );
        let unspecified = Failure::RateLimited { retry_after: None };
        assert_eq!(
            delay(unspecified, false, 1, NO_WAIT),
            Some(RATE_LIMIT_BACKOFF)
        );
    }

    #[test]
    fn long_or_cumulative_waits_end_the_retries() {
        let long = Failure::RateLimited {
            retry_after: Some(MAX_DELAY + Duration::from_secs(1)),
        };
        assert_eq!(delay(long, true, 1, NO_WAIT), None);
        let ten = Failure::RateLimited {
            retry_after: Some(Duration::from_secs(10)),
        };
        assert_eq!(delay(ten, true, 2, Duration::from_secs(6)), None);
    }

    #[test]
    fn server_and_transport_failures_are_retried_only_when_idempotent() {
        for failure in [Failure::ServerError, Failure::Transport { retryable: true }] {
            assert_eq!(delay(failure, false, 1, NO_WAIT), None, "{failure:?}");
            assert_eq!(
                delay(failure, true, 1, NO_WAIT),
                Some(Duration::from_millis(250))
            );
            assert_eq!(
                delay(failure, true, 2, NO_WAIT),
                Some(Duration::from_millis(500))
            );
        }
        assert_eq!(
            delay(Failure::Transport { retryable: false }, true, 1, NO_WAIT),
            None
        );
        assert_eq!(delay(Failure::Final, true, 1, NO_WAIT), None);
    }

    #[test]
    fn failures_are_classified_from_the_typed_error() {
        let server = Error::Api {
            status: 503,
            message: String::new(),
        };
        let client = Error::Api {
            status: 409,
            message: String::new(),
        };
        assert_eq!(Failure::of(&server, None), Failure::ServerError);
        assert_eq!(Failure::of(&client, None), Failure::Final);
        assert_eq!(
            Failure::of(&Error::RateLimited(Some(1)), Some(Duration::from_secs(1))),
            Failure::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            }
        );
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_imf_fixdate("Tue, 24 Nov 2026 23:37:54 GMT"),
            Some(1_795_563_474)
        );
        for bad in [
            "soon",
            "-1",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "06 Nov 1994 08:49:37 GMT",
            "",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }
}
