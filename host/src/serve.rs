//! Serves a `connector-service` component over HTTP/1.1: each request runs the
//! component's `wasi:http/incoming-handler` in a fresh sandbox (see
//! [`Connector::handle_http`]). What `wasmtime serve` or an edge runtime does
//! with the same component, plus this host's key injection and allow-list.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::{Connector, Error};

/// Accepts connections on `listener` until `shutdown` completes.
pub async fn serve(
    connector: Arc<Connector>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    continue;
                }
            },
        };
        let connector = Arc::clone(&connector);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let connector = Arc::clone(&connector);
                async move { Ok::<_, Infallible>(respond(&connector, request).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// The component's answer, or the host's JSON error when the sandbox stopped it.
async fn respond(
    connector: &Connector,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<HyperOutgoingBody> {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    match connector.handle_http(request).await {
        Ok(response) => {
            tracing::debug!(%method, path, status = response.status().as_u16(), "served");
            response
        }
        Err(error) => {
            tracing::warn!(%method, path, %error, "the component gave no response");
            error_response(&error)
        }
    }
}

/// [`Error::to_json`] with 504 for a deadline, else 500.
fn error_response(error: &Error) -> hyper::Response<HyperOutgoingBody> {
    let status = match error {
        Error::Deadline(_) => hyper::StatusCode::GATEWAY_TIMEOUT,
        _ => hyper::StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = hyper::Response::new(
        Full::new(Bytes::from(error.to_json().to_string()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
