//! `Transport` over `wasi:http`, through waki's blocking client.

use std::time::{Duration, SystemTime};

use waki::{Client, ErrorCode, Method as WakiMethod};

use crate::client::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::error::TransportKind;
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
        while body.len() <= request.max_response_bytes {
            match response.chunk(READ_CHUNK) {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(_) => {
                    return Err(TransportError {
                        kind: TransportKind::ConnectionLost,
                        message: "the connection failed while reading the response".to_owned(),
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

/// Describes a failed send; `wasi:http` error codes say whether the request
/// left the machine.
fn transport_error(error: &anyhow::Error) -> TransportError {
    let Some(code) = error.chain().find_map(|e| e.downcast_ref::<ErrorCode>()) else {
        return TransportError {
            kind: TransportKind::Other,
            message: error.to_string(),
        };
    };
    let (kind, message) = match code {
        ErrorCode::HttpRequestDenied => (
            TransportKind::Denied,
            "the host's outbound policy denied the request (destination not allowed)".to_owned(),
        ),
        // The reference host refuses with its reason: not an operation, or a per-call limit.
        ErrorCode::InternalError(Some(reason))
            if reason.starts_with(dixa_contract::error::HOST_DENIAL_PREFIX) =>
        {
            (TransportKind::Denied, reason.clone())
        }
        ErrorCode::DnsError(_) | ErrorCode::DnsTimeout | ErrorCode::DestinationNotFound => {
            (TransportKind::Dns, "DNS lookup failed".to_owned())
        }
        ErrorCode::ConnectionRefused => (TransportKind::Connect, "connection refused".to_owned()),
        ErrorCode::ConnectionTimeout => (TransportKind::Connect, "timed out connecting".to_owned()),
        ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::ConnectionLimitReached => {
            (TransportKind::Connect, "destination unreachable".to_owned())
        }
        ErrorCode::TlsCertificateError => (
            TransportKind::Tls,
            "TLS handshake failed: the server's certificate was not accepted".to_owned(),
        ),
        ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => {
            (TransportKind::Tls, "TLS handshake failed".to_owned())
        }
        ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => (
            TransportKind::Timeout,
            "timed out waiting for the response".to_owned(),
        ),
        ErrorCode::ConnectionTerminated | ErrorCode::HttpResponseIncomplete => (
            TransportKind::ConnectionLost,
            "the connection closed before the response was complete".to_owned(),
        ),
        other => (TransportKind::Other, format!("{other:?}")),
    };
    TransportError { kind, message }
}
