//! A component of the connector world that misbehaves on purpose, to prove the
//! host's limits: `create-internal-note` with message "allocate" grabs memory
//! without bound, "spin" loops forever, "trap" traps, "leak" succeeds leaving
//! a resource open, "grow" succeeds keeping 12 MiB of heap, and "count"
//! answers how many "count" calls its instance has served (its statics
//! persist only in a reused instance); any other message succeeds at once.
//!
//! `add-message` runs the network command in its content, as a hostile
//! integration would, and reports what the host let through:
//! - `send METHOD SCHEME AUTHORITY PATH [NAME=VALUE]...`: one request; the
//!   message id is the status, the content the response body.
//! - `in-flight SCHEME AUTHORITY PATH N`: N PUTs at once, none awaited.
//! - `body SCHEME AUTHORITY PATH BYTES`: a POST with a body of BYTES bytes.
//! - `header BYTES`: a header set holding one value of BYTES bytes.
//! - `lie KIND METHOD SCHEME AUTHORITY PATH BODY`: one request with BODY, then
//!   an error that says Dixa did not act whatever it answered: `invalid-input`
//!   for KIND `invalid`, else `transport` with `dixa-may-have-acted` false.
//! - `resources`: header sets without end, never dropped.
//!
//! Failures come back as `transport` with `wasi:http`'s error code.
//! The other operations answer `invalid-input`.
//!
//! Its HTTP front (the `connector-service` world) echoes what a hostile
//! integration could have learnt: `GET /echo/TEXT` answers 200 with TEXT in
//! the header `x-echo` and in a body that is not UTF-8; `GET /fail/TEXT`
//! answers with the `wasi:http` error `internal-error(TEXT)`; `GET /big/N`
//! answers N bytes.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "dixa:connector/connector-service",
        generate_all,
    });

    use dixa::connector::types::{
        Error, InvalidInput, Message, MessageContent, MessageInput, Note, NoteInput,
        TransportError, TransportKind,
    };
    use exports::dixa::connector::conversations::Guest;
    use wasi::http::outgoing_handler::handle;
    use wasi::http::types::{
        ErrorCode, Fields, FutureIncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
    };

    use std::sync::atomic::{AtomicU32, Ordering};

    use exports::wasi::http::incoming_handler::Guest as IncomingHandler;
    use wasi::http::types::{IncomingRequest, OutgoingResponse, ResponseOutparam};

    struct Hostile;

    impl IncomingHandler for Hostile {
        fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
            let path = request.path_with_query().unwrap_or_default();
            if let Some(text) = path.strip_prefix("/fail/") {
                let error = ErrorCode::InternalError(Some(text.to_owned()));
                ResponseOutparam::set(response_out, Err(error));
                return;
            }
            let size: Option<usize> = path.strip_prefix("/big/").and_then(|n| n.parse().ok());
            let text = path.strip_prefix("/echo/").unwrap_or_default();
            let headers = Fields::from_list(&[("x-echo".to_owned(), text.as_bytes().to_vec())])
                .unwrap_or_else(|_| Fields::new());
            let response = OutgoingResponse::new(headers);
            let Ok(body) = response.body() else {
                return;
            };
            ResponseOutparam::set(response_out, Ok(response));
            if let Ok(stream) = body.write() {
                let bytes = match size {
                    Some(size) => vec![b'x'; size],
                    None => [text.as_bytes(), &[0xff]].concat(),
                };
                for chunk in bytes.chunks(4096) {
                    if stream.blocking_write_and_flush(chunk).is_err() {
                        break;
                    }
                }
            }
            let _ = OutgoingBody::finish(body, None);
        }
    }

    /// "not part of the fixture" for every operation of the table but the
    /// two this fixture implements: a new operation needs nothing here.
    macro_rules! stub {
        (create_internal_note $($rest:tt)*) => {};
        (add_message $($rest:tt)*) => {};
        ($snake:ident $row:ident $input:ident => $output:ident) => {
            fn $snake(
                _: dixa::connector::types::$input,
            ) -> Result<dixa::connector::types::$output, Error> {
                Err(invalid("not part of the fixture"))
            }
        };
    }
    macro_rules! stubs {
        ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
            $(stub!($snake $row $input => $output);)*
        };
    }

    impl Guest for Hostile {
        dixa_contract::for_each_operation!(stubs);

        fn create_internal_note(input: NoteInput) -> Result<Note, Error> {
            match input.message.as_str() {
                "allocate" => {
                    let mut hoard: Vec<Vec<u8>> = Vec::new();
                    loop {
                        hoard.push(std::hint::black_box(vec![1; 1 << 20]));
                    }
                }
                "spin" => loop {
                    std::hint::black_box(());
                },
                "trap" => std::process::abort(),
                "leak" => {
                    std::mem::forget(Fields::new());
                    Ok(note("leaked"))
                }
                "grow" => {
                    std::mem::forget(std::hint::black_box(vec![1u8; 12 << 20]));
                    Ok(note("grown"))
                }
                "count" => {
                    let served = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
                    Ok(note(&served.to_string()))
                }
                message => Ok(note(message)),
            }
        }

        fn add_message(input: MessageInput) -> Result<Message, Error> {
            let words: Vec<&str> = input.content.split(' ').collect();
            let (status, body) = match words.as_slice() {
                ["send", method, scheme, authority, path, headers @ ..] => {
                    let request = request(method, scheme, authority, path, headers)?;
                    wait(handle(request, None).map_err(transport)?)?
                }
                ["in-flight", scheme, authority, path, count] => {
                    let count: usize = count.parse().unwrap_or(0);
                    let mut pending = Vec::new();
                    for _ in 0..count {
                        let request = request("PUT", scheme, authority, path, &[])?;
                        pending.push(handle(request, None).map_err(transport)?);
                    }
                    let mut last = (0, String::new());
                    for response in pending {
                        last = wait(response)?;
                    }
                    last
                }
                ["body", scheme, authority, path, bytes] => {
                    let bytes: usize = bytes.parse().unwrap_or(0);
                    let request = request("POST", scheme, authority, path, &[])?;
                    let body = request.body().map_err(|()| fail("no body"))?;
                    let response = handle(request, None).map_err(transport)?;
                    {
                        let stream = body.write().map_err(|()| fail("no stream"))?;
                        let chunk = vec![b'x'; 4096];
                        let mut left = bytes;
                        while left > 0 {
                            let n = left.min(chunk.len());
                            let part = chunk.get(..n).unwrap_or_default();
                            if stream.blocking_write_and_flush(part).is_err() {
                                break;
                            }
                            left -= n;
                        }
                    }
                    let _ = OutgoingBody::finish(body, None);
                    wait(response)?
                }
                ["lie", kind, method, scheme, authority, path, body] => {
                    let json = ["content-type=application/json"];
                    let request = request(method, scheme, authority, path, &json)?;
                    let outgoing = request.body().map_err(|()| fail("no body"))?;
                    let response = handle(request, None).map_err(transport)?;
                    {
                        let stream = outgoing.write().map_err(|()| fail("no stream"))?;
                        let _ = stream.blocking_write_and_flush(body.as_bytes());
                    }
                    let _ = OutgoingBody::finish(outgoing, None);
                    let _ = wait(response);
                    return Err(match *kind {
                        "invalid" => invalid("nothing was sent, it claims"),
                        _ => fail("nothing was sent, it claims"),
                    });
                }
                ["header", bytes] => {
                    let bytes: usize = bytes.parse().unwrap_or(0);
                    let value = vec![b'x'; bytes];
                    Fields::from_list(&[("x-big".to_owned(), value)])
                        .map_err(|e| fail(&format!("{e:?}")))?;
                    (0, String::new())
                }
                ["resources"] => {
                    let mut hoard = Vec::new();
                    loop {
                        hoard.push(std::hint::black_box(Fields::new()));
                    }
                }
                _ => return Err(invalid("unknown command")),
            };
            Ok(Message {
                message_id: status.to_string(),
                author_id: "hostile".into(),
                created_at: "2021-12-01T12:46:36.581Z".into(),
                direction: input.direction,
                content: MessageContent {
                    value: body,
                    type_: "Text".into(),
                },
            })
        }
    }

    /// "count" calls this instance has served.
    static COUNT: AtomicU32 = AtomicU32::new(0);

    fn note(message: &str) -> Note {
        Note {
            id: "hostile".into(),
            author_id: "hostile".into(),
            created_at: "2021-12-01T12:46:36.581Z".into(),
            message: message.into(),
        }
    }

    fn invalid(reason: &str) -> Error {
        Error::InvalidInput(InvalidInput {
            field: "content".into(),
            reason: reason.into(),
        })
    }

    fn fail(what: &str) -> Error {
        Error::Transport(TransportError {
            kind: TransportKind::Other,
            message: what.to_owned(),
            dixa_may_have_acted: false,
        })
    }

    fn transport(code: ErrorCode) -> Error {
        fail(&format!("{code:?}"))
    }

    fn request(
        method: &str,
        scheme: &str,
        authority: &str,
        path: &str,
        headers: &[&str],
    ) -> Result<OutgoingRequest, Error> {
        let headers: Vec<(String, Vec<u8>)> = headers
            .iter()
            .filter_map(|h| h.split_once('='))
            .map(|(n, v)| (n.to_owned(), v.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&headers).map_err(|e| fail(&format!("{e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let method = match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "TRACE" => Method::Trace,
            other => Method::Other(other.to_owned()),
        };
        let scheme = match scheme {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => Scheme::Other(other.to_owned()),
        };
        request
            .set_method(&method)
            .map_err(|()| fail("method refused"))?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| fail("scheme refused"))?;
        request
            .set_authority(Some(authority))
            .map_err(|()| fail("authority refused"))?;
        request
            .set_path_with_query(Some(path))
            .map_err(|()| fail("path refused"))?;
        Ok(request)
    }

    fn wait(response: FutureIncomingResponse) -> Result<(u16, String), Error> {
        response.subscribe().block();
        let response = match response.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(transport(code)),
            _ => return Err(fail("no response")),
        };
        let status = response.status();
        let mut text = Vec::new();
        if let Ok(body) = response.consume()
            && let Ok(stream) = body.stream()
        {
            while let Ok(chunk) = stream.blocking_read(65536) {
                text.extend_from_slice(&chunk);
            }
        }
        Ok((status, String::from_utf8_lossy(&text).into_owned()))
    }

    export!(Hostile);
}
