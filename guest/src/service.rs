//! The HTTP front of the `connector-service` world: routes, request bodies, and
//! the reply for every outcome. Plain Rust; `component::incoming` connects it to
//! `wasi:http/incoming-handler`.
//!
//! Each operation of the table is served at its `service_method` and
//! `service_path` (`POST /conversations/{conversationId}/notes`, ...). The
//! body is the operation's camelCase JSON input without the ids in the path
//! (a body may repeat one unchanged); it is parsed on the same path as the
//! library's `call_json`, so an error names the field to fix.

use dixa_contract::operations::{self as ops, RouteMiss};
use dixa_contract::{ErrorBody, auth, front, path};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::{Client, Transport};
use crate::error::Error;

/// An HTTP answer with a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Headers besides `content-type` and `content-length`.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    fn ok(body: &impl Serialize) -> Reply {
        match serde_json::to_string(body) {
            Ok(body) => Reply {
                status: 200,
                headers: Vec::new(),
                body,
            },
            Err(e) => Reply::failure(500, "internal", &format!("encoding the reply: {e}")),
        }
    }

    /// A refusal by this front itself (no route, no token, ...): Dixa was not
    /// asked, so it did not act.
    pub fn failure(status: u16, kind: &str, message: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ErrorBody::new(kind, message, false).to_json(),
        }
    }

    /// The answer to a request body over `cap` bytes.
    pub fn body_too_large(cap: usize) -> Reply {
        let mut reply = error_reply(&Error::invalid(
            "input",
            format_args!("the request body is larger than {cap} bytes"),
        ));
        reply.status = 413;
        reply
    }
}

/// One route of the table: its operation and how its input is read.
pub struct RouteRow {
    operation: &'static ops::Operation,
    parse: fn(Value) -> Result<Operation, Error>,
}

/// The routed requests, their routes and how each runs, from the table of
/// operations: a row without a route or a runner does not compile.
macro_rules! operations {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        pastey::paste! {
            /// A routed request with its parsed input.
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub enum Operation {
                $([<$snake:camel>](dixa_contract::types::$input),)*
            }

            /// Every route, in the order of the table.
            const ROUTES: &[RouteRow] = &[$(
                RouteRow {
                    operation: &ops::$row,
                    parse: |input| {
                        dixa_contract::input::from_value(input).map(Operation::[<$snake:camel>])
                    },
                },
            )*];

            impl Operation {
                /// Runs the request on `client`: its output as the 200 reply.
                /// (A bulk call Dixa answered succeeds, whatever became of
                /// each note.)
                fn run<T: Transport>(&self, client: &mut Client<T>) -> Result<Reply, Error> {
                    match self {
                        $(Operation::[<$snake:camel>](input) => {
                            client.$snake(input).map(|output| Reply::ok(&output))
                        })*
                    }
                }
            }
        }
    };
}
dixa_contract::for_each_operation!(operations);

/// Answers one request: route and parse it, then run it on the client that
/// `client` makes (only once the request is known to be well-formed).
pub fn handle<T: Transport>(
    method: &str,
    path: &str,
    body: &[u8],
    client: impl FnOnce() -> Result<Client<T>, Error>,
) -> Reply {
    match route(method, path, body) {
        Ok(operation) => run(&operation, client),
        Err(reply) => reply,
    }
}

/// Runs a parsed request on the client that `client` makes.
pub fn run<T: Transport>(
    operation: &Operation,
    client: impl FnOnce() -> Result<Client<T>, Error>,
) -> Reply {
    let mut client = match client() {
        Ok(client) => client,
        Err(error) => return error_reply(&error),
    };
    let mut reply = operation
        .run(&mut client)
        .unwrap_or_else(|error| error_reply(&error));
    // Dixa's answer could quote the key back (an echoing proxy); never pass it on.
    reply.body = client.redact(reply.body);
    reply
}

/// [`find_route`] and [`Route::parse`] in one: the operation for `method`,
/// `path` and `body`, or the reply that says what was wrong.
pub fn route(method: &str, path: &str, body: &[u8]) -> Result<Operation, Reply> {
    let route = find_route(method, path)?;
    if body.len() > route.max_body_bytes() {
        return Err(Reply::body_too_large(route.max_body_bytes()));
    }
    route.parse(body)
}

/// A request's route: its row of the table and the raw ids in its path.
pub struct Route<'p> {
    row: &'static RouteRow,
    segments: Vec<&'p str>,
}

/// Finds the route for `method` and `path` (a query is ignored), before the
/// body is read; the error reply says what was wrong.
pub fn find_route<'p>(method: &str, path: &'p str) -> Result<Route<'p>, Reply> {
    let path = path.split('?').next().unwrap_or_default();
    let by_route = |row: &RouteRow| (row.operation.service_method, row.operation.service_path);
    match ops::route(ROUTES, by_route, method, path) {
        Ok((row, segments)) => Ok(Route { row, segments }),
        Err(RouteMiss::NoPath) => {
            let routes: Vec<String> = ops::OPERATIONS
                .iter()
                .map(|o| format!("{} {}", o.service_method.as_str(), o.service_path))
                .collect();
            Err(Reply::failure(
                404,
                "no-route",
                &format!("no operation at {path}: use {}", routes.join(", ")),
            ))
        }
        Err(RouteMiss::OtherMethods(allowed)) => {
            let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            let mut reply = Reply::failure(
                405,
                "method-not-allowed",
                &format!("{path} takes {}, not {method}", allowed.join(" or ")),
            );
            reply.headers.push(("allow", allowed.join(", ")));
            Err(reply)
        }
    }
}

impl Route<'_> {
    /// The largest body this route reads: its operation's input cap.
    pub fn max_body_bytes(&self) -> usize {
        self.row.operation.max_input_bytes()
    }

    /// The operation with its input: the body (absent, or a JSON object) with
    /// the ids of the path merged in, read as `call_json` reads an input.
    pub fn parse(&self, body: &[u8]) -> Result<Operation, Reply> {
        let mut input = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else if body.trim_ascii_start().first() != Some(&b'{') {
            return Err(invalid_input(
                "input",
                "the request body must be a JSON object",
            ));
        } else {
            match serde_json::from_slice(body) {
                Ok(Value::Object(input)) => input,
                Ok(_) => {
                    return Err(invalid_input(
                        "input",
                        "the request body must be a JSON object",
                    ));
                }
                Err(e) => return Err(invalid_input("input", &format!("the request body: {e}"))),
            }
        };
        let fields = path::placeholders(self.row.operation.service_path);
        for (field, segment) in fields.zip(self.segments.iter().copied()) {
            let id = path::decode_segment(segment)
                .ok_or_else(|| invalid_input(field, "invalid percent-encoding in the path"))?;
            match input.get(field) {
                None => {
                    input.insert(field.to_owned(), Value::String(id));
                }
                Some(Value::String(same)) if *same == id => {}
                Some(other) => {
                    return Err(invalid_input(
                        field,
                        &format!("the body says {other} but the path says {id:?}"),
                    ));
                }
            }
        }
        (self.row.parse)(Value::Object(input)).map_err(|error| error_reply(&error))
    }
}

/// Who may call the HTTP front: the `service-token` and
/// `allow-unauthenticated` config keys.
#[derive(Clone, PartialEq, Eq)]
pub enum Access {
    /// Callers must present `Authorization: Bearer <token>`.
    Token(String),
    /// Explicitly open (`allow-unauthenticated = "true"`): only behind an
    /// authenticating proxy.
    Open,
    /// No usable token and not explicitly open: every request is refused, with this reason.
    Unconfigured(String),
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Token(_) => f.write_str("Token(<redacted>)"),
            Access::Open => f.write_str("Open"),
            Access::Unconfigured(why) => write!(f, "Unconfigured({why:?})"),
        }
    }
}

impl Access {
    /// Reads the access settings through `get`, a lookup of one config key
    /// (also tried with `_` for `-`, as Spin's variables need).
    pub fn from_config(mut get: impl FnMut(&str) -> Result<Option<String>, String>) -> Self {
        let mut read = |key: &str| match get(key) {
            Ok(None) => get(&key.replace('-', "_")).ok().flatten(),
            found => found.ok().flatten(),
        };
        match read("service-token") {
            Some(token) if auth::is_valid_token(&token) => Access::Token(token),
            Some(_) => Access::Unconfigured(format!(
                "the service-token config key must be {}",
                auth::TOKEN_RULE
            )),
            None if read("allow-unauthenticated").as_deref() == Some("true") => Access::Open,
            None => Access::Unconfigured(
                "no service-token is configured: set it, or set allow-unauthenticated to \"true\" \
                 only behind a proxy that authenticates callers"
                    .to_owned(),
            ),
        }
    }

    /// `Ok` when a request with this `Authorization` header value may proceed;
    /// otherwise the reply: 401 `unauthenticated`, or 503 `configuration`.
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), Reply> {
        match self {
            Access::Open => Ok(()),
            Access::Token(token) if auth::bearer_matches(authorization, token) => Ok(()),
            Access::Token(_) => {
                let mut reply = Reply::failure(
                    401,
                    "unauthenticated",
                    "this service needs Authorization: Bearer <service token>",
                );
                reply
                    .headers
                    .push(("www-authenticate", "Bearer".to_owned()));
                Err(reply)
            }
            Access::Unconfigured(why) => Err(Reply::failure(503, "configuration", why)),
        }
    }
}

/// The reply for an operation's error: its JSON ([`Error::to_body`]), and a
/// status a caller of this service can act on. Dixa refusing the service's own
/// key, or failing, is a bad gateway to the caller, not their fault; unusable
/// settings make the service unavailable.
pub fn error_reply(error: &Error) -> Reply {
    let status = match error {
        Error::InvalidInput { .. } => 400,
        Error::NotFound(_) => 404,
        Error::RateLimited { .. } => 429,
        Error::Api { status, .. } if (400..500).contains(status) => *status,
        Error::Configuration(_) => 503,
        Error::Api { .. }
        | Error::MissingCredentials
        | Error::Unauthorized(_)
        | Error::Transport { .. }
        | Error::InvalidResponse { .. } => 502,
    };
    let retry_after = match error {
        Error::RateLimited {
            retry_after_seconds: Some(seconds),
        } => Some(("retry-after", seconds.to_string())),
        _ => None,
    };
    Reply {
        status,
        headers: retry_after.into_iter().collect(),
        body: error.to_body().to_json(),
    }
}

/// Refuses a browser's cross-site request: a present `Origin` must name the
/// host the request was sent to (`host`, the `Host` header), the only name of
/// its own this front knows. Several `Origin` headers are refused too.
pub fn check_origin(origins: &[Vec<u8>], host: Option<&[u8]>) -> Result<(), Reply> {
    let host = host.and_then(front::host_name);
    let origins: Vec<&[u8]> = origins.iter().map(Vec::as_slice).collect();
    let same_site = |origin: &str| host.as_deref() == Some(origin);
    if front::origin_allowed(&origins, same_site) {
        return Ok(());
    }
    Err(Reply::failure(
        403,
        "forbidden-origin",
        "the Origin header names a site this service does not serve",
    ))
}

/// Refuses a body that is not sent as JSON, even where callers need no token
/// (`allow-unauthenticated`): a page can post `text/plain` or a form across
/// sites without asking, never JSON.
pub fn check_body_type(content_type: Option<&[u8]>, body: &[u8]) -> Result<(), Reply> {
    if body.is_empty() || content_type.is_some_and(front::is_json) {
        return Ok(());
    }
    let mut reply = invalid_input(
        "input",
        "the request body must be sent as Content-Type: application/json",
    );
    reply.status = 415;
    Err(reply)
}

/// The `invalid-input` reply for `field` breaking `reason`.
pub fn invalid_input(field: &str, reason: &str) -> Reply {
    error_reply(&Error::invalid(field, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::testing::{Scripted, answer};
    use crate::client::{Settings, TransportError};
    use dixa_contract::types::{
        ConversationInput, Direction, MessageInput, NewNote, NoteInput, NotesInput, TagInput,
    };

    fn client(
        answers: Vec<Result<crate::client::HttpResponse, TransportError>>,
    ) -> Client<Scripted> {
        Client::new(
            Scripted::new(answers),
            Settings {
                base_url: "http://127.0.0.1:9".into(),
                api_key: Some("k".into()),
                key_injected_by_host: false,
            },
        )
    }

    /// The routes the 404 lists: every row of the table, in its order.
    fn every_route() -> String {
        let routes: Vec<String> = ops::OPERATIONS
            .iter()
            .map(|o| format!("{} {}", o.service_method.as_str(), o.service_path))
            .collect();
        routes.join(", ")
    }

    fn no_client() -> Result<Client<Scripted>, Error> {
        panic!("a malformed request must not reach the client")
    }

    #[test]
    fn routes_parse_the_spec_bodies_with_ids_from_the_path() {
        assert_eq!(
            route(
                "POST",
                "/conversations/9456/notes?trace=1",
                br#"{"message":"Customer called","agentId":"a-1","createdAt":"2021-12-01T12:46:36.581Z"}"#
            ),
            Ok(Operation::CreateInternalNote(NoteInput {
                conversation_id: "9456".into(),
                message: "Customer called".into(),
                agent_id: Some("a-1".into()),
                created_at: Some("2021-12-01T12:46:36.581Z".into()),
            }))
        );
        assert_eq!(
            route(
                "POST",
                "/conversations/9456/messages",
                br#"{"conversationId":"9456","content":"Hi","direction":"outbound","agentId":"a-1"}"#
            ),
            Ok(Operation::AddMessage(MessageInput {
                conversation_id: "9456".into(),
                content: "Hi".into(),
                direction: Direction::Outbound,
                agent_id: Some("a-1".into()),
            }))
        );
        for body in [&b""[..], b" \n", br#"{"tagId":"t%201"}"#] {
            assert_eq!(
                route("PUT", "/conversations/9456/tags/t%25201", body),
                Ok(Operation::TagConversation(TagInput {
                    conversation_id: "9456".into(),
                    tag_id: "t%201".into(),
                }))
            );
        }
    }

    #[test]
    fn the_untag_list_and_bulk_routes_take_their_input_from_path_and_body() {
        let tag = TagInput {
            conversation_id: "9456".into(),
            tag_id: "t 1".into(),
        };
        assert_eq!(
            route("DELETE", "/conversations/9456/tags/t%201", b""),
            Ok(Operation::UntagConversation(tag))
        );
        let conversation = || ConversationInput {
            conversation_id: "9456".into(),
        };
        assert_eq!(
            route("GET", "/conversations/9456/tags", b""),
            Ok(Operation::ListConversationTags(conversation()))
        );
        assert_eq!(
            route(
                "GET",
                "/conversations/9456/notes",
                br#"{"conversationId":"9456"}"#
            ),
            Ok(Operation::ListInternalNotes(conversation()))
        );
        assert_eq!(
            route(
                "POST",
                "/conversations/9456/notes/bulk",
                br#"{"notes":[{"message":"a"},{"message":"b","agentId":"x"}]}"#
            ),
            Ok(Operation::CreateInternalNotes(NotesInput {
                conversation_id: "9456".into(),
                notes: vec![
                    NewNote {
                        message: "a".into(),
                        agent_id: None,
                        created_at: None
                    },
                    NewNote {
                        message: "b".into(),
                        agent_id: Some("x".into()),
                        created_at: None
                    },
                ],
            }))
        );
        assert_eq!(
            route("GET", "/conversations/9456/tags", br#"{"tagId":"t"}"#)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn every_operation_of_the_table_has_its_route_and_cap() {
        for operation in ops::OPERATIONS {
            let path = path::fill(operation.service_path, &["9456", "t"]);
            let route = find_route(operation.service_method.as_str(), &path)
                .unwrap_or_else(|reply| panic!("{}: {reply:?}", operation.name));
            assert_eq!(route.row.operation, operation);
            assert_eq!(route.max_body_bytes(), operation.max_input_bytes());
        }
    }

    #[test]
    fn errors_name_the_field_to_fix_as_call_json_does() {
        let cases: [(&str, &str, &[u8], &str); 4] = [
            ("POST", "/conversations/9/notes", b"", "message"),
            (
                "POST",
                "/conversations/9/notes",
                br#"{"message":"x","agentID":"a"}"#,
                "agentID",
            ),
            (
                "POST",
                "/conversations/9/notes/bulk",
                br#"{"notes":[{"message":"x"},{"mesage":"y"}]}"#,
                "notes[1].mesage",
            ),
            (
                "PUT",
                "/conversations/9/tags/t",
                br#"{"tagId":"u"}"#,
                "tagId",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(method, path, body, field)| {
                let reply = route(method, path, body).err();
                let body: Option<Value> = reply.and_then(|r| serde_json::from_str(&r.body).ok());
                let got = body.as_ref().and_then(|b| b["field"].as_str());
                (got != Some(*field)).then(|| format!("{method} {path}: {got:?}, want {field}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn bodies_over_the_operations_cap_are_refused_before_parsing() {
        let cap = ops::CREATE_INTERNAL_NOTE.max_input_bytes();
        let reply = route("POST", "/conversations/9/notes", &vec![b' '; cap + 1]).unwrap_err();
        assert_eq!(
            (reply.status, reply.body),
            (
                413,
                format!(
                    r#"{{"error":"invalid-input","message":"invalid input: input: the request body is larger than {cap} bytes","dixaMayHaveActed":false,"field":"input"}}"#
                )
            )
        );
        // A body of the largest size is read and judged on its content.
        let reply = route("GET", "/conversations/9/tags", &vec![b' '; 16 << 10]);
        assert!(reply.is_ok(), "{reply:?}");
    }

    #[test]
    fn malformed_requests_get_the_exact_error_reply() {
        let cases: [(&str, &str, &[u8], u16, &str); 9] = [
            (
                "GET",
                "/",
                b"",
                404,
                r#"{"error":"no-route","message":"no operation at /: use EVERY_ROUTE","dixaMayHaveActed":false}"#,
            ),
            (
                "POST",
                "/conversations/9456/tags/t",
                b"",
                405,
                r#"{"error":"method-not-allowed","message":"/conversations/9456/tags/t takes PUT or DELETE, not POST","dixaMayHaveActed":false}"#,
            ),
            (
                "POST",
                "/conversations/9456/notes",
                b"[1]",
                400,
                r#"{"error":"invalid-input","message":"invalid input: input: the request body must be a JSON object","dixaMayHaveActed":false,"field":"input"}"#,
            ),
            (
                "POST",
                "/conversations/9456/notes",
                br#"{"message":"x","extra":1}"#,
                400,
                r#"{"error":"invalid-input","message":"invalid input: extra: unknown field `extra`, expected one of `conversationId`, `message`, `agentId`, `createdAt`","dixaMayHaveActed":false,"field":"extra"}"#,
            ),
            (
                "POST",
                "/conversations/9456/notes",
                br#"{"message":"x""#,
                400,
                r#"{"error":"invalid-input","message":"invalid input: input: the request body: EOF while parsing an object at line 1 column 14","dixaMayHaveActed":false,"field":"input"}"#,
            ),
            (
                "POST",
                "/conversations/9456/messages",
                br#"{"content":"x","direction":"Inbound"}"#,
                400,
                r#"{"error":"invalid-input","message":"invalid input: direction: unknown variant `Inbound`, expected `inbound` or `outbound`","dixaMayHaveActed":false,"field":"direction"}"#,
            ),
            (
                "POST",
                "/conversations/9456/messages",
                br#"{"conversationId":"1","content":"x","direction":"inbound"}"#,
                400,
                r#"{"error":"invalid-input","message":"invalid input: conversationId: the body says \"1\" but the path says \"9456\"","dixaMayHaveActed":false,"field":"conversationId"}"#,
            ),
            (
                "PUT",
                "/conversations/9456/tags/%zz",
                b"",
                400,
                r#"{"error":"invalid-input","message":"invalid input: tagId: invalid percent-encoding in the path","dixaMayHaveActed":false,"field":"tagId"}"#,
            ),
            (
                "PUT",
                "/conversations/%C3%28/tags/t",
                b"",
                400,
                r#"{"error":"invalid-input","message":"invalid input: conversationId: invalid percent-encoding in the path","dixaMayHaveActed":false,"field":"conversationId"}"#,
            ),
        ];
        for (method, path, body, status, json) in cases {
            let reply = handle(method, path, body, no_client);
            assert_eq!(
                (reply.status, reply.body),
                (status, json.replace("EVERY_ROUTE", &every_route())),
                "{method} {path}"
            );
        }
        let reply = handle("PATCH", "/conversations/1/notes", b"", no_client);
        assert_eq!(reply.headers, vec![("allow", "POST, GET".to_owned())]);
    }

    #[test]
    fn invalid_ids_from_the_path_are_refused_before_sending() {
        // The scripted transport has no answer to give: sending would panic.
        let reply = handle("PUT", "/conversations/..%2Fadmin/tags/t", b"", || {
            Ok(client(Vec::new()))
        });
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (
                400,
                r#"{"error":"invalid-input","message":"invalid input: conversationId: must not contain '/'","dixaMayHaveActed":false,"field":"conversationId"}"#
            )
        );
    }

    #[test]
    fn outputs_are_the_spec_json_in_the_spec_order() {
        let message = r#"{"data":{"messageId":"m","authorId":"a","createdAt":"2021-06-09T08:18:37.284Z[GMT]","direction":"Outbound","content":{"value":"Hi","_type":"Text"}}}"#;
        let reply = handle(
            "POST",
            "/conversations/9456/messages",
            br#"{"content":"Hi","direction":"outbound","agentId":"a"}"#,
            || Ok(client(vec![answer(200, None, message)])),
        );
        assert_eq!(
            reply,
            Reply {
                status: 200,
                headers: Vec::new(),
                body: r#"{"messageId":"m","authorId":"a","createdAt":"2021-06-09T08:18:37.284Z","direction":"outbound","content":{"value":"Hi","type":"Text"}}"#.into(),
            }
        );
        let note = r#"{"data":{"id":"n","authorId":"a","createdAt":"2021-12-01T12:46:36.581Z","csid":9456,"message":"x"}}"#;
        let reply = handle(
            "POST",
            "/conversations/9456/notes",
            br#"{"message":"x"}"#,
            || Ok(client(vec![answer(200, None, note)])),
        );
        assert_eq!(
            reply.body,
            r#"{"id":"n","authorId":"a","createdAt":"2021-12-01T12:46:36.581Z","message":"x"}"#
        );
        let reply = handle("PUT", "/conversations/9456/tags/t", b"", || {
            Ok(client(vec![answer(204, None, "")]))
        });
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, r#"{"success":true}"#)
        );
    }

    #[test]
    fn callers_need_the_configured_bearer_token() {
        let config = |pairs: &'static [(&'static str, &'static str)]| {
            Access::from_config(move |key| {
                Ok(pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned()))
            })
        };
        let token = config(&[("service-token", "0123456789abcdef")]);
        assert_eq!(token.check(Some(b"Bearer 0123456789abcdef")), Ok(()));
        let refused = token.check(Some(b"Bearer wrong")).unwrap_err();
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (
                401,
                r#"{"error":"unauthenticated","message":"this service needs Authorization: Bearer <service token>","dixaMayHaveActed":false}"#
            )
        );
        assert_eq!(
            refused.headers,
            vec![("www-authenticate", "Bearer".to_owned())]
        );
        assert_eq!(token.check(None).unwrap_err().status, 401);
        // Spin's variable names: `_` for `-`.
        let spin = config(&[("service_token", "0123456789abcdef")]);
        assert_eq!(spin.check(Some(b"Bearer 0123456789abcdef")), Ok(()));
        assert_eq!(format!("{spin:?}"), "Token(<redacted>)");

        let unconfigured = config(&[])
            .check(Some(b"Bearer 0123456789abcdef"))
            .unwrap_err();
        assert_eq!(
            (unconfigured.status, unconfigured.body.as_str()),
            (
                503,
                r#"{"error":"configuration","message":"no service-token is configured: set it, or set allow-unauthenticated to \"true\" only behind a proxy that authenticates callers","dixaMayHaveActed":false}"#
            )
        );
        let short = config(&[("service-token", "short")]).check(Some(b"Bearer short"));
        assert_eq!(short.unwrap_err().status, 503);
        assert_eq!(
            config(&[("allow-unauthenticated", "true")]).check(None),
            Ok(())
        );
        assert_eq!(
            config(&[("allow-unauthenticated", "yes")])
                .check(None)
                .unwrap_err()
                .status,
            503
        );
    }

    #[test]
    fn cross_site_requests_and_bodies_that_are_not_json_are_refused() {
        let origin = |values: &[&str], host: Option<&str>| {
            let values: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
            check_origin(&values, host.map(str::as_bytes)).map_err(|reply| reply.status)
        };
        assert_eq!(origin(&[], Some("svc.example:3000")), Ok(()));
        assert_eq!(origin(&[], None), Ok(()));
        assert_eq!(
            origin(&["https://svc.example"], Some("SVC.example:3000")),
            Ok(())
        );
        for (values, host) in [
            (&["https://evil.example"][..], Some("svc.example")),
            (&["null"], Some("svc.example")),
            (&["https://svc.example"], None),
            (
                &["https://svc.example", "https://svc.example"],
                Some("svc.example"),
            ),
        ] {
            assert_eq!(origin(values, host), Err(403), "{values:?} {host:?}");
        }
        let refused =
            check_origin(&[b"https://evil.example".to_vec()], Some(b"svc.example")).unwrap_err();
        assert_eq!(
            refused.body,
            r#"{"error":"forbidden-origin","message":"the Origin header names a site this service does not serve","dixaMayHaveActed":false}"#
        );

        assert_eq!(check_body_type(None, b""), Ok(()));
        assert_eq!(
            check_body_type(Some(b"application/json; charset=utf-8"), b"{}"),
            Ok(())
        );
        for content_type in [
            None,
            Some(&b"text/plain"[..]),
            Some(b"application/x-www-form-urlencoded"),
        ] {
            let refused = check_body_type(content_type, b"{}").unwrap_err();
            assert_eq!(
                (refused.status, refused.body.as_str()),
                (
                    415,
                    r#"{"error":"invalid-input","message":"invalid input: input: the request body must be sent as Content-Type: application/json","dixaMayHaveActed":false,"field":"input"}"#
                ),
                "{content_type:?}"
            );
        }
    }

    #[test]
    fn an_echoed_key_never_reaches_the_caller() {
        let key = "secret-key-123";
        let echoed = format!(r#"{{"message":"bad request with Authorization: {key}"}}"#);
        let reply = handle("PUT", "/conversations/9456/tags/t", b"", || {
            Ok(Client::new(
                Scripted::new(vec![answer(400, None, &echoed)]),
                Settings {
                    base_url: "http://127.0.0.1:9".into(),
                    api_key: Some(key.into()),
                    key_injected_by_host: false,
                },
            ))
        });
        assert_eq!(
            reply.body,
            r#"{"error":"api","message":"Dixa answered 400: bad request with Authorization: <redacted>","dixaMayHaveActed":false,"status":400}"#
        );
    }

    #[test]
    fn every_error_case_has_its_status() {
        let api = |status, dixa_may_have_acted| Error::Api {
            status,
            message: "m".into(),
            dixa_may_have_acted,
        };
        let cases = [
            (Error::invalid("conversationId", "x"), 400, None),
            (Error::Configuration("base-url: x".into()), 503, None),
            (Error::NotFound("gone".into()), 404, None),
            (
                Error::RateLimited {
                    retry_after_seconds: Some(3),
                },
                429,
                Some("3"),
            ),
            (
                Error::RateLimited {
                    retry_after_seconds: None,
                },
                429,
                None,
            ),
            (api(409, false), 409, None),
            (api(503, true), 502, None),
            (Error::MissingCredentials, 502, None),
            (Error::Unauthorized("bad key".into()), 502, None),
            (
                Error::transport(crate::error::TransportKind::Connect, "refused", true),
                502,
                None,
            ),
            (
                Error::InvalidResponse {
                    message: "no data".into(),
                    dixa_may_have_acted: true,
                },
                502,
                None,
            ),
        ];
        for (error, status, retry_after) in cases {
            let body = error.to_body().to_json();
            let body = body.as_str();
            let reply = error_reply(&error);
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (status, body),
                "{error:?}"
            );
            let retry_after_header = reply
                .headers
                .iter()
                .find(|(name, _)| *name == "retry-after")
                .map(|(_, v)| v.as_str());
            assert_eq!(retry_after_header, retry_after);
        }
    }
}
