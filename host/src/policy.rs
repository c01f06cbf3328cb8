//! The security policy applied to every request the component makes: which
//! origins and which Dixa routes it may reach, where the API key is added,
//! which headers go out with it, and what one call may hold in host memory.
//!
//! The component never sees the key (unless the embedder opts in): the host adds
//! `Authorization` only to requests that are one of the connector's operations
//! ([`dixa_contract::OPERATIONS`]) on the Dixa origin, strips every header but
//! a few, and refuses everything else.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use dixa_contract::Operation;
use dixa_contract::error::HOST_DENIAL_PREFIX;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::fair::CallContext;
use crate::http_client::HttpClient;
use crate::rate_limit::DixaRateLimiter;

/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 4096;

/// A Dixa API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key: Arc<str>,
    /// The `Authorization` value, built once and marked sensitive.
    header: http::HeaderValue,
}

/// Why a string is not an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    /// Nothing but whitespace.
    #[error("the API key is empty")]
    Empty,
    /// Not something Dixa could accept in an `Authorization` header.
    #[error(
        "the API key must be printable ASCII without spaces, at most {MAX_KEY_BYTES} bytes: {0}"
    )]
    Malformed(&'static str),
}

impl ApiKey {
    /// Checks and wraps a key, trimming surrounding whitespace (as from a key
    /// file): printable ASCII without spaces, at most [`MAX_KEY_BYTES`].
    pub fn new(key: &str) -> Result<Self, InvalidKey> {
        let key = key.trim();
        if key.is_empty() {
            Err(InvalidKey::Empty)
        } else if key.len() > MAX_KEY_BYTES {
            Err(InvalidKey::Malformed("it is too long"))
        } else {
            let malformed =
                || InvalidKey::Malformed("it holds a space, a control character or non-ASCII text");
            if !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(malformed());
            }
            let mut header = http::HeaderValue::from_str(key).map_err(|_| malformed())?;
            header.set_sensitive(true);
            Ok(ApiKey {
                key: key.into(),
                header,
            })
        }
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.key
    }

    /// `text` with the key replaced by `<redacted>`, also in its JSON-escaped
    /// and percent-encoded forms.
    pub fn redact<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        dixa_contract::redact::redact(text, &self.key)
    }

    /// [`redact`](Self::redact) for bytes that need not be UTF-8.
    pub fn redact_bytes<'b>(&self, bytes: &'b [u8]) -> std::borrow::Cow<'b, [u8]> {
        dixa_contract::redact::redact_bytes(bytes, &self.key)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Scheme, host and port: the unit the allow-list works on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal, lowercase.
    pub host: String,
    /// Port, defaulted from the scheme.
    pub port: u16,
}

impl Origin {
    /// Parses the origin of `url` (`scheme://host[:port][/...]`); rejects user info.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        Origin::of(&uri).ok_or_else(|| {
            format!("{url:?} must be an http:// or https:// URL with a host and no user info")
        })
    }

    /// The origin a request URI points at, if it has one the policy can judge.
    pub fn of(uri: &http::Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@') || authority.host().is_empty() {
            return None;
        }
        Some(Origin {
            scheme,
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default_port),
        })
    }

    /// Whether the host is a loopback address or `localhost`, where a key in
    /// clear never leaves the machine.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// How long the host waits on Dixa. The guest may ask for less, never more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish a connection.
    pub connect: Duration,
    /// From sending the request to the first byte of the response.
    pub first_byte: Duration,
    /// Between two chunks of the response body.
    pub between_bytes: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(30),
            between_bytes: Duration::from_secs(30),
        }
    }
}

/// What one call may hold in host memory, besides its linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Entries in the call's resource table (requests, bodies, streams, ...).
    pub resources: usize,
    /// Outgoing requests waiting for their response at once.
    pub requests_in_flight: usize,
    /// Body bytes of one outgoing request (buffered to send a `Content-Length`).
    pub request_body_bytes: usize,
    /// Body bytes of all the call's outgoing requests together.
    pub request_bytes_per_call: usize,
    /// Bytes of one header set (`wasi:http` fields) the component builds.
    pub header_bytes: usize,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            resources: 1024,
            requests_in_flight: 4,
            request_body_bytes: dixa_contract::operations::MAX_REQUEST_BYTES,
            request_bytes_per_call: 4 << 20,
            header_bytes: 32 << 10,
        }
    }
}

/// Request headers that go to Dixa; the host drops every other one the
/// component set (method overrides, forwarding headers, ...). `authorization`
/// is the host's own key when it has one, `content-length` its own count.
pub const DIXA_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "authorization",
    "content-length",
    "content-type",
    "host",
    "user-agent",
];

/// What the host allows the component to do on the network.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// The Dixa origin; the only one that receives the API key.
    pub dixa: Origin,
    /// The base URL's path, without a trailing slash (`""` for Dixa's own).
    pub dixa_path_prefix: String,
    /// Further origins the component may reach, without the key.
    pub extra_allowed: Vec<Origin>,
    /// Key added as `Authorization` on the operations' requests to `dixa`.
    pub api_key: Option<ApiKey>,
    /// Limits on each request.
    pub timeouts: Timeouts,
    /// Limits on each call.
    pub limits: CallLimits,
}

/// What the policy decided for one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// One of the connector's operations on the Dixa origin: send it with
    /// only [`DIXA_REQUEST_HEADERS`], adding the key when one is given.
    Dixa {
        /// The operation it is.
        operation: &'static Operation,
        /// The key to add.
        api_key: Option<ApiKey>,
    },
    /// An origin allowed with `allow_host`: send it as it is, without the key.
    Other,
    /// Refuse it.
    Deny(Denial),
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Its origin is not on the allow-list.
    Origin,
    /// It goes to Dixa but is none of the connector's operations (method,
    /// path, or a query).
    NotAnOperation,
}

impl OutboundPolicy {
    /// `text` with the key, if any, redacted.
    pub(crate) fn redact<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        match &self.api_key {
            Some(key) => key.redact(text),
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// [`redact`](Self::redact) for bytes that need not be UTF-8.
    pub(crate) fn redact_bytes<'b>(&self, bytes: &'b [u8]) -> std::borrow::Cow<'b, [u8]> {
        match &self.api_key {
            Some(key) => key.redact_bytes(bytes),
            None => std::borrow::Cow::Borrowed(bytes),
        }
    }

    /// `error` with the key, if any, redacted from every text it carries.
    pub(crate) fn redact_error(&self, error: crate::Error) -> crate::Error {
        match &self.api_key {
            Some(key) => error.redacted(key),
            None => error,
        }
    }

    /// Judges a request of `method` to `uri`.
    pub fn judge(&self, method: &http::Method, uri: &http::Uri) -> Verdict {
        match Origin::of(uri) {
            Some(origin) if origin == self.dixa => match self.operation(method, uri) {
                Some(operation) => Verdict::Dixa {
                    operation,
                    api_key: self.api_key.clone(),
                },
                None => Verdict::Deny(Denial::NotAnOperation),
            },
            Some(origin) if self.extra_allowed.contains(&origin) => Verdict::Other,
            _ => Verdict::Deny(Denial::Origin),
        }
    }

    /// The operation whose method and path template `uri` matches exactly:
    /// below the base URL's path, no query, each id one canonical segment.
    fn operation(&self, method: &http::Method, uri: &http::Uri) -> Option<&'static Operation> {
        if uri.query().is_some() {
            return None;
        }
        let rest = uri.path().strip_prefix(self.dixa_path_prefix.as_str())?;
        dixa_contract::operations::dixa_operation(method.as_str(), rest)
    }

    /// The guest's request options capped by the host's timeouts.
    pub fn request_options(&self, asked: Option<RequestOptions>) -> RequestOptions {
        let asked = asked.unwrap_or_default();
        let cap =
            |asked: Option<Duration>, limit: Duration| Some(asked.map_or(limit, |d| d.min(limit)));
        RequestOptions {
            connect_timeout: cap(asked.connect_timeout, self.timeouts.connect),
            first_byte_timeout: cap(asked.first_byte_timeout, self.timeouts.first_byte),
            between_bytes_timeout: cap(asked.between_bytes_timeout, self.timeouts.between_bytes),
        }
    }
}

/// Whether one call's requests may still go to Dixa, and whether one that
/// changes something may have taken effect there. The host closes it when it
/// decides the call's outcome; a request that was still on its way is then
/// refused, so the outcome never says "Dixa did not act" while a write can
/// still go out.
///
/// A write counts from the moment it is handed to the connection until Dixa
/// refuses it with a 4xx or the connection fails before carrying it (Dixa did
/// not act); any other answer, or none, leaves it counted. This is what the
/// host saw itself, whatever the component says.
#[derive(Debug, Default)]
pub(crate) struct DixaGate(Mutex<GateState>);

#[derive(Debug, Default)]
struct GateState {
    closed: bool,
    /// Writes handed to the connection and not refused by Dixa...
    writes: u32,
    /// ... and those of them that must not be repeated (not idempotent).
    unrepeatable_writes: u32,
}

/// What a closed [`DixaGate`] saw of the call's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WritesSeen {
    /// A write may have taken effect.
    pub(crate) any: bool,
    /// A write that must not be repeated may have taken effect.
    pub(crate) unrepeatable: bool,
}

impl DixaGate {
    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets a request that changes something go out: `false` once closed.
    fn forward(&self, repeatable: bool) -> bool {
        let mut state = self.state();
        if state.closed {
            return false;
        }
        state.writes += 1;
        state.unrepeatable_writes += u32::from(!repeatable);
        true
    }

    /// A forwarded write was refused by Dixa (4xx) or never left: Dixa did
    /// not act on it.
    fn did_not_act(&self, repeatable: bool) {
        let mut state = self.state();
        state.writes = state.writes.saturating_sub(1);
        if !repeatable {
            state.unrepeatable_writes = state.unrepeatable_writes.saturating_sub(1);
        }
    }

    /// Whether the call may still send anything.
    fn is_open(&self) -> bool {
        !self.state().closed
    }

    /// Closes the gate and says which writes went out without Dixa refusing them.
    pub(crate) fn close(&self) -> WritesSeen {
        let mut state = self.state();
        state.closed = true;
        WritesSeen {
            any: state.writes > 0,
            unrepeatable: state.unrepeatable_writes > 0,
        }
    }
}

/// `WasiHttpHooks` enforcing an [`OutboundPolicy`]; one per call, all sharing
/// the connector's connection pool.
pub struct PolicyHooks {
    policy: Arc<OutboundPolicy>,
    client: HttpClient,
    /// The connector's pace of requests to Dixa.
    rate_limiter: Arc<DixaRateLimiter>,
    /// Records a request that changes something as it is handed to the
    /// connection (it may not reach Dixa, but it may); refuses requests once
    /// the call's outcome is decided.
    gate: Arc<DixaGate>,
    /// Requests of this call waiting for their response.
    in_flight: Arc<AtomicUsize>,
    /// Body bytes this call may still send.
    bytes_left: Arc<AtomicUsize>,
    /// The caller whose turn at the rate limiter this call takes, and whether
    /// it still waits for the answer.
    context: CallContext,
}

impl PolicyHooks {
    /// Hooks for one call under `policy`, sending through `client` at the pace
    /// of `rate_limiter` (in the turn of the call's caller), through `gate`;
    /// a request still waiting for its turn when the call is given up is not
    /// sent.
    pub(crate) fn new(
        policy: Arc<OutboundPolicy>,
        client: HttpClient,
        rate_limiter: Arc<DixaRateLimiter>,
        gate: Arc<DixaGate>,
        context: CallContext,
    ) -> Self {
        let bytes_left = policy.limits.request_bytes_per_call;
        PolicyHooks {
            policy,
            client,
            rate_limiter,
            gate,
            in_flight: Arc::default(),
            bytes_left: Arc::new(AtomicUsize::new(bytes_left)),
            context,
        }
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

/// What a request to Dixa does there, by its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Reads,
    Writes {
        /// Repeating it changes nothing more (idempotent).
        repeatable: bool,
    },
}

/// A refusal the component reads as `wasi:http`'s `internal-error` with this
/// reason, marked so that it knows nothing was sent.
fn refused(why: String) -> wasmtime_wasi_http::Error {
    wasmtime_wasi_http::Error::InternalError(Some(format!("{HOST_DENIAL_PREFIX}{why}")))
}

/// Counts a request in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        let method = request.method().clone();
        let uri = request.uri().clone();
        let limits = self.policy.limits;
        let verdict = self.policy.judge(&method, &uri);
        let denial = match &verdict {
            Verdict::Deny(Denial::Origin) => Some(wasmtime_wasi_http::Error::HttpRequestDenied),
            Verdict::Deny(Denial::NotAnOperation) => Some(refused(
                "the request is none of the connector's operations".into(),
            )),
            _ if self.in_flight.load(Ordering::Relaxed) >= limits.requests_in_flight => {
                Some(refused(format!(
                    "at most {} requests may be in flight per call",
                    limits.requests_in_flight
                )))
            }
            _ => None,
        };
        if let Some(denial) = denial {
            tracing::warn!(%method, origin = %describe_origin(&uri), reason = %denial, "request denied");
            return Box::new(async move {
                // Take the body so the guest's write completes and it reads the
                // denial from the response, not from a closed stream.
                let _ =
                    http_body_util::Limited::new(request.into_body(), limits.request_body_bytes)
                        .collect()
                        .await;
                Err(denial)
            });
        }
        // Whether the request goes to Dixa, and whether it changes something there.
        let to_dixa = match &verdict {
            Verdict::Dixa { operation, .. } if operation.read_only => Some(Effect::Reads),
            Verdict::Dixa { operation, .. } => Some(Effect::Writes {
                repeatable: operation.idempotent,
            }),
            _ => None,
        };
        if let Verdict::Dixa { api_key, .. } = verdict {
            let headers = request.headers_mut();
            // Usually none: the connector's own requests carry only allowed headers.
            let stripped: Vec<http::HeaderName> = headers
                .keys()
                .filter(|name| !DIXA_REQUEST_HEADERS.contains(&name.as_str()))
                .cloned()
                .collect();
            for name in stripped {
                headers.remove(&name);
            }
            if let Some(key) = api_key {
                headers.insert(http::header::AUTHORIZATION, key.header);
            }
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let in_flight = InFlight(Arc::clone(&self.in_flight));
        let bytes_left = Arc::clone(&self.bytes_left);
        let options = self.policy.request_options(options);
        let client = self.client.clone();
        let rate_limiter = Arc::clone(&self.rate_limiter);
        let gate = Arc::clone(&self.gate);
        let policy = Arc::clone(&self.policy);
        let context = self.context.clone();
        Box::new(async move {
            let _in_flight = in_flight;
            let request = with_buffered_body(request, limits, &bytes_left).await?;
            if let Some(effect) = to_dixa {
                // Checked first, so a call given up never wins a turn.
                tokio::select! {
                    biased;
                    () = context.cancelled() => {
                        return Err(refused("the caller went away before it was sent".into()));
                    }
                    () = rate_limiter.ready(context.caller) => {}
                }
                let allowed = match effect {
                    Effect::Writes { repeatable } => gate.forward(repeatable),
                    Effect::Reads => gate.is_open(),
                };
                if !allowed {
                    return Err(refused("the call is over".into()));
                }
            }
            // A path can hold any id, the key included (evaluated only when logged).
            tracing::debug!(%method, path = %policy.redact(uri.path()), "sending");
            let sent = client.send(request, options).await;
            let dixa_did_not_act = match &sent {
                Ok(response) => response.status().is_client_error(),
                Err(error) => crate::http_client::failed_before_sending(error),
            };
            if let Some(Effect::Writes { repeatable }) = to_dixa
                && dixa_did_not_act
            {
                gate.did_not_act(repeatable);
            }
            let response = sent?;
            if to_dixa.is_some() {
                let retry_after = response.headers().get(http::header::RETRY_AFTER);
                rate_limiter.observe(
                    response.status().as_u16(),
                    retry_after.and_then(|value| value.to_str().ok()),
                );
            }
            tracing::debug!(%method, path = %policy.redact(uri.path()), status = response.status().as_u16(), "answered");
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// The request with its body read into memory, so it goes out with an exact
/// `Content-Length` rather than chunked: at most `limits.request_body_bytes`,
/// and taken from the call's remaining budget.
async fn with_buffered_body(
    request: http::Request<WasiBody>,
    limits: CallLimits,
    bytes_left: &AtomicUsize,
) -> Result<http::Request<Full<Bytes>>, wasmtime_wasi_http::Error> {
    let (mut parts, body) = request.into_parts();
    let cap = limits
        .request_body_bytes
        .min(bytes_left.load(Ordering::Relaxed));
    let body = http_body_util::Limited::new(body, cap)
        .collect()
        .await
        .map_err(|_| {
            refused(format!(
                "at most {} body bytes may be sent per request and {} per call",
                limits.request_body_bytes, limits.request_bytes_per_call
            ))
        })?
        .to_bytes();
    let len = body.len();
    bytes_left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(len)
        })
        .map_err(|_| {
            refused(format!(
                "at most {} body bytes may be sent per call",
                limits.request_bytes_per_call
            ))
        })?;
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    Ok(http::Request::from_parts(parts, Full::new(body)))
}

fn describe_origin(uri: &http::Uri) -> String {
    Origin::of(uri).map_or_else(|| "<invalid>".to_owned(), |o| o.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OutboundPolicy {
        OutboundPolicy {
            dixa: Origin::parse("https://dev.dixa.io").unwrap(),
            dixa_path_prefix: String::new(),
            extra_allowed: vec![Origin::parse("http://127.0.0.1:8080").unwrap()],
            api_key: ApiKey::new("secret").ok(),
            timeouts: Timeouts::default(),
            limits: CallLimits::default(),
        }
    }

    fn judge(url: &str) -> Verdict {
        judge_method("POST", url)
    }

    fn judge_method(method: &str, url: &str) -> Verdict {
        policy().judge(&method.parse().unwrap(), &url.parse().unwrap())
    }

    fn with_key(operation: &'static Operation) -> Verdict {
        Verdict::Dixa {
            operation,
            api_key: ApiKey::new("secret").ok(),
        }
    }

    #[test]
    fn only_the_operations_on_the_dixa_origin_get_the_key() {
        use dixa_contract::operations::{CREATE_INTERNAL_NOTE, TAG_CONVERSATION};
        assert_eq!(
            judge("https://dev.dixa.io/v1/conversations/1/notes"),
            with_key(&CREATE_INTERNAL_NOTE)
        );
        assert_eq!(
            judge_method(
                "PUT",
                "https://DEV.dixa.io:443/v1/conversations/conv%3A1/tags/t"
            ),
            with_key(&TAG_CONVERSATION)
        );
        assert_eq!(judge("http://127.0.0.1:8080/anything"), Verdict::Other);
    }

    #[test]
    fn requests_to_dixa_that_are_no_operation_are_denied() {
        let denied = Verdict::Deny(Denial::NotAnOperation);
        for (method, url) in [
            ("POST", "https://dev.dixa.io/v1/webhooks"),
            ("PATCH", "https://dev.dixa.io/v1/conversations/1/notes"),
            ("GET", "https://dev.dixa.io/v1/conversations/1/messages"),
            ("POST", "https://dev.dixa.io/v1/conversations/1/notes?x=1"),
            ("POST", "https://dev.dixa.io/v1/conversations/../notes"),
            ("POST", "https://dev.dixa.io/v1/conversations/%2e%2e/notes"),
            ("POST", "https://dev.dixa.io/v1/conversations//notes"),
            ("POST", "https://dev.dixa.io/v1/conversations/1/notes/"),
            ("PUT", "https://dev.dixa.io/v1/conversations/1/tags/a/b"),
            ("TRACE", "https://dev.dixa.io/v1/conversations/1/notes"),
        ] {
            assert_eq!(judge_method(method, url), denied, "{method} {url}");
        }
    }

    #[test]
    fn a_base_url_path_prefixes_every_route() {
        let policy = OutboundPolicy {
            dixa_path_prefix: "/dixa".into(),
            ..policy()
        };
        let judge = |url: &str| policy.judge(&http::Method::POST, &url.parse().unwrap());
        assert!(matches!(
            judge("https://dev.dixa.io/dixa/v1/conversations/1/notes"),
            Verdict::Dixa { .. }
        ));
        assert_eq!(
            judge("https://dev.dixa.io/v1/conversations/1/notes"),
            Verdict::Deny(Denial::NotAnOperation)
        );
    }

    #[test]
    fn keys_are_printable_ascii_without_spaces() {
        assert_eq!(ApiKey::new(" \n"), Err(InvalidKey::Empty));
        for bad in ["a b", "key\u{7}", "kéy", &"k".repeat(MAX_KEY_BYTES + 1)] {
            assert!(
                matches!(ApiKey::new(bad), Err(InvalidKey::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(ApiKey::new(&"k".repeat(MAX_KEY_BYTES)).is_ok());
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:1",
            "http://127.5.0.1",
            "http://localhost:8",
            "http://[::1]:9",
        ] {
            assert!(Origin::parse(url).unwrap().is_loopback(), "{url}");
        }
        for url in [
            "http://dev.dixa.io",
            "http://10.0.0.1",
            "http://localhost.evil.example",
        ] {
            assert!(!Origin::parse(url).unwrap().is_loopback(), "{url}");
        }
    }

    #[test]
    fn everything_else_is_denied() {
        for url in [
            "http://dev.dixa.io/v1",
            "https://dev.dixa.io:8443/v1",
            "https://evil.example/v1",
            "https://dev.dixa.io.evil.example/v1",
            "https://user@dev.dixa.io/v1",
            "https://93.184.216.34/v1",
            "http://127.0.0.1:8081/",
            "http://localhost:8080/",
        ] {
            assert_eq!(judge(url), Verdict::Deny(Denial::Origin), "{url}");
        }
    }

    #[test]
    fn guest_timeouts_are_capped_by_the_host() {
        let options = policy().request_options(Some(RequestOptions {
            connect_timeout: Some(Duration::from_secs(600)),
            first_byte_timeout: Some(Duration::from_secs(1)),
            between_bytes_timeout: None,
        }));
        assert_eq!(
            options,
            RequestOptions {
                connect_timeout: Some(Duration::from_secs(5)),
                first_byte_timeout: Some(Duration::from_secs(1)),
                between_bytes_timeout: Some(Duration::from_secs(30)),
            }
        );
    }

    #[test]
    fn keys_never_print() {
        let key = ApiKey::new("  secret\n").unwrap();
        assert_eq!(key.expose(), "secret");
        assert_eq!(format!("{key:?} {key}"), "ApiKey(<redacted>) <redacted>");
        assert!(!format!("{:?}", policy()).contains("secret"));
        assert_eq!(
            key.redact("a secret, \"secret\""),
            "a <redacted>, \"<redacted>\""
        );
    }

    #[test]
    fn origins_reject_user_info_and_other_schemes() {
        assert!(Origin::parse("https://user:pw@dev.dixa.io").is_err());
        assert!(Origin::parse("ftp://dev.dixa.io").is_err());
        assert!(Origin::parse("dev.dixa.io").is_err());
        assert_eq!(
            Origin::parse("https://dev.dixa.io/v1").unwrap().to_string(),
            "https://dev.dixa.io:443"
        );
    }
}
