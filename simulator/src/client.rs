//! A minimal HTTP/1.1 client for tests of loopback servers (`dixa serve`, the
//! HTTP front): one request per connection, the whole response read.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status.
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, as text (invalid UTF-8 replaced).
    pub body: String,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The service token the tests configure their HTTP fronts with.
pub const TEST_SERVICE_TOKEN: &str = "test-service-token-0123456789";

/// An error of [`send`].
pub type SendError = Box<dyn std::error::Error + Send + Sync>;

/// Sends `method path` with `body` to `addr` as a legitimate caller would
/// (`Host` naming `addr`, `Authorization: Bearer` [`TEST_SERVICE_TOKEN`], a JSON
/// content type when there is a body) and reads the response.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<Response, SendError> {
    let host = addr.to_string();
    let authorization = format!("Bearer {TEST_SERVICE_TOKEN}");
    let mut headers = vec![
        ("host", host.as_str()),
        ("authorization", authorization.as_str()),
    ];
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    send_with_headers(addr, method, path, &headers, body).await
}

/// Sends `method path` with exactly `headers` and `body` to `addr` and reads
/// the response.
pub async fn send_with_headers(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Response, SendError> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = hyper::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body.to_owned())))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
