//! A stand-in for Dixa's API on loopback, for tests, benchmarks and `dixa demo`.
//!
//! It serves the connector's endpoints with Dixa's status codes and bodies,
//! remembering the notes and tags they create (see [`api`]), records every
//! request it receives, and can be told to misbehave for the next requests
//! ([`Fault`]). It stops when dropped.

#![deny(missing_docs)]

pub mod api;
pub mod client;
pub mod examples;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// API key the simulator accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "simulator-api-key";

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Method, e.g. `POST`.
    pub method: String,
    /// Path and query as sent, e.g. `/v1/conversations/9456/notes`.
    pub path: String,
    /// Headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Which TCP connection carried it: connections are numbered from 1 as accepted.
    pub connection: u64,
    /// Status the simulator answered with (or, for [`Fault::ActThenDrop`],
    /// would have); `None` when it did not act.
    pub status: Option<u16>,
}

impl RecordedRequest {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A misbehaviour for one upcoming request, consumed in the order injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and Dixa-style `{"message"}` body, plus a `Retry-After` if given.
    Status {
        /// The status.
        status: u16,
        /// The `message` of the body.
        message: String,
        /// The `Retry-After` value, if any.
        retry_after: Option<String>,
    },
    /// Answer 200 with this body verbatim (e.g. malformed JSON).
    Body(String),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Carry out the request (recorded with the status Dixa would have
    /// answered), then close the connection without answering: the client
    /// cannot tell whether Dixa acted.
    ActThenDrop,
    /// Answer 200 with a body of this many bytes (a JSON string), streamed.
    HugeBody(usize),
    /// Answer 200 with the start of a body, then send nothing more.
    StallBody,
    /// Answer 200 with the start of a body, then reset the connection.
    ResetMidBody,
    /// Answer 302 with this `Location`.
    Redirect(String),
    /// Answer 400 quoting the request's `Authorization` header back, as a
    /// careless proxy might: in Dixa's `message`, JSON-escaped by the encoder,
    /// and percent-encoded in a `detail` URL.
    EchoAuthorization,
}

impl Fault {
    /// A `Status` fault with Dixa's message and no `Retry-After`.
    pub fn status(status: u16, message: &str) -> Self {
        Fault::Status {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    faults: VecDeque<Fault>,
    sequence: u64,
    /// What the requests so far created.
    store: api::Store,
}

struct Shared {
    api_key: String,
    state: Mutex<State>,
    open_connections: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the log from the others.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running simulator; stops serving when dropped.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Simulator {
    /// Starts on `127.0.0.1` with a free port and [`DEFAULT_API_KEY`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0, DEFAULT_API_KEY).await
    }

    /// Starts on `127.0.0.1:port` (0: any free port), accepting `api_key`.
    pub async fn start_on(port: u16, api_key: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            api_key: api_key.to_owned(),
            state: Mutex::new(State::default()),
            open_connections: std::sync::atomic::AtomicUsize::new(0),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(Simulator {
            addr,
            shared,
            server,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, to use as the connector's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared
            .open_connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues a fault for the next request that has none yet.
    pub fn inject(&self, fault: Fault) {
        self.shared.state().faults.push_back(fault);
    }

    /// Waits until the server task ends (it runs until dropped).
    pub async fn wait(&mut self) {
        let _ = (&mut self.server).await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Accepts connections until aborted; aborting drops the set and every connection.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    let mut accepted_count = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                accepted_count += 1;
                let connection = accepted_count;
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let _open = OpenConnection::count(Arc::clone(&shared));
                    let service = service_fn(move |request| answer(request, connection, Arc::clone(&shared)));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Counts an open connection for as long as it lives.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn count(shared: Arc<Shared>) -> Self {
        shared
            .open_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        OpenConnection(shared)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .open_connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Error that makes hyper close the connection without an answer.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn answer(
    request: hyper::Request<Incoming>,
    connection: u64,
    shared: Arc<Shared>,
) -> Result<hyper::Response<SimulatedBody>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        connection,
        status: None,
    };
    let (fault, sequence, index) = {
        let mut state = shared.state();
        state.requests.push(recorded.clone());
        state.sequence += 1;
        (
            state.faults.pop_front(),
            state.sequence,
            state.requests.len() - 1,
        )
    };
    let json = || vec![("content-type".to_owned(), "application/json".to_owned())];
    let partial = || Bytes::from_static(br#"{"data":{"id":"#);
    let (reply, body) = match fault {
        Some(Fault::DropConnection) => return Err(Dropped),
        Some(Fault::ActThenDrop) => {
            let acted = respond(&recorded, &shared, sequence);
            if let Some(logged) = shared.state().requests.get_mut(index) {
                logged.status = Some(acted.status);
            }
            return Err(Dropped);
        }
        Some(Fault::Status {
            status,
            message,
            retry_after,
        }) => {
            let mut reply = api::Reply::error(status, &message);
            reply
                .headers
                .extend(retry_after.map(|v| ("retry-after".to_owned(), v)));
            (reply, None)
        }
        Some(Fault::EchoAuthorization) => {
            let key = recorded.header("authorization").unwrap_or_default();
            let encoded = dixa_contract::path::encode_segment(key);
            let message =
                format!("bad request with Authorization: {key} (see /errors?auth={encoded})");
            (api::Reply::error(400, &message), None)
        }
        Some(Fault::Body(body)) => (
            api::Reply {
                status: 200,
                headers: json(),
                body: body.into_bytes(),
            },
            None,
        ),
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            (respond(&recorded, &shared, sequence), None)
        }
        Some(Fault::HugeBody(size)) => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let mut chunks: VecDeque<Bytes> =
                std::iter::repeat_n(chunk, size / (64 * 1024)).collect();
            chunks.push_back(Bytes::from(vec![b'x'; size % (64 * 1024)]));
            let reply = api::Reply {
                status: 200,
                headers: json(),
                body: Vec::new(),
            };
            (
                reply,
                Some(SimulatedBody {
                    chunks,
                    end: End::Finish,
                }),
            )
        }
        Some(Fault::StallBody) => {
            let reply = api::Reply {
                status: 200,
                headers: json(),
                body: Vec::new(),
            };
            (
                reply,
                Some(SimulatedBody {
                    chunks: VecDeque::from([partial()]),
                    end: End::Stall,
                }),
            )
        }
        Some(Fault::ResetMidBody) => {
            let reply = api::Reply {
                status: 200,
                headers: json(),
                body: Vec::new(),
            };
            (
                reply,
                Some(SimulatedBody {
                    chunks: VecDeque::from([partial()]),
                    end: End::Reset(Box::pin(tokio::time::sleep(Duration::from_millis(50)))),
                }),
            )
        }
        Some(Fault::Redirect(location)) => {
            let mut reply = api::Reply::error(302, "Found");
            reply.headers.push(("location".to_owned(), location));
            (reply, None)
        }
        None => (respond(&recorded, &shared, sequence), None),
    };
    if let Some(logged) = shared.state().requests.get_mut(index) {
        logged.status = Some(reply.status);
    }
    let body = body.unwrap_or_else(|| SimulatedBody {
        chunks: VecDeque::from([Bytes::from(reply.body)]),
        end: End::Finish,
    });
    let mut response = hyper::Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    response.body(body).map_err(|_| Dropped)
}

/// How a [`SimulatedBody`] ends once its chunks are sent.
enum End {
    Finish,
    /// Never: the connection stays open with the body unfinished.
    Stall,
    /// With an error once this timer fires (after the head and first chunk went
    /// out), which makes hyper reset the connection.
    Reset(std::pin::Pin<Box<tokio::time::Sleep>>),
}

/// A response body sent in chunks, ending as a fault asks.
pub struct SimulatedBody {
    chunks: VecDeque<Bytes>,
    end: End,
}

impl hyper::body::Body for SimulatedBody {
    type Data = Bytes;
    type Error = Dropped;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Dropped>>> {
        use std::task::Poll;
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))));
        }
        match &mut self.end {
            End::Finish => Poll::Ready(None),
            // Never woken: the connection task idles until the simulator stops.
            End::Stall => Poll::Pending,
            End::Reset(timer) => timer.as_mut().poll(cx).map(|()| Some(Err(Dropped))),
        }
    }
}

fn respond(request: &RecordedRequest, shared: &Shared, sequence: u64) -> api::Reply {
    api::handle(
        request,
        &api::Context {
            api_key: &shared.api_key,
            sequence,
            now: dixa_time(SystemTime::now()),
        },
        &mut shared.state().store,
    )
}

/// Formats a time the way Dixa prints `createdAt`: `2021-12-01T12:46:36.581Z[GMT]`.
pub fn dixa_time(time: SystemTime) -> String {
    let since_epoch = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z[GMT]",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_time_like_dixa() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_638_362_796_581);
        assert_eq!(dixa_time(t), "2021-12-01T12:46:36.581Z[GMT]");
        assert_eq!(
            dixa_time(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000Z[GMT]"
        );
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_208_000);
        assert_eq!(dixa_time(leap), "2024-02-29T12:00:00.000Z[GMT]");
    }
}
