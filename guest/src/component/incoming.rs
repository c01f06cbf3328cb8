//! `wasi:http/incoming-handler` for the service worlds: reads the request,
//! hands it to [`crate::service`], and writes the reply.

use super::exports::wasi::http::incoming_handler::Guest;
use super::wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use super::wasi::io::streams::StreamError;
use super::{Component, client};
use crate::service::{self, MAX_REQUEST_BYTES, Reply};

/// Most bytes one `blocking-write-and-flush` may take.
const WRITE_CHUNK: usize = 4096;
/// Bytes asked for per read of the request body.
const READ_CHUNK: u64 = 64 * 1024;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let reply = match read_body(&request) {
            Some(body) => service::handle(
                &method_name(&request.method()),
                &request.path_with_query().unwrap_or_default(),
                &body,
                client,
            ),
            None => Reply::body_too_large(),
        };
        send(response_out, &reply);
    }
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

/// The whole request body; `None` when it is over [`MAX_REQUEST_BYTES`].
fn read_body(request: &IncomingRequest) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let Ok(incoming) = request.consume() else {
        return Some(body);
    };
    if let Ok(stream) = incoming.stream() {
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > MAX_REQUEST_BYTES {
                        return None;
                    }
                }
                Err(StreamError::Closed | StreamError::LastOperationFailed(_)) => break,
            }
        }
    }
    Some(body)
}

fn send(response_out: ResponseOutparam, reply: &Reply) {
    let mut headers = vec![
        ("content-type".to_owned(), b"application/json".to_vec()),
        (
            "content-length".to_owned(),
            reply.body.len().to_string().into_bytes(),
        ),
    ];
    for (name, value) in &reply.headers {
        headers.push(((*name).to_owned(), value.clone().into_bytes()));
    }
    let response = match Fields::from_list(&headers) {
        Ok(fields) => OutgoingResponse::new(fields),
        Err(e) => {
            let detail = format!("reply headers: {e:?}");
            ResponseOutparam::set(response_out, Err(ErrorCode::InternalError(Some(detail))));
            return;
        }
    };
    // Statuses come from `service`, always valid; a refusal leaves the default 200.
    let _ = response.set_status_code(reply.status);
    let Ok(body) = response.body() else {
        ResponseOutparam::set(response_out, Err(ErrorCode::InternalError(None)));
        return;
    };
    ResponseOutparam::set(response_out, Ok(response));
    if let Ok(stream) = body.write() {
        for chunk in reply.body.as_bytes().chunks(WRITE_CHUNK) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                // The client went away; nothing is left to tell it.
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
