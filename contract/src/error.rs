//! The connector's error: the WIT `error` variant as plain Rust, whether Dixa
//! may have acted, whether trying again can help, and the one JSON rendering
//! ([`ErrorBody`]) that the CLI, the HTTP fronts and batch reports all print.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Why an operation failed; one case per WIT `error` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input broke a rule; nothing was sent.
    InvalidInput {
        /// The camelCase input field, e.g. `conversationId`; `input` for the whole input.
        field: String,
        /// The rule it broke.
        reason: String,
    },
    /// The settings are unusable (bad `base-url`, unreadable config); nothing was sent.
    Configuration(String),
    /// No key was configured and Dixa answered 401.
    MissingCredentials,
    /// Dixa refused the key (401/403).
    Unauthorized(String),
    /// Dixa answered 404.
    NotFound(String),
    /// Dixa answered 429 until the retries ran out.
    RateLimited {
        /// Seconds Dixa asked to wait, when it said.
        retry_after_seconds: Option<u32>,
    },
    /// Any other error status.
    Api {
        /// Dixa's HTTP status.
        status: u16,
        /// Dixa's message, or the start of its body.
        message: String,
        /// A 5xx to a request that changes something: Dixa may have acted.
        dixa_may_have_acted: bool,
    },
    /// The request got no usable answer.
    Transport {
        /// What went wrong.
        kind: TransportKind,
        /// The host's or the network's description.
        message: String,
        /// The request went out and changes something.
        dixa_may_have_acted: bool,
    },
    /// A success status with a body that does not match Dixa's API.
    InvalidResponse {
        /// What did not match.
        message: String,
        /// Dixa answered success to a request that changes something.
        dixa_may_have_acted: bool,
    },
}

/// What went wrong with an exchange that got no usable answer; the WIT
/// `transport-kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// The host refused to send it (outbound policy or a per-call limit).
    Denied,
    /// Dixa's host name could not be resolved.
    Dns,
    /// No connection could be made (refused, unreachable, connect timeout).
    Connect,
    /// The TLS handshake failed (certificate or protocol).
    Tls,
    /// The request was sent but no answer came in time.
    Timeout,
    /// The connection broke after the request was sent.
    ConnectionLost,
    /// Any other failure, possibly after the request was sent.
    Other,
}

impl TransportKind {
    /// The kebab-case name, as in the WIT.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportKind::Denied => "denied",
            TransportKind::Dns => "dns",
            TransportKind::Connect => "connect",
            TransportKind::Tls => "tls",
            TransportKind::Timeout => "timeout",
            TransportKind::ConnectionLost => "connection-lost",
            TransportKind::Other => "other",
        }
    }

    /// Whether the request may have left the machine: false when it failed
    /// before a connection carried it.
    pub const fn request_may_have_been_sent(self) -> bool {
        matches!(
            self,
            TransportKind::Timeout | TransportKind::ConnectionLost | TransportKind::Other
        )
    }

    /// Whether the same request may get through later: not when the host
    /// refuses it or the certificate is wrong.
    pub const fn is_temporary(self) -> bool {
        !matches!(self, TransportKind::Denied | TransportKind::Tls)
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The start of the reason the reference host gives the component when it
/// refuses to send a request (as `wasi:http`'s `internal-error`), so the
/// component can tell a refusal from a failure after sending.
pub const HOST_DENIAL_PREFIX: &str = "denied by the host: ";

impl Error {
    /// An invalid-input error for `field` breaking `reason`.
    pub fn invalid(field: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// A transport error of `kind` for a request that `changes` something in
    /// Dixa or not: Dixa may have acted when such a request may have been sent.
    pub fn transport(kind: TransportKind, message: impl Into<String>, changes: bool) -> Self {
        Error::Transport {
            kind,
            message: message.into(),
            dixa_may_have_acted: changes && kind.request_may_have_been_sent(),
        }
    }

    /// The WIT case's name (`invalid-input`, ...).
    pub const fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid-input",
            Error::Configuration(_) => "configuration",
            Error::MissingCredentials => "missing-credentials",
            Error::Unauthorized(_) => "unauthorized",
            Error::NotFound(_) => "not-found",
            Error::RateLimited { .. } => "rate-limited",
            Error::Api { .. } => "api",
            Error::Transport { .. } => "transport",
            Error::InvalidResponse { .. } => "invalid-response",
        }
    }

    /// Whether Dixa may have carried out the operation despite the error. A
    /// 404 reached Dixa but changed nothing (false); a POST whose connection
    /// broke after sending may have (true).
    pub const fn dixa_may_have_acted(&self) -> bool {
        match self {
            Error::Api {
                dixa_may_have_acted,
                ..
            }
            | Error::Transport {
                dixa_may_have_acted,
                ..
            }
            | Error::InvalidResponse {
                dixa_may_have_acted,
                ..
            } => *dixa_may_have_acted,
            _ => false,
        }
    }

    /// The error of a last attempt after an earlier one may have acted: it
    /// says so too, where its case can (a later 429 or 404 cannot).
    pub fn after_an_attempt_that_may_have_acted(self) -> Self {
        match self {
            Error::Api {
                status, message, ..
            } => Error::Api {
                status,
                message,
                dixa_may_have_acted: true,
            },
            Error::Transport { kind, message, .. } => Error::Transport {
                kind,
                message,
                dixa_may_have_acted: true,
            },
            Error::InvalidResponse { message, .. } => Error::InvalidResponse {
                message,
                dixa_may_have_acted: true,
            },
            other => other,
        }
    }

    /// Whether the same call may succeed later without changes: 429, 5xx and
    /// transport failures other than a refusal or a TLS failure. The one place
    /// that decides it; retries and exit codes both read it.
    pub const fn is_temporary(&self) -> bool {
        match self {
            Error::RateLimited { .. } => true,
            Error::Api { status, .. } => *status >= 500,
            Error::Transport { kind, .. } => kind.is_temporary(),
            _ => false,
        }
    }

    /// Whether trying the same request again is both useful and safe: it is
    /// temporary, and either repeating it changes nothing more or Dixa did not act.
    pub const fn may_retry(&self, idempotent: bool) -> bool {
        self.is_temporary() && (idempotent || !self.dixa_may_have_acted())
    }

    /// The error with `secret` redacted from every text it carries.
    pub fn redacted(self, secret: &str) -> Error {
        let clean = |text| crate::redact::redact_owned(text, secret);
        match self {
            Error::InvalidInput { field, reason } => Error::InvalidInput {
                field,
                reason: clean(reason),
            },
            Error::Configuration(detail) => Error::Configuration(clean(detail)),
            Error::Unauthorized(message) => Error::Unauthorized(clean(message)),
            Error::NotFound(message) => Error::NotFound(clean(message)),
            Error::Api {
                status,
                message,
                dixa_may_have_acted,
            } => Error::Api {
                status,
                message: clean(message),
                dixa_may_have_acted,
            },
            Error::Transport {
                kind,
                message,
                dixa_may_have_acted,
            } => Error::Transport {
                kind,
                message: clean(message),
                dixa_may_have_acted,
            },
            Error::InvalidResponse {
                message,
                dixa_may_have_acted,
            } => Error::InvalidResponse {
                message: clean(message),
                dixa_may_have_acted,
            },
            other @ (Error::MissingCredentials | Error::RateLimited { .. }) => other,
        }
    }

    /// The error's JSON rendering.
    pub fn to_body(&self) -> ErrorBody {
        let mut body = ErrorBody::new(self.kind(), self.to_string(), self.dixa_may_have_acted());
        match self {
            Error::InvalidInput { field, .. } => body.field = Some(field.clone()),
            Error::RateLimited {
                retry_after_seconds,
            } => body.retry_after_seconds = *retry_after_seconds,
            Error::Api { status, .. } => body.status = Some(*status),
            Error::Transport { kind, .. } => body.transport_kind = Some(*kind),
            _ => {}
        }
        body
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput { field, reason } => write!(f, "invalid input: {field}: {reason}"),
            Error::Configuration(detail) => write!(f, "unusable configuration: {detail}"),
            Error::MissingCredentials => write!(f, "no Dixa API key is configured"),
            Error::Unauthorized(message) => write!(f, "unauthorized: {message}"),
            Error::NotFound(message) => write!(f, "not found: {message}"),
            Error::RateLimited {
                retry_after_seconds: Some(seconds),
            } => write!(f, "rate limited by Dixa: retry in {seconds} s"),
            Error::RateLimited { .. } => write!(f, "rate limited by Dixa"),
            Error::Api {
                status, message, ..
            } => write!(f, "Dixa answered {status}: {message}"),
            Error::Transport { kind, message, .. } => {
                write!(f, "transport error ({kind}): {message}")
            }
            Error::InvalidResponse { message, .. } => {
                write!(f, "invalid response from Dixa: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// An error as JSON, the same wherever it is printed:
/// `{"error", "message", "dixaMayHaveActed", "field"?, "transportKind"?, "status"?, "retryAfterSeconds"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The error case, e.g. `invalid-input`.
    pub error: String,
    /// What happened, for people.
    pub message: String,
    /// Whether Dixa may have carried out the operation.
    pub dixa_may_have_acted: bool,
    /// The input field at fault, for `invalid-input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What went wrong, for `transport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_kind: Option<TransportKind>,
    /// Dixa's HTTP status, for `api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds Dixa asked to wait, for `rate-limited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

impl ErrorBody {
    /// A body with only the three fields every error has.
    pub fn new(error: &str, message: impl Into<String>, dixa_may_have_acted: bool) -> Self {
        ErrorBody {
            error: error.to_owned(),
            message: message.into(),
            dixa_may_have_acted,
            field: None,
            transport_kind: None,
            status: None,
            retry_after_seconds: None,
        }
    }

    /// The body as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and booleans cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date, as the wait from `now`
/// (zero for a date in the past).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A wait as whole seconds, rounded up (a `Retry-After` of 0.2 s is 1 s).
pub fn whole_seconds(wait: Duration) -> u32 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_renders_the_documented_json() {
        let cases = [
            (
                Error::invalid("conversationId", "must not be empty"),
                r#"{"error":"invalid-input","message":"invalid input: conversationId: must not be empty","dixaMayHaveActed":false,"field":"conversationId"}"#,
            ),
            (
                Error::Configuration("base-url: must start with https://".into()),
                r#"{"error":"configuration","message":"unusable configuration: base-url: must start with https://","dixaMayHaveActed":false}"#,
            ),
            (
                Error::MissingCredentials,
                r#"{"error":"missing-credentials","message":"no Dixa API key is configured","dixaMayHaveActed":false}"#,
            ),
            (
                Error::NotFound("gone".into()),
                r#"{"error":"not-found","message":"not found: gone","dixaMayHaveActed":false}"#,
            ),
            (
                Error::RateLimited {
                    retry_after_seconds: Some(3),
                },
                r#"{"error":"rate-limited","message":"rate limited by Dixa: retry in 3 s","dixaMayHaveActed":false,"retryAfterSeconds":3}"#,
            ),
            (
                Error::Api {
                    status: 503,
                    message: "down".into(),
                    dixa_may_have_acted: true,
                },
                r#"{"error":"api","message":"Dixa answered 503: down","dixaMayHaveActed":true,"status":503}"#,
            ),
            (
                Error::transport(TransportKind::ConnectionLost, "connection closed", true),
                r#"{"error":"transport","message":"transport error (connection-lost): connection closed","dixaMayHaveActed":true,"transportKind":"connection-lost"}"#,
            ),
            (
                Error::InvalidResponse {
                    message: "no data".into(),
                    dixa_may_have_acted: true,
                },
                r#"{"error":"invalid-response","message":"invalid response from Dixa: no data","dixaMayHaveActed":true}"#,
            ),
        ];
        for (error, json) in cases {
            assert_eq!(error.to_body().to_json(), json, "{error:?}");
            let parsed: ErrorBody = serde_json::from_str(json).unwrap();
            assert_eq!(parsed, error.to_body());
        }
    }

    #[test]
    fn dixa_may_have_acted_only_once_a_changing_request_may_have_gone_out() {
        for kind in [
            TransportKind::Denied,
            TransportKind::Dns,
            TransportKind::Connect,
            TransportKind::Tls,
        ] {
            assert!(
                !Error::transport(kind, "", true).dixa_may_have_acted(),
                "{kind}"
            );
        }
        for kind in [
            TransportKind::Timeout,
            TransportKind::ConnectionLost,
            TransportKind::Other,
        ] {
            assert!(
                Error::transport(kind, "", true).dixa_may_have_acted(),
                "{kind}"
            );
            assert!(
                !Error::transport(kind, "", false).dixa_may_have_acted(),
                "{kind}"
            );
        }
    }

    #[test]
    fn a_request_is_retried_only_when_temporary_and_safe() {
        let lost = |changes| Error::transport(TransportKind::ConnectionLost, "", changes);
        let server = |acted| Error::Api {
            status: 503,
            message: String::new(),
            dixa_may_have_acted: acted,
        };
        // A POST that may have acted is never sent again; a PUT or a read is.
        assert!(!lost(true).may_retry(false));
        assert!(lost(true).may_retry(true));
        assert!(lost(false).may_retry(false));
        assert!(!server(true).may_retry(false));
        assert!(server(true).may_retry(true));
        // Nothing went out: safe for a POST too.
        assert!(Error::transport(TransportKind::Connect, "", true).may_retry(false));
        let limited = Error::RateLimited {
            retry_after_seconds: None,
        };
        assert!(limited.may_retry(false));
        // Trying again cannot help.
        for error in [
            Error::transport(TransportKind::Tls, "", true),
            Error::transport(TransportKind::Denied, "", true),
            Error::NotFound(String::new()),
            Error::Api {
                status: 409,
                message: String::new(),
                dixa_may_have_acted: false,
            },
        ] {
            assert!(!error.may_retry(true), "{error:?}");
        }
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
        for bad in ["soon", "-1", "Sun, 06 Nov 1994 08:49:37 CET", ""] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
        assert_eq!(whole_seconds(Duration::from_millis(200)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
    }
}
