//! Serves a `connector-service` component over HTTP/1.1: each request runs the
//! component's `wasi:http/incoming-handler` in a fresh sandbox (see
//! [`Connector::handle_http`]). What `wasmtime serve` or an edge runtime does
//! with the same component, plus this host's key injection and allow-list.
//!
//! Callers are not trusted, and neither is the component, so the host checks
//! each request before the component runs or a call slot is taken: the `Host`
//! header must name this server (against DNS rebinding), an `Origin`, when a
//! browser sends one, must name it too (against cross-site requests), `Authorization` must
//! carry the service token (constant-time compare), a body must be JSON and
//! arrive whole within [`ServeOptions::body_timeout`]. Connections are capped,
//! header reads and idle keep-alives time out, and shutdown drains in-flight
//! calls so no caller is left with an unknown outcome.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use dixa_contract::redact::REDACTED;

use crate::per_core::PerCore;
use crate::{CallContext, Connector, ConnectorError, Error, ErrorBody};

/// Largest request body `dixa serve` reads before the component runs: the
/// largest input of any operation (the component then holds each route to
/// its own operation's cap), so this front refuses nothing the library takes.
pub const MAX_REQUEST_BODY: usize = dixa_contract::operations::MAX_INPUT_BYTES;
/// Largest reply body passed on from the component.
const MAX_REPLY_BODY: usize = 16 << 20;

/// The bearer token callers of an HTTP front must present. Never printed by
/// `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceToken(Arc<str>);

impl ServiceToken {
    /// Wraps `token` (surrounding whitespace trimmed, as from a file); `None`
    /// unless it is 16 to 4096 printable ASCII characters without spaces.
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        dixa_contract::auth::is_valid_token(token).then(|| ServiceToken(token.into()))
    }

    /// A fresh random token: 32 bytes from the operating system, hex-encoded.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(ServiceToken(hex::encode(bytes).into()))
    }

    /// The token itself, to print once or hand to the component.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceToken(<redacted>)")
    }
}

/// How [`serve`] guards the component; start from [`ServeOptions::new`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The token every request must present as `Authorization: Bearer <token>`.
    pub token: ServiceToken,
    /// Host names accepted in the `Host` header besides the bound address
    /// and `localhost` (e.g. the public name behind a TLS-terminating proxy).
    pub public_hosts: Vec<String>,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Longest wait for a request's headers, also between keep-alive requests.
    pub header_read_timeout: Duration,
    /// Longest wait for a request's whole body, before it takes a call slot.
    pub body_timeout: Duration,
    /// Longest a reply may make no progress (the caller reads nothing)
    /// before its connection is closed.
    pub write_timeout: Duration,
    /// Longest wait for in-flight calls when shutting down.
    pub drain_timeout: Duration,
    /// Take each request's caller from the last address of its
    /// `X-Forwarded-For` (added by a proxy in front) instead of the peer
    /// address. Only behind a proxy that sets it: anyone else can forge it.
    pub trust_forwarded_for: bool,
    /// Runs each connection, its calls included, on one of these
    /// current-thread runtimes instead of the caller's (see [`PerCore`]).
    pub per_core: Option<Arc<PerCore>>,
}

impl ServeOptions {
    /// The defaults, with `token`: [`default_max_connections`], 10 s for
    /// headers and for bodies, 30 s for a stalled reply, 60 s to drain.
    pub fn new(token: ServiceToken) -> Self {
        ServeOptions {
            token,
            public_hosts: Vec::new(),
            max_connections: default_max_connections(),
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(60),
            trust_forwarded_for: false,
            per_core: None,
        }
    }
}

/// Connections a front allows by default: 1024, or fewer when the process
/// may open fewer files, so that the cap answers 503 before descriptors run
/// out (see [`max_connections_for`]).
#[cfg(unix)]
pub fn default_max_connections() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limit into `limit`, which outlives the call.
    let soft = match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } {
        0 => usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    max_connections_for(soft)
}

/// Connections a front allows by default: 1024.
#[cfg(not(unix))]
pub fn default_max_connections() -> usize {
    1024
}

/// The connection cap for a soft limit of `open_files` descriptors: a
/// quarter of them, at least 64, stays with the connector (its compiled
/// code, its connections to Dixa, the listener, connections being refused);
/// at most 1024.
pub fn max_connections_for(open_files: usize) -> usize {
    let headroom = (open_files / 4).max(64);
    open_files.saturating_sub(headroom).clamp(1, 1024)
}

/// Serves `connector`'s HTTP routes (the component's own, see
/// [`Connector::handle_http`]) on `listener` until `shutdown` completes, then
/// stops accepting and lets the calls in flight finish (at most
/// [`ServeOptions::drain_timeout`]).
pub async fn serve(
    connector: Arc<Connector>,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    run(listener, options, shutdown, move |guard, peer, request| {
        let connector = Arc::clone(&connector);
        async move { respond(&connector, &guard, peer, request).await }
    })
    .await;
}

/// The accept loop of an HTTP front: connections capped, header reads timed
/// out, each request handed to `handle` with the [`Guard`] it must pass and
/// its peer's address, and a graceful drain at `shutdown`. What [`serve`] and
/// `dixa-mcp`'s HTTP server share; `handle` must call [`Guard::check`] and
/// [`Guard::read_body`] before it acts.
pub async fn run<H, F, B>(
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
    handle: H,
) where
    H: Fn(Arc<Guard>, IpAddr, Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let local = listener.local_addr().ok();
    let guard = Arc::new(Guard::new(&options, local));
    let connections = Arc::new(Semaphore::new(options.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut backoff = AcceptBackoff::default();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff.reset();
                    (stream, peer.ip())
                }
                Err(e) => {
                    // E.g. out of file descriptors: wait instead of spinning.
                    tokio::time::sleep(backoff.failed(&e)).await;
                    continue;
                }
            },
        };
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tasks.spawn(refuse_connection(stream));
            continue;
        };
        let guard = Arc::clone(&guard);
        let handle = handle.clone();
        let mut stopping = stopping.clone();
        let http = http.clone();
        let write_timeout = options.write_timeout;
        let connection = move |stream: TcpStream| async move {
            let _permit = permit;
            let service = service_fn(move |request| {
                let answer = handle(Arc::clone(&guard), peer, request);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            // A caller that stops reading cannot pin its reply: a write that
            // makes no progress for the write timeout ends the connection.
            let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
            stream.set_write_timeout(Some(write_timeout));
            let connection = http.serve_connection(TokioIo::new(Box::pin(stream)), service);
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = async { stopping.wait_for(|stop| *stop).await.map(drop) } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        };
        match &options.per_core {
            None => {
                tasks.spawn(connection(stream));
            }
            Some(cores) => {
                // The socket moves to the core's own I/O driver there.
                let Ok(stream) = stream.into_std() else {
                    continue;
                };
                let on_core = cores.spawn(async move {
                    if let Ok(stream) = TcpStream::from_std(stream) {
                        connection(stream).await;
                    }
                });
                tasks.spawn(async move {
                    let _ = on_core.await;
                });
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(options.drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = tasks.len(),
            "shutting down with connections still open after the drain timeout"
        );
    }
}

/// Answers a connection over the cap with 503 and closes it.
async fn refuse_connection(mut stream: tokio::net::TcpStream) {
    let body = r#"{"error":"overloaded","message":"too many connections: try again later"}"#;
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Waits after failed accepts, doubling from 10 ms to 1 s, and logs at most
/// once a second how many failed.
#[derive(Default)]
struct AcceptBackoff {
    delay: Duration,
    failures: u64,
    last_log: Option<Instant>,
}

impl AcceptBackoff {
    fn failed(&mut self, error: &std::io::Error) -> Duration {
        self.failures += 1;
        if self
            .last_log
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(error = %error, failures = self.failures, "accepting connections fails; backing off");
            self.last_log = Some(Instant::now());
            self.failures = 0;
        }
        self.delay = (self.delay * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
        self.delay
    }

    fn reset(&mut self) {
        self.delay = Duration::ZERO;
    }
}

/// The checks a front makes before anything runs: the `Host`, the `Origin`,
/// the bearer token, the body's type, size and arrival time.
pub struct Guard {
    /// What `Authorization: Bearer` must carry.
    token: ServiceToken,
    /// Longest wait for a request's whole body.
    body_timeout: Duration,
    /// Accepted `Host` names, lowercase, without port.
    hosts: Vec<String>,
    /// Whether a proxy's `X-Forwarded-For` names the caller.
    trust_forwarded_for: bool,
}

impl Guard {
    fn new(options: &ServeOptions, local: Option<SocketAddr>) -> Self {
        let mut hosts = vec!["localhost".to_owned()];
        if let Some(local) = local {
            hosts.push(match local.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            });
        }
        hosts.extend(options.public_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Guard {
            token: options.token.clone(),
            body_timeout: options.body_timeout,
            hosts,
            trust_forwarded_for: options.trust_forwarded_for,
        }
    }

    /// The call context of `request` from `peer`: its caller is the peer
    /// address, or the last `X-Forwarded-For` address when that is trusted.
    pub fn context<B>(&self, peer: IpAddr, request: &Request<B>) -> CallContext {
        let forwarded = || {
            let header = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .next_back()?;
            let last = header.to_str().ok()?.rsplit(',').next()?;
            last.trim().parse::<IpAddr>().ok()
        };
        match self.trust_forwarded_for.then(forwarded).flatten() {
            Some(caller) => CallContext::for_peer(caller),
            None => CallContext::for_peer(peer),
        }
    }

    /// `Err` for a request that must not reach the component.
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), Refusal> {
        let headers = request.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<http::uri::Authority>().ok());
        if !host.is_some_and(|host| {
            self.hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host.host()))
        }) {
            return Err(Refusal {
                status: StatusCode::MISDIRECTED_REQUEST,
                kind: "forbidden-host",
                message: "the Host header does not name this server (add it with --public-host)",
            });
        }
        let origins: Vec<&[u8]> = headers
            .get_all(header::ORIGIN)
            .iter()
            .map(|origin| origin.as_bytes())
            .collect();
        let serves = |host: &str| self.hosts.iter().any(|h| h == host);
        if !dixa_contract::front::origin_allowed(&origins, serves) {
            return Err(Refusal {
                status: StatusCode::FORBIDDEN,
                kind: "forbidden-origin",
                message: "the Origin header names a site this server does not serve",
            });
        }
        let authorization = match headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .collect::<Vec<_>>()
            .as_slice()
        {
            [one] => Some(one.as_bytes()),
            _ => None,
        };
        if !dixa_contract::auth::bearer_matches(authorization, self.token.expose()) {
            return Err(Refusal {
                status: StatusCode::UNAUTHORIZED,
                kind: "unauthenticated",
                message: "this service needs Authorization: Bearer <service token>",
            });
        }
        let has_body = headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|len| len.as_bytes() != b"0")
            || headers.contains_key(header::TRANSFER_ENCODING);
        let json = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| dixa_contract::front::is_json(t.as_bytes()));
        if has_body && !json {
            return Err(Refusal {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                kind: "invalid-input",
                message: "the request body must be sent as Content-Type: application/json",
            });
        }
        Ok(())
    }
}

impl Guard {
    /// The whole request body, read before anything runs: at most `cap`
    /// bytes (the front's, derived from the table of operations), arriving
    /// within the body timeout; otherwise the refusal to answer with.
    pub async fn read_body(
        &self,
        body: hyper::body::Incoming,
        cap: usize,
    ) -> Result<Bytes, Response<Full<Bytes>>> {
        match tokio::time::timeout(self.body_timeout, Limited::new(body, cap).collect()).await {
            Ok(Ok(body)) => Ok(body.to_bytes()),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(invalid_input(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body is larger than {cap} bytes"),
            )),
            Ok(Err(_)) => Err(invalid_input(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            )),
            Err(_elapsed) => Err(invalid_input(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            )),
        }
    }
}

/// Why a front answered a request itself, before anything ran.
pub struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: &'static str,
}

impl Refusal {
    /// The refusal as the reply to send: its status and the error JSON.
    pub fn response(&self) -> Response<Full<Bytes>> {
        let mut response = match self.kind {
            "invalid-input" => invalid_input(self.status, self.message),
            kind => reply(self.status, kind, self.message),
        };
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Checks the request, reads its body, runs the component and passes its
/// reply on with the key redacted; or the host's own JSON error.
async fn respond(
    connector: &Connector,
    guard: &Guard,
    peer: IpAddr,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let context = guard.context(peer, &request);
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    if let Err(refused) = guard.check(&request) {
        tracing::info!(%method, path, status = refused.status.as_u16(), "refused");
        return refused.response();
    }
    let (mut parts, body) = request.into_parts();
    // Judged here against every name this server answers to; the component
    // knows only the Host it was sent, which a proxy may have rewritten.
    parts.headers.remove(header::ORIGIN);
    let body = match guard.read_body(body, MAX_REQUEST_BODY).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let body = Full::new(body).map_err(|never| -> wasmtime_wasi_http::Error { match never {} });
    let request = Request::from_parts(parts, body);
    let response = match connector.handle_http_for(&context, request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%method, path, %error, "the component gave no response");
            return error_response(&error);
        }
    };
    let (mut parts, body) = response.into_parts();
    match Limited::new(body, MAX_REPLY_BODY).collect().await {
        Ok(body) => {
            tracing::debug!(%method, path, status = parts.status.as_u16(), "served");
            // Whatever the component answers could quote the key: its body,
            // UTF-8 or not, and its headers.
            let body = body.to_bytes();
            let body = match connector.redact_bytes(&body) {
                std::borrow::Cow::Owned(clean) => Bytes::from(clean),
                std::borrow::Cow::Borrowed(_) => body,
            };
            for value in parts.headers.values_mut() {
                if let std::borrow::Cow::Owned(clean) = connector.redact_bytes(value.as_bytes()) {
                    *value = header::HeaderValue::from_bytes(&clean)
                        .unwrap_or(header::HeaderValue::from_static(REDACTED));
                }
            }
            let length = header::HeaderValue::from(body.len());
            let mut response = Response::from_parts(parts, Full::new(body));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, length);
            response
        }
        Err(e) => {
            // The component had answered: the operation may well have run.
            let error = Error::Component {
                message: connector
                    .redact(&format!("the component's reply broke off: {e}"))
                    .into_owned(),
                dixa_may_have_acted: true,
            };
            tracing::warn!(%method, path, %error, "the component's reply failed");
            error_response(&error)
        }
    }
}

/// [`Error::to_body`] with 504 for a deadline, else 500.
fn error_response(error: &Error) -> Response<Full<Bytes>> {
    let status = match error {
        Error::Deadline { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_response(status, error.to_body().to_json())
}

/// 404 `no-route`, with `message` saying where to go.
pub fn not_found(message: &str) -> Response<Full<Bytes>> {
    reply(StatusCode::NOT_FOUND, "no-route", message)
}

/// 503 `overloaded` with `Retry-After: 1`, saying why.
pub fn overloaded(message: &str) -> Response<Full<Bytes>> {
    let mut response = reply(StatusCode::SERVICE_UNAVAILABLE, "overloaded", message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

/// A refusal by the server itself, before the component ran: Dixa did not act.
fn reply(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(status, ErrorBody::new(kind, message, false).to_json())
}

/// An `invalid-input` refusal of the request as a whole, as the component
/// would render it.
fn invalid_input(status: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        ConnectorError::invalid("input", reason).to_body().to_json(),
    )
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_up_to_a_second_and_log_rarely() {
        let mut backoff = AcceptBackoff::default();
        let error = std::io::Error::other("too many open files");
        let delays: Vec<u128> = (0..9).map(|_| backoff.failed(&error).as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        // Logged once so far; the failures since are counted for the next line.
        assert_eq!(backoff.failures, 8);
        backoff.reset();
        assert_eq!(backoff.failed(&error).as_millis(), 10);
    }

    #[test]
    fn the_connection_cap_leaves_descriptors_for_the_connector() {
        let caps: Vec<usize> = [0, 64, 100, 256, 1024, 4096, 1 << 20]
            .into_iter()
            .map(max_connections_for)
            .collect();
        assert_eq!(caps, [1, 1, 36, 192, 768, 1024, 1024]);
    }

    #[test]
    fn the_caller_is_the_peer_unless_a_trusted_proxy_names_it() {
        let token = ServiceToken::new("0123456789abcdef").unwrap();
        let mut options = ServeOptions::new(token);
        let request = Request::builder()
            .header("x-forwarded-for", "10.9.9.9, 127.0.0.9")
            .body(())
            .unwrap();
        let peer: IpAddr = [127, 0, 0, 2].into();
        let caller =
            |options: &ServeOptions| Guard::new(options, None).context(peer, &request).caller;
        assert_eq!(caller(&options), CallContext::for_peer(peer).caller);
        options.trust_forwarded_for = true;
        assert_eq!(
            caller(&options),
            CallContext::for_peer([127, 0, 0, 9].into()).caller
        );
    }

    #[test]
    fn only_hosts_naming_this_server_pass() {
        let token = ServiceToken::new("0123456789abcdef").unwrap();
        let mut options = ServeOptions::new(token);
        options.public_hosts = vec!["Dixa.Example.com".into()];
        let guard = Guard::new(&options, "127.0.0.1:8081".parse().ok());
        let check = |host: &str| {
            let request = Request::builder()
                .header("host", host)
                .header("authorization", "Bearer 0123456789abcdef")
                .body(())
                .unwrap();
            guard.check(&request).map_err(|refusal| refusal.kind)
        };
        for host in [
            "127.0.0.1:8081",
            "localhost",
            "LOCALHOST:1",
            "dixa.example.com",
        ] {
            assert_eq!(check(host), Ok(()), "{host}");
        }
        for host in [
            "evil.example",
            "127.0.0.2:8081",
            "localhost.evil.example",
            "",
        ] {
            assert_eq!(check(host), Err("forbidden-host"), "{host}");
        }
    }

    #[test]
    fn a_present_origin_must_name_this_server() {
        let token = ServiceToken::new("0123456789abcdef").unwrap();
        let mut options = ServeOptions::new(token);
        options.public_hosts = vec!["dixa.example.com".into()];
        let guard = Guard::new(&options, "127.0.0.1:8081".parse().ok());
        let check = |origins: &[&str]| {
            let mut request = Request::builder()
                .header("host", "127.0.0.1:8081")
                .header("authorization", "Bearer 0123456789abcdef");
            for origin in origins {
                request = request.header("origin", *origin);
            }
            let request = request.body(()).unwrap();
            guard
                .check(&request)
                .map_err(|refusal| (refusal.status, refusal.kind))
        };
        for allowed in [
            &[][..],
            &["http://127.0.0.1:8081"],
            &["http://localhost:3000"],
            &["https://dixa.example.com"],
        ] {
            assert_eq!(check(allowed), Ok(()), "{allowed:?}");
        }
        for refused in [
            &["https://evil.example"][..],
            &["null"],
            &["http://127.0.0.2:8081"],
            &["http://localhost", "http://localhost"],
        ] {
            assert_eq!(
                check(refused),
                Err((StatusCode::FORBIDDEN, "forbidden-origin")),
                "{refused:?}"
            );
        }
    }
}
