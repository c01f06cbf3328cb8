//! The operations end to end: validate, build the request, send it with retries,
//! and map the answer. The transport is a trait so all of it tests natively.

use std::time::{Duration, SystemTime};

use crate::error::{self, Credentials, Error, TransportKind};
use crate::request::{self, DixaRequest, Method};
use crate::response;
use crate::retry;

/// Dixa's API origin, used when the `base-url` config key is unset.
pub use dixa_contract::operations::DIXA_BASE_URL as DEFAULT_BASE_URL;
/// Sent as `User-Agent`.
pub const USER_AGENT: &str = concat!("dixa-connector/", env!("CARGO_PKG_VERSION"));

/// Where and how to reach Dixa, from the `wasi:config/store` keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// Origin (and optional path prefix) without a trailing slash.
    pub base_url: String,
    /// Key from the `api-key` config key.
    pub api_key: Option<String>,
    /// `api-key-injected` = "true": the host adds `Authorization` itself.
    pub key_injected_by_host: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("key_injected_by_host", &self.key_injected_by_host)
            .finish()
    }
}

impl Settings {
    /// Reads the settings through `get`, a lookup of one config key.
    ///
    /// Each key is also looked up with `_` for `-` (`api_key`), the only form
    /// Spin's variable names allow.
    pub fn from_config(
        mut get: impl FnMut(&str) -> Result<Option<String>, String>,
    ) -> Result<Self, Error> {
        let mut read = |key: &str| {
            let value = match get(key) {
                Ok(None) => get(&key.replace('-', "_")),
                found => found,
            };
            value.map_err(|e| Error::Configuration(format!("reading config key {key}: {e}")))
        };
        let base_url = read("base-url")?.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let api_key = read("api-key")?.filter(|key| !key.is_empty());
        let key_injected_by_host = read("api-key-injected")?.as_deref() == Some("true");
        Ok(Settings {
            base_url: check_base_url(&base_url)?,
            api_key,
            key_injected_by_host,
        })
    }

    fn credentials(&self) -> Credentials {
        match (&self.api_key, self.key_injected_by_host) {
            (Some(_), _) => Credentials::Sent,
            (None, true) => Credentials::InjectedByHost,
            (None, false) => Credentials::None,
        }
    }
}

/// An `http(s)://host[:port][/prefix]` URL without query, fragment or trailing slash.
fn check_base_url(url: &str) -> Result<String, Error> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| unusable_base_url("must start with https:// or http://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err(unusable_base_url("must name a host, without user info"));
    }
    if url
        .chars()
        .any(|c| !c.is_ascii_graphic() || c == '?' || c == '#')
    {
        return Err(unusable_base_url(
            "must not contain spaces, a query or a fragment",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn unusable_base_url(rule: &str) -> Error {
    Error::Configuration(format!("base-url: {rule}"))
}

/// One HTTP request as the transport sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest<'a> {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<&'a [u8]>,
    /// Largest response body accepted: the transport reads one byte more at
    /// most, so the client can tell it was too large.
    pub max_response_bytes: usize,
}

/// What the transport got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

/// A request that got no usable response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What went wrong, which also says whether the request may have been sent.
    pub kind: TransportKind,
    pub message: String,
}

/// Sends HTTP requests and waits; `wasi:http` in the component, a fake in tests.
pub trait Transport {
    /// Sends one request and reads the whole response.
    fn send(&mut self, request: &HttpRequest<'_>) -> Result<HttpResponse, TransportError>;
    /// Waits before a retry.
    fn sleep(&mut self, duration: Duration);
    /// The wall-clock time, to read `Retry-After` dates.
    fn now(&self) -> SystemTime;
}

/// Dixa's conversation operations over a transport.
pub struct Client<T> {
    transport: T,
    settings: Settings,
}

/// One method per operation of the table, each the same three steps:
/// `request::$op` builds (and validates) the request, `send` retries it as the
/// row allows, `response::$op` reads Dixa's answer. An operation without its
/// request or response function does not compile.
macro_rules! client_operations {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        impl<T: Transport> Client<T> {
            $(
                #[doc = concat!("The `", stringify!($snake), "` operation (see its row in the table).")]
                pub fn $snake(
                    &mut self,
                    input: &dixa_contract::types::$input,
                ) -> Result<dixa_contract::types::$output, Error> {
                    let request = request::$snake(input)?;
                    let body = self.execute(&request)?.body;
                    response::$snake(input, &body).map_err(|e| self.invalid_response(&request, e))
                }
            )*
        }
    };
}
dixa_contract::for_each_operation!(client_operations);

impl<T: Transport> Client<T> {
    pub fn new(transport: T, settings: Settings) -> Self {
        Client {
            transport,
            settings,
        }
    }

    /// `text` with the configured `api-key` redacted (see [`dixa_contract::redact`]).
    pub fn redact(&self, text: String) -> String {
        match &self.settings.api_key {
            Some(key) => dixa_contract::redact::redact_owned(text, key),
            None => text,
        }
    }

    /// Sends `request` (see [`Client::send`]), with the configured `api-key`
    /// redacted from any error.
    fn execute(&mut self, request: &DixaRequest) -> Result<HttpResponse, Error> {
        self.send(request).map_err(|error| self.redact_error(error))
    }

    /// A success answer to `request` whose body is wrong: Dixa acted if the
    /// request changes something.
    fn invalid_response(&self, request: &DixaRequest, message: String) -> Error {
        self.redact_error(Error::InvalidResponse {
            message,
            dixa_may_have_acted: request.changes,
        })
    }

    fn redact_error(&self, error: Error) -> Error {
        match &self.settings.api_key {
            Some(key) => error.redacted(key),
            None => error,
        }
    }

    /// Sends `request`, retrying as `retry` allows; `Ok` only for a 2xx answer.
    fn send(&mut self, request: &DixaRequest) -> Result<HttpResponse, Error> {
        let http = self.http_request(request);
        let mut waited = Duration::ZERO;
        let mut attempts = 0;
        // Only an idempotent request is tried again after Dixa may have acted;
        // its final error must still say so.
        let mut acted = false;
        loop {
            attempts += 1;
            let (error, retry_after) = match self.transport.send(&http) {
                Ok(response) => {
                    let retry_after = response.retry_after.as_deref().and_then(|value| {
                        dixa_contract::error::parse_retry_after(value, self.transport.now())
                    });
                    match error::from_status(
                        response.status,
                        retry_after.map(dixa_contract::error::whole_seconds),
                        &response.body,
                        self.settings.credentials(),
                        request.changes,
                    ) {
                        None if response.body.len() > request.max_response_bytes => {
                            return Err(Error::InvalidResponse {
                                message: format!(
                                    "body larger than {} bytes",
                                    request.max_response_bytes
                                ),
                                dixa_may_have_acted: request.changes,
                            });
                        }
                        None => return Ok(response),
                        Some(error) => (error, retry_after),
                    }
                }
                Err(e) => (Error::transport(e.kind, e.message, request.changes), None),
            };
            match retry::delay(&error, retry_after, request.idempotent, attempts, waited) {
                Some(delay) => {
                    acted |= error.dixa_may_have_acted();
                    self.transport.sleep(delay);
                    waited += delay;
                }
                None if acted => return Err(error.after_an_attempt_that_may_have_acted()),
                None => return Err(error),
            }
        }
    }

    fn http_request<'a>(&self, request: &'a DixaRequest) -> HttpRequest<'a> {
        let mut headers = vec![
            ("accept", "application/json".to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
        ];
        // No content-length: waki fails its final write check when the stream
        // closes after the declared length. The reference host sends a length.
        if request.body.is_some() {
            headers.push(("content-type", "application/json".to_owned()));
        }
        if let Some(key) = &self.settings.api_key {
            headers.push(("authorization", key.clone()));
        }
        HttpRequest {
            method: request.method,
            url: format!("{}{}", self.settings.base_url, request.path),
            headers,
            body: request.body.as_deref(),
            max_response_bytes: request.max_response_bytes,
        }
    }
}

/// A scripted transport for the native tests of this module and `service`.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::request::Method;
    use std::collections::VecDeque;

    /// Method, URL, headers and body of a sent request.
    pub type Sent = (Method, String, Vec<(&'static str, String)>, Option<String>);

    /// Answers from a script and records what was sent and slept.
    #[derive(Default)]
    pub struct Scripted {
        pub answers: VecDeque<Result<HttpResponse, TransportError>>,
        pub sent: Vec<Sent>,
        pub slept: Vec<Duration>,
    }

    impl Scripted {
        pub fn new(answers: Vec<Result<HttpResponse, TransportError>>) -> Self {
            Scripted {
                answers: answers.into(),
                ..Scripted::default()
            }
        }
    }

    impl Transport for Scripted {
        fn send(&mut self, request: &HttpRequest<'_>) -> Result<HttpResponse, TransportError> {
            self.sent.push((
                request.method,
                request.url.clone(),
                request.headers.clone(),
                request.body.map(|b| String::from_utf8(b.to_vec()).unwrap()),
            ));
            self.answers.pop_front().expect("no scripted answer left")
        }
        fn sleep(&mut self, duration: Duration) {
            self.slept.push(duration);
        }
        fn now(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH
        }
    }

    pub fn answer(
        status: u16,
        retry_after: Option<&str>,
        body: &str,
    ) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            retry_after: retry_after.map(Into::into),
            body: body.as_bytes().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Scripted, answer};
    use super::*;
    use dixa_contract::types::{Direction, MessageInput, TagInput, TagResult};

    fn client(
        answers: Vec<Result<HttpResponse, TransportError>>,
        api_key: Option<&str>,
    ) -> Client<Scripted> {
        Client::new(
            Scripted::new(answers),
            Settings {
                base_url: "http://127.0.0.1:9".into(),
                api_key: api_key.map(Into::into),
                key_injected_by_host: false,
            },
        )
    }

    fn inbound() -> MessageInput {
        MessageInput {
            conversation_id: "9456".into(),
            content: "I need some help!".into(),
            direction: Direction::Inbound,
            agent_id: None,
        }
    }

    fn tag() -> TagInput {
        TagInput {
            conversation_id: "9456".into(),
            tag_id: "t-1".into(),
        }
    }

    const MESSAGE: &str = r#"{"data":{"messageId":"m","authorId":"a","createdAt":"2021-06-09T08:18:37.284Z","direction":"Inbound","content":{"value":"I need some help!","_type":"Text"}}}"#;

    #[test]
    fn sends_the_exact_request_with_the_configured_key() {
        let mut client = client(vec![answer(200, None, MESSAGE)], Some("secret-token"));
        let message = client.add_message(&inbound()).unwrap();
        assert_eq!(message.message_id, "m");
        assert_eq!(
            client.transport.sent,
            vec![(
                Method::Post,
                "http://127.0.0.1:9/v1/conversations/9456/messages".to_owned(),
                vec![
                    ("accept", "application/json".to_owned()),
                    ("user-agent", USER_AGENT.to_owned()),
                    ("content-type", "application/json".to_owned()),
                    ("authorization", "secret-token".to_owned()),
                ],
                Some(
                    r#"{"_type":"Inbound","content":{"_type":"Text","value":"I need some help!"}}"#
                        .to_owned()
                ),
            )]
        );
    }

    #[test]
    fn post_is_retried_after_429_but_never_after_500() {
        let mut limited = client(
            vec![answer(429, Some("2"), "{}"), answer(200, None, MESSAGE)],
            Some("k"),
        );
        assert!(limited.add_message(&inbound()).is_ok());
        assert_eq!(limited.transport.sent.len(), 2);
        assert_eq!(limited.transport.slept, vec![Duration::from_secs(2)]);

        let mut failing = client(vec![answer(500, None, r#"{"message":"boom"}"#)], Some("k"));
        assert_eq!(
            failing.add_message(&inbound()),
            Err(Error::Api {
                status: 500,
                message: "boom".into(),
                dixa_may_have_acted: true,
            })
        );
        assert_eq!(failing.transport.sent.len(), 1);

        let mut broken = client(
            vec![Err(TransportError {
                kind: TransportKind::ConnectionLost,
                message: "connection reset".into(),
            })],
            Some("k"),
        );
        assert_eq!(
            broken.add_message(&inbound()),
            Err(Error::Transport {
                kind: TransportKind::ConnectionLost,
                message: "connection reset".into(),
                dixa_may_have_acted: true,
            })
        );
        assert_eq!(broken.transport.sent.len(), 1);
    }

    #[test]
    fn post_is_retried_when_no_connection_was_made_but_not_after_a_tls_failure() {
        let refused = || TransportError {
            kind: TransportKind::Connect,
            message: "connection refused".into(),
        };
        let mut client_ = client(vec![Err(refused()), answer(200, None, MESSAGE)], Some("k"));
        assert!(client_.add_message(&inbound()).is_ok());
        assert_eq!(client_.transport.sent.len(), 2);

        let mut tls = client(
            vec![Err(TransportError {
                kind: TransportKind::Tls,
                message: "invalid peer certificate".into(),
            })],
            Some("k"),
        );
        assert_eq!(
            tls.tag_conversation(&tag()),
            Err(Error::Transport {
                kind: TransportKind::Tls,
                message: "invalid peer certificate".into(),
                dixa_may_have_acted: false,
            })
        );
        assert_eq!(tls.transport.sent.len(), 1, "a TLS failure is not retried");
    }

    #[test]
    fn tag_put_is_retried_after_5xx_and_transport_errors() {
        let mut client = client(
            vec![
                answer(503, None, ""),
                Err(TransportError {
                    kind: TransportKind::ConnectionLost,
                    message: "connection reset".into(),
                }),
                answer(204, None, ""),
            ],
            Some("k"),
        );
        assert_eq!(
            client.tag_conversation(&tag()),
            Ok(TagResult { success: true })
        );
        assert_eq!(client.transport.sent.len(), 3);
        assert_eq!(
            client.transport.slept,
            vec![Duration::from_millis(250), Duration::from_millis(500)]
        );
        let (method, url, headers, body) = &client.transport.sent[0];
        assert_eq!(*method, Method::Put);
        assert_eq!(url, "http://127.0.0.1:9/v1/conversations/9456/tags/t-1");
        assert!(!headers.iter().any(|(name, _)| *name == "content-type"));
        assert_eq!(*body, None);
    }

    #[test]
    fn a_put_that_may_have_acted_once_says_so_whatever_its_last_attempt_says() {
        let refused = || {
            Err(TransportError {
                kind: TransportKind::Connect,
                message: "connection refused".into(),
            })
        };
        let mut client = client(vec![answer(503, None, ""), refused(), refused()], Some("k"));
        assert_eq!(
            client.tag_conversation(&tag()),
            Err(Error::Transport {
                kind: TransportKind::Connect,
                message: "connection refused".into(),
                dixa_may_have_acted: true,
            })
        );
        assert_eq!(client.transport.sent.len(), 3);
    }

    #[test]
    fn persistent_rate_limit_gives_up_after_three_attempts() {
        let mut client = client(
            vec![
                answer(429, Some("1"), ""),
                answer(429, None, ""),
                answer(429, Some("4"), ""),
            ],
            Some("k"),
        );
        assert_eq!(
            client.tag_conversation(&tag()),
            Err(Error::RateLimited {
                retry_after_seconds: Some(4)
            })
        );
        assert_eq!(
            client.transport.slept,
            vec![Duration::from_secs(1), Duration::from_secs(1)]
        );
    }

    #[test]
    fn oversized_success_body_is_an_invalid_response_and_not_retried() {
        let huge = "x".repeat(dixa_contract::operations::WRITE_RESPONSE_BYTES + 1);
        let mut client = client(vec![answer(200, None, &huge)], Some("k"));
        assert_eq!(
            client.tag_conversation(&tag()),
            Err(Error::InvalidResponse {
                message: "body larger than 1048576 bytes".into(),
                dixa_may_have_acted: true,
            })
        );
        assert_eq!(client.transport.sent.len(), 1);
    }

    #[test]
    fn invalid_input_sends_nothing() {
        let mut client = client(vec![], Some("k"));
        let mut input = inbound();
        input.conversation_id = "../admin".into();
        assert!(matches!(
            client.add_message(&input),
            Err(Error::InvalidInput { .. })
        ));
        assert!(client.transport.sent.is_empty());
    }

    #[test]
    fn without_a_key_no_authorization_is_sent_and_401_means_missing_credentials() {
        let mut client = client(
            vec![answer(401, None, r#"{"message":"Unauthorized"}"#)],
            None,
        );
        assert_eq!(
            client.tag_conversation(&tag()),
            Err(Error::MissingCredentials)
        );
        let (_, _, headers, _) = &client.transport.sent[0];
        assert!(!headers.iter().any(|(name, _)| *name == "authorization"));
    }

    #[test]
    fn settings_come_from_config_with_defaults() {
        let config = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                Ok(pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned()))
            }
        };
        assert_eq!(
            Settings::from_config(config(&[])),
            Ok(Settings {
                base_url: DEFAULT_BASE_URL.into(),
                api_key: None,
                key_injected_by_host: false,
            })
        );
        assert_eq!(
            Settings::from_config(config(&[
                ("base-url", "http://127.0.0.1:8080/"),
                ("api-key", "k"),
                ("api-key-injected", "true"),
            ])),
            Ok(Settings {
                base_url: "http://127.0.0.1:8080".into(),
                api_key: Some("k".into()),
                key_injected_by_host: true,
            })
        );
        // Spin's spelling; the kebab-case key wins when both are set.
        assert_eq!(
            Settings::from_config(config(&[
                ("base_url", "http://127.0.0.1:8080"),
                ("api_key", "snake"),
                ("api-key", "kebab"),
            ])),
            Ok(Settings {
                base_url: "http://127.0.0.1:8080".into(),
                api_key: Some("kebab".into()),
                key_injected_by_host: false,
            })
        );
        for (url, rule) in [
            ("ftp://dev.dixa.io", "must start with https:// or http://"),
            ("https://", "must name a host, without user info"),
            (
                "https://user@evil.example",
                "must name a host, without user info",
            ),
            (
                "https://dev.dixa.io?x=1",
                "must not contain spaces, a query or a fragment",
            ),
        ] {
            let pairs: &'static [(&str, &str)] = Box::leak(Box::new([("base-url", url)]));
            assert_eq!(
                Settings::from_config(config(pairs)),
                Err(Error::Configuration(format!("base-url: {rule}"))),
                "{url}"
            );
        }
        assert!(
            !format!(
                "{:?}",
                Settings::from_config(config(&[("api-key", "secret")]))
            )
            .contains("secret")
        );
    }
}
