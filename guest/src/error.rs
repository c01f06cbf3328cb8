//! The connector's error (shared with the host through `dixa-contract`), and
//! the one place where an HTTP status becomes that error.

use crate::wire;

pub use dixa_contract::error::{Error, TransportKind};

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
/// `changes` says whether the request changes something in Dixa, so that a
/// 3xx or 5xx may have come after Dixa acted.
///
/// This is the only place that inspects a status code.
pub fn from_status(
    status: u16,
    retry_after_seconds: Option<u32>,
    body: &[u8],
    credentials: Credentials,
    changes: bool,
) -> Option<Error> {
    if (200..300).contains(&status) {
        return None;
    }
    let message = || error_message(status, body);
    Some(match status {
        401 if credentials == Credentials::None => Error::MissingCredentials,
        401 | 403 => Error::Unauthorized(message()),
        404 => Error::NotFound(message()),
        429 => Error::RateLimited {
            retry_after_seconds,
        },
        _ => Error::Api {
            status,
            message: message(),
            // A 4xx is Dixa refusing; a 3xx or 5xx may come after it acted.
            dixa_may_have_acted: changes && !(400..500).contains(&status),
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

    const CHANGES: bool = true;

    #[test]
    fn success_statuses_are_not_errors() {
        for status in [200, 201, 204] {
            assert_eq!(
                from_status(status, None, b"", Credentials::Sent, CHANGES),
                None
            );
        }
    }

    #[test]
    fn statuses_map_to_cases_with_dixas_message() {
        let body = br#"{"message":"The requested resource could not be found"}"#;
        let message = || "The requested resource could not be found".to_owned();
        let api = |status, dixa_may_have_acted| Error::Api {
            status,
            message: message(),
            dixa_may_have_acted,
        };
        let cases = [
            (401, CHANGES, Error::Unauthorized(message())),
            (403, CHANGES, Error::Unauthorized(message())),
            (404, CHANGES, Error::NotFound(message())),
            (
                429,
                CHANGES,
                Error::RateLimited {
                    retry_after_seconds: Some(3),
                },
            ),
            (400, CHANGES, api(400, false)),
            (303, CHANGES, api(303, true)),
            (503, CHANGES, api(503, true)),
            (503, !CHANGES, api(503, false)),
        ];
        for (status, changes, expected) in cases {
            assert_eq!(
                from_status(status, Some(3), body, Credentials::Sent, changes),
                Some(expected),
                "status {status}"
            );
        }
    }

    #[test]
    fn unauthorized_without_any_configured_key_is_missing_credentials() {
        let body = br#"{"message":"Unauthorized"}"#;
        assert_eq!(
            from_status(401, None, body, Credentials::None, CHANGES),
            Some(Error::MissingCredentials)
        );
        assert_eq!(
            from_status(401, None, body, Credentials::InjectedByHost, CHANGES),
            Some(Error::Unauthorized("Unauthorized".into()))
        );
    }

    #[test]
    fn non_json_bodies_are_quoted_briefly() {
        let api = |status, message: &str| Error::Api {
            status,
            message: message.into(),
            dixa_may_have_acted: true,
        };
        assert_eq!(
            from_status(
                502,
                None,
                b"  <html>Bad gateway</html>\n",
                Credentials::Sent,
                CHANGES
            ),
            Some(api(502, "<html>Bad gateway</html>"))
        );
        assert_eq!(
            from_status(500, None, b"", Credentials::Sent, CHANGES),
            Some(api(500, "HTTP 500 with an empty body"))
        );
        let long = "é".repeat(300);
        let Some(Error::Api { message, .. }) =
            from_status(500, None, long.as_bytes(), Credentials::Sent, CHANGES)
        else {
            panic!("expected an api error");
        };
        assert_eq!(message, format!("{}…", "é".repeat(200)));
    }
}
