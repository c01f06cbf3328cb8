//! The host's HTTP client: keep-alive connections pooled per origin and shared
//! by every call of a [`Connector`](crate::Connector), one pool per
//! [`PerCore`](crate::per_core::PerCore) core (so a call on a core uses the
//! connections whose tasks run there) and one for every other thread.
//!
//! wasmtime's default `send_request` opens a new TCP (and TLS) connection per
//! request; reusing connections is what brings a call through the sandbox close
//! to a native client's cost.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::per_core::current_core;

/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 256;
/// How long an idle connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type Pool = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A pooled HTTP/1.1 client over TCP or TLS (webpki roots).
#[derive(Clone)]
pub struct HttpClient {
    /// The pool of threads that are no core's.
    shared: Pool,
    /// One pool per core, so a call's connection stays on its core's thread.
    per_core: Arc<[Pool]>,
}

impl HttpClient {
    /// A client whose connections take at most `connect_timeout` to establish.
    pub fn new(connect_timeout: Duration) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            })
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = || {
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(IDLE_TIMEOUT)
                .pool_max_idle_per_host(MAX_IDLE_PER_ORIGIN)
                .build(connector.clone())
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        HttpClient {
            shared: pool(),
            per_core: (0..cores).map(|_| pool()).collect(),
        }
    }

    /// The calling thread's pool: its core's, or the shared one.
    fn pool(&self) -> &Pool {
        current_core()
            // More cores than this machine's share the pools in turn.
            .and_then(|core| core.checked_rem(self.per_core.len()))
            .and_then(|index| self.per_core.get(index))
            .unwrap_or(&self.shared)
    }

    /// Sends `request` (absolute URI) and returns the response once its headers
    /// arrived within the first-byte timeout; the body then enforces the
    /// between-bytes timeout.
    pub async fn send(
        &self,
        request: http::Request<Full<Bytes>>,
        options: RequestOptions,
    ) -> Result<http::Response<WasiBody>, Error> {
        let first_byte = options.first_byte_timeout.unwrap_or(Duration::MAX);
        let response = tokio::time::timeout(first_byte, self.pool().request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(|e| error_code(&e))?;
        let between_bytes = options.between_bytes_timeout.unwrap_or(Duration::MAX);
        Ok(response.map(|body| TimedBody::new(body, between_bytes).boxed_unsync()))
    }
}

/// The `wasi:http` error code for a failed request. Failures while
/// connecting (DNS, TCP, TLS) happen before anything was sent; any other
/// failure may come after the request went out, so the component must not
/// assume Dixa did not act.
fn error_code(error: &hyper_util::client::legacy::Error) -> Error {
    let chain = || {
        std::iter::successors(
            std::error::Error::source(error),
            |e: &&(dyn std::error::Error + 'static)| e.source(),
        )
    };
    if !error.is_connect() {
        return Error::ConnectionTerminated;
    }
    match chain().find_map(rustls_error) {
        Some(rustls::Error::InvalidCertificate(_)) => return Error::TlsCertificateError,
        Some(rustls::Error::AlertReceived(alert)) => {
            return Error::TlsAlertReceived {
                alert_id: Some(u8::from(*alert)),
                alert_message: Some(format!("{alert:?}")),
            };
        }
        Some(_) => return Error::TlsProtocolError,
        None => {}
    }
    // hyper-util names its resolver's failure only in the error's text.
    if chain().any(|e| e.to_string() == "dns error") {
        return Error::DnsError {
            rcode: None,
            info_code: None,
        };
    }
    let io_kind = chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    match io_kind {
        Some(std::io::ErrorKind::TimedOut) => Error::ConnectionTimeout,
        Some(std::io::ErrorKind::ConnectionRefused) => Error::ConnectionRefused,
        _ => Error::DestinationUnavailable,
    }
}

/// Whether `error`, from [`HttpClient::send`], came while connecting, before
/// the request was written to a connection: what [`error_code`] gives for a
/// connect failure. Dixa cannot have acted on such a request.
pub(crate) fn failed_before_sending(error: &Error) -> bool {
    matches!(
        error,
        Error::DnsError { .. }
            | Error::ConnectionRefused
            | Error::ConnectionTimeout
            | Error::DestinationUnavailable
            | Error::TlsCertificateError
            | Error::TlsAlertReceived { .. }
            | Error::TlsProtocolError
    )
}

/// The rustls error in `error`. hyper-rustls wraps it in an io::Error inside
/// another io::Error, which `source` does not show, so those are opened.
fn rustls_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

/// A response body that fails when no frame arrives within `timeout`.
struct TimedBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl TimedBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        TimedBody {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let timeout = self.timeout;
                if let Some(deadline) = tokio::time::Instant::now().checked_add(timeout) {
                    self.deadline.as_mut().reset(deadline);
                }
                Poll::Ready(frame.map(|frame| frame.map_err(|_| Error::ConnectionTerminated)))
            }
            Poll::Pending => {
                ready!(self.deadline.as_mut().poll(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
