//! `Transport` over `wasi:http`, through waki's blocking client.

use std::time::{Duration, SystemTime};

use waki::{Client, ErrorCode, Method as WakiMethod};

use crate::client::{HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, Transport, TransportError};
use crate::request::Method;

/// Connect timeout the guest asks for; the host may enforce a shorter one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes asked for per read of the response body.
const READ_CHUNK: u64 = 64 * 1024;

/// Sends requests with the host's `wasi:http/outgoing-handler`.
pub struct WakiTransport;

impl Transport for WakiTransport {
    fn send(&mut self, request: &HttpRequest<'_>) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Post => WakiMethod::Post,
            Method::Put => WakiMethod::Put,
            Method::Get => WakiMethod::Get,
            Method::Delete => WakiMethod::Delete,
        };
        let mut builder = Client::new()
            .request(method, &request.url)
            .connect_timeout(CONNECT_TIMEOUT)
            .headers(
                request
                    .headers
                    .iter()
                    .map(|(name, value)| (*name, value.as_str())),
            );
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().map_err(|e| transport_error(&e))?;
        let retry_after = response
            .header("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        // Read one byte past the limit, so the client can tell the body was too large.
        let mut body = Vec::new();
        while body.len() <= MAX_RESPONSE_BYTES {
            match response.chunk(READ_CHUNK) {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(_) => {
                    return Err(TransportError {
                        message: "the connection failed while reading the response".to_owned(),
                        retryable: true,
                    });
                }
            }
        }
        Ok(HttpResponse {
            status: response.status_code(),
            retry_after,
            body,
        })
    }

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Describes a failed send; `wasi:http` error codes get words of their own.
fn transport_error(error: &anyhow::Error) -> TransportError {
    let Some(code) = error.chain().find_map(|e| e.downcast_ref::<ErrorCode>()) else {
        return TransportError {
            message: error.to_string(),
            retryable: true,
        };
    };
    let (message, retryable) = match code {
        ErrorCode::HttpRequestDenied => (
            "the host's outbound policy denied the request (destination not allowed)".to_owned(),
            false,
        ),
        // The reference host refuses with its reason: not an operation, or a per-call limit.
        ErrorCode::InternalError(Some(reason)) => (reason.clone(), false),
        ErrorCode::ConnectionRefused => ("connection refused".to_owned(), true),
        ErrorCode::ConnectionTimeout => ("timed out connecting".to_owned(), true),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            ("timed out waiting for the response".to_owned(), true)
        }
        ErrorCode::ConnectionTerminated => ("connection closed by the server".to_owned(), true),
        ErrorCode::DnsError(_) | ErrorCode::DnsTimeout => ("DNS lookup failed".to_owned(), true),
        ErrorCode::TlsCertificateError | ErrorCode::TlsProtocolError => {
            ("TLS handshake failed".to_owned(), false)
        }
        other => (format!("{other:?}"), true),
    };
    TransportError { message, retryable }
}
