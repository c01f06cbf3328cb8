//! The connector's error, mirroring the WIT `error` variant, and the one place
//! where an HTTP status becomes that error.

use std::fmt;

use crate::wire;

/// Why an operation failed; one case per WIT `error` case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input broke a rule; nothing was sent.
    InvalidInput(String),
    /// No key was configured and Dixa answered 401.
    MissingCredentials,
    /// Dixa refused the key (401/403).
    Unauthorized(String),
    /// Dixa answered 404.
    NotFound(String),
    /// Dixa answered 429 until the retries ran out; seconds to wait if Dixa said.
    RateLimited(Option<u32>),
    /// Any other error status.
    Api { status: u16, message: String },
    /// The request could not be completed.
    Transport(String),
    /// A success status with a body that does not match Dixa's API.
    InvalidResponse(String),
}

impl Error {
    /// An invalid-input error for `field` breaking `rule`.
    pub fn invalid(field: &str, rule: impl fmt::Display) -> Self {
        Error::InvalidInput(format!("{field}: {rule}"))
    }

    /// The WIT case's name (`invalid-input`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid-input",
            Error::MissingCredentials => "missing-credentials",
            Error::Unauthorized(_) => "unauthorized",
            Error::NotFound(_) => "not-found",
            Error::RateLimited(_) => "rate-limited",
            Error::Api { .. } => "api",
            Error::Transport(_) => "transport",
            Error::InvalidResponse(_) => "invalid-response",
        }
    }
}

impl Error {
    /// The error with `secret` redacted from every text it carries.
    pub fn redacted(self, secret: &str) -> Error {
        let clean = |text| dixa_contract::redact::redact_owned(text, secret);
        match self {
            Error::InvalidInput(detail) => Error::InvalidInput(clean(detail)),
            Error::Unauthorized(message) => Error::Unauthorized(clean(message)),
            Error::NotFound(message) => Error::NotFound(clean(message)),
            Error::Api { status, message } => Error::Api {
                status,
                message: clean(message),
            },
            Error::Transport(detail) => Error::Transport(clean(detail)),
            Error::InvalidResponse(detail) => Error::InvalidResponse(clean(detail)),
            other @ (Error::MissingCredentials | Error::RateLimited(_)) => other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(detail) => write!(f, "invalid input: {detail}"),
            Error::MissingCredentials => write!(f, "no Dixa API key is configured"),
            Error::Unauthorized(message) => write!(f, "unauthorized: {message}"),
            Error::NotFound(message) => write!(f, "not found: {message}"),
            Error::RateLimited(Some(seconds)) => {
                write!(f, "rate limited by Dixa: retry in {seconds} s")
            }
            Error::RateLimited(None) => write!(f, "rate limited by Dixa"),
            Error::Api { status, message } => write!(f, "Dixa answered {status}: {message}"),
            Error::Transport(detail) => write!(f, "transport error: {detail}"),
            Error::InvalidResponse(detail) => write!(f, "invalid response from Dixa: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

/// Whether the request carried credentials, as far as the guest knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The guest sent its configured `api-key`.
    Sent,
    /// The host declared that it injects the key.
    InjectedByHost,
    /// Nobody configured a key.
    None,
}

/// Longest piece of a non-JSON error body quoted in an error message.
const MAX_QUOTED_BODY: usize = 200;

/// Turns an HTTP status and body into the typed error; `None` for success (2xx).
///
/// This is the only place that inspects a status code.
pub fn from_status(
    status: u16,
    retry_after_seconds: Option<u32>,
    body: &[u8],
    credentials: Credentials,
) -> Option<Error> {
    if (200..300).contains(&status) {
        return None;
    }
    let message = || error_message(status, body);
    Some(match status {
        401 if credentials == Credentials::None => Error::MissingCredentials,
        401 | 403 => Error::Unauthorized(message()),
        404 => Error::NotFound(message()),
        429 => Error::RateLimited(retry_after_seconds),
        _ => Error::Api {
            status,
            message: message(),
        },
    })
}

/// Dixa's `{"message": ...}`, else a short quote of the body, else the status.
fn error_message(status: u16, body: &[u8]) -> String {
    if let Ok(wire::ErrorBody { message }) = serde_json::from_slice(body) {
        return message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("HTTP {status} with an empty body");
    }
    match text.char_indices().nth(MAX_QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_statuses_are_not_errors() {
        for status in [200, 201, 204] {
            assert_eq!(from_status(status, None, b"", Credentials::Sent), None);
        }
    }

    #[test]
    fn statuses_map_to_cases_with_dixas_message() {
        let body = br#"{"message":"The requested resource could not be found"}"#;
        let cases = [
            (
                401,
                Error::Unauthorized("The requested resource could not be found".into()),
            ),
            (
                403,
                Error::Unauthorized("The requested resource could not be found".into()),
            ),
            (
                404,
                Error::NotFound("The requested resource could not be found".into()),
            ),
            (429, Error::RateLimited(Some(3))),
            (
                400,
                Error::Api {
                    status: 400,
                    message: "The requested resource could not be found".into(),
                },
            ),
            (
                503,
                Error::Api {
                    status: 503,
                    message: "The requested resource could not be found".into(),
                },
            ),
        ];
        for (status, expected) in cases {
            assert_eq!(
                from_status(status, Some(3), body, Credentials::Sent),
                Some(expected),
                "status {status}"
            );
        }
    }

    #[test]
    fn unauthorized_without_any_configured_key_is_missing_credentials() {
        let body = br#"{"message":"Unauthorized"}"#;
        assert_eq!(
            from_status(401, None, body, Credentials::None),
            Some(Error::MissingCredentials)
        );
        assert_eq!(
            from_status(401, None, body, Credentials::InjectedByHost),
            Some(Error::Unauthorized("Unauthorized".into()))
        );
    }

    #[test]
    fn non_json_bodies_are_quoted_briefly() {
        assert_eq!(
            from_status(
                502,
                None,
                b"  <html>Bad gateway</html>\n",
                Credentials::Sent
            ),
            Some(Error::Api {
                status: 502,
                message: "<html>Bad gateway</html>".into()
            })
        );
        assert_eq!(
            from_status(500, None, b"", Credentials::Sent),
            Some(Error::Api {
                status: 500,
                message: "HTTP 500 with an empty body".into()
            })
        );
        let long = "é".repeat(300);
        let Some(Error::Api { message, .. }) =
            from_status(500, None, long.as_bytes(), Credentials::Sent)
        else {
            panic!("expected an api error");
        };
        assert_eq!(message, format!("{}…", "é".repeat(200)));
    }
}
