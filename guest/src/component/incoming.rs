//! `wasi:http/incoming-handler` for the service worlds: reads the request,
//! hands it to [`crate::service`], and writes the reply.

use super::exports::wasi::http::incoming_handler::Guest;
use super::wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use super::wasi::io::streams::StreamError;
use super::{Component, access, client};
use crate::service::{self, Reply};

/// Most bytes one `blocking-write-and-flush` may take.
const WRITE_CHUNK: usize = 4096;
/// Bytes asked for per read of the request body.
const READ_CHUNK: u64 = 64 * 1024;

impl Guest for Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        // Callers are checked before their body is read or anything is sent.
        let headers = request.headers();
        let one = |name: &str| match headers.get(name).as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };
        let (authorization, content_type) = (one("authorization"), one("content-type"));
        let authority = request.authority();
        let (method, path) = (
            method_name(&request.method()),
            request.path_with_query().unwrap_or_default(),
        );
        let parsed = service::check_origin(
            &headers.get("origin"),
            authority.as_deref().map(str::as_bytes),
        )
        .and_then(|()| access().check(authorization.as_deref()))
        .and_then(|()| service::find_route(&method, &path))
        .and_then(|route| {
            // Routed first, so the body is read up to its operation's cap.
            let body = read_body(&request, route.max_body_bytes())?;
            service::check_body_type(content_type.as_deref(), &body)?;
            route.parse(&body)
        });
        let reply = match parsed {
            Ok(operation) => service::run(&operation, client),
            Err(reply) => reply,
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

/// The whole request body, or the reply when it is over `cap` bytes or
/// broke off.
fn read_body(request: &IncomingRequest, cap: usize) -> Result<Vec<u8>, Reply> {
    let unreadable = || service::invalid_input("input", "the request body could not be read");
    let incoming = request.consume().map_err(|()| unreadable())?;
    // Declared after `incoming`, so dropped before it, as wasi:http requires.
    let stream = incoming.stream().map_err(|()| unreadable())?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                body.extend_from_slice(&chunk);
                if body.len() > cap {
                    return Err(Reply::body_too_large(cap));
                }
            }
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(_)) => return Err(unreadable()),
        }
    }
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
