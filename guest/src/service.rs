//! The HTTP front of the `connector-service` world: routes, request bodies, and
//! the reply for every outcome. Plain Rust; `component::incoming` connects it to
//! `wasi:http/incoming-handler`.
//!
//! - `POST /conversations/{conversationId}/notes`: `create-internal-note`
//! - `POST /conversations/{conversationId}/messages`: `add-message`
//! - `PUT /conversations/{conversationId}/tags/{tagId}`: `tag-conversation`
//! - `DELETE /conversations/{conversationId}/tags/{tagId}`: `untag-conversation`
//! - `GET /conversations/{conversationId}/tags`: `list-conversation-tags`
//! - `GET /conversations/{conversationId}/notes`: `list-internal-notes`
//! - `POST /conversations/{conversationId}/notes/bulk`: `create-internal-notes`
//!
//! Bodies are the operations' camelCase JSON; the ids come from the path, and a
//! body that repeats one must repeat it unchanged.

use dixa_contract::{ErrorBody, auth, front, operations as ops, path};
use serde::{Deserialize, Serialize};

use crate::client::{Client, Transport};
use crate::error::Error;
use dixa_contract::types::{
    ConversationInput, Direction, MessageInput, NewNote, NoteInput, NotesInput, TagInput,
};

/// Largest request body read. Texts are capped at 64 KiB of UTF-8, which JSON
/// escaping can grow up to six times.
pub const MAX_REQUEST_BYTES: usize = 400 * 1024;

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

    /// The answer to a request body over [`MAX_REQUEST_BYTES`].
    pub fn body_too_large() -> Reply {
        let mut reply = error_reply(&Error::invalid(
            "input",
            format_args!("the request body is larger than {MAX_REQUEST_BYTES} bytes"),
        ));
        reply.status = 413;
        reply
    }
}

/// The routed requests and how each runs, from the table of operations.
macro_rules! operations {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        pastey::paste! {
            /// A routed request with its parsed input.
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub enum Operation {
                $([<$snake:camel>]($input),)*
            }

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
    let operation = match route(method, path, body) {
        Ok(operation) => operation,
        Err(reply) => return reply,
    };
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

/// Finds the operation for `method` and `path` (a query is ignored) in the
/// table of operations and parses its body; the error reply says what was wrong.
pub fn route(method: &str, path: &str, body: &[u8]) -> Result<Operation, Reply> {
    let path = path.split('?').next().unwrap_or_default();
    let at_path: Vec<_> = ops::OPERATIONS
        .iter()
        .filter_map(|operation| {
            path::captures(operation.service_path, path).map(|segments| (operation, segments))
        })
        .collect();
    if at_path.is_empty() {
        let routes: Vec<String> = ops::OPERATIONS
            .iter()
            .map(|o| format!("{} {}", o.service_method.as_str(), o.service_path))
            .collect();
        return Err(Reply::failure(
            404,
            "no-route",
            &format!("no operation at {path}: use {}", routes.join(", ")),
        ));
    }
    let Some((operation, segments)) = at_path
        .iter()
        .find(|(operation, _)| operation.service_method.as_str() == method)
    else {
        let allowed: Vec<&str> = at_path
            .iter()
            .map(|(operation, _)| operation.service_method.as_str())
            .collect();
        let mut reply = Reply::failure(
            405,
            "method-not-allowed",
            &format!("{path} takes {}, not {method}", allowed.join(" or ")),
        );
        reply.headers.push(("allow", allowed.join(", ")));
        return Err(reply);
    };
    let ids = path::placeholders(operation.service_path)
        .zip(segments.iter().copied())
        .map(|(field, segment)| path_segment(field, segment))
        .collect::<Result<Vec<String>, Reply>>()?;
    let id = |i: usize| ids.get(i).cloned().unwrap_or_default();
    match operation.name {
        name if name == ops::CREATE_INTERNAL_NOTE.name => {
            let body: NoteBody = parse_body(body)?;
            same_as_path("conversationId", body.conversation_id, &id(0))?;
            Ok(Operation::CreateInternalNote(NoteInput {
                conversation_id: id(0),
                message: body.message,
                agent_id: body.agent_id,
                created_at: body.created_at,
            }))
        }
        name if name == ops::ADD_MESSAGE.name => {
            let body: MessageBody = parse_body(body)?;
            same_as_path("conversationId", body.conversation_id, &id(0))?;
            Ok(Operation::AddMessage(MessageInput {
                conversation_id: id(0),
                content: body.content,
                direction: body.direction,
                agent_id: body.agent_id,
            }))
        }
        name if name == ops::CREATE_INTERNAL_NOTES.name => {
            let body: NotesBody = parse_body(body)?;
            same_as_path("conversationId", body.conversation_id, &id(0))?;
            Ok(Operation::CreateInternalNotes(NotesInput {
                conversation_id: id(0),
                notes: body.notes,
            }))
        }
        name if name == ops::TAG_CONVERSATION.name || name == ops::UNTAG_CONVERSATION.name => {
            // The path says it all; a body may repeat the ids, as the CLI's input does.
            let body: IdsBody = optional_body(body)?;
            same_as_path("conversationId", body.conversation_id, &id(0))?;
            same_as_path("tagId", body.tag_id, &id(1))?;
            let input = TagInput {
                conversation_id: id(0),
                tag_id: id(1),
            };
            Ok(if name == ops::TAG_CONVERSATION.name {
                Operation::TagConversation(input)
            } else {
                Operation::UntagConversation(input)
            })
        }
        name if name == ops::LIST_CONVERSATION_TAGS.name
            || name == ops::LIST_INTERNAL_NOTES.name =>
        {
            // The two lists: the path says it all.
            let body: IdsBody = optional_body(body)?;
            same_as_path("conversationId", body.conversation_id, &id(0))?;
            if body.tag_id.is_some() {
                return Err(invalid_input("tagId", "is not an input of this operation"));
            }
            let input = ConversationInput {
                conversation_id: id(0),
            };
            Ok(if name == ops::LIST_CONVERSATION_TAGS.name {
                Operation::ListConversationTags(input)
            } else {
                Operation::ListInternalNotes(input)
            })
        }
        // A row of the table this front does not serve yet (a test rules it out).
        name => Err(Reply::failure(
            501,
            "not-implemented",
            &format!("{name} has no route on this service"),
        )),
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

/// A percent-decoded path segment; the operation's validation judges the rest.
fn path_segment(field: &str, segment: &str) -> Result<String, Reply> {
    path::decode_segment(segment)
        .ok_or_else(|| invalid_input(field, "invalid percent-encoding in the path"))
}

/// A body that may be absent: the ids in the path are the whole input.
fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_body(body)
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(invalid_input(
            "input",
            "the request body must be a JSON object",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| invalid_input("input", &format!("the request body: {e}")))
}

fn same_as_path(field: &str, in_body: Option<String>, in_path: &str) -> Result<(), Reply> {
    match in_body {
        Some(value) if value != in_path => Err(invalid_input(
            field,
            &format!("the body says {value:?} but the path says {in_path:?}"),
        )),
        _ => Ok(()),
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NoteBody {
    #[serde(default)]
    conversation_id: Option<String>,
    message: String,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MessageBody {
    #[serde(default)]
    conversation_id: Option<String>,
    content: String,
    direction: Direction,
    #[serde(default)]
    agent_id: Option<String>,
}

/// The body of a route whose path carries the whole input: it may repeat the ids.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdsBody {
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    tag_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NotesBody {
    #[serde(default)]
    conversation_id: Option<String>,
    notes: Vec<NewNote>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::testing::{Scripted, answer};
    use crate::client::{Settings, TransportError};

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
    fn every_operation_of_the_table_has_a_route() {
        for operation in ops::OPERATIONS {
            let path = path::fill(operation.service_path, &["9456", "t"]);
            let routed = route(operation.service_method.as_str(), &path, b"");
            assert!(
                !matches!(&routed, Err(reply) if reply.status == 501),
                "{}: {routed:?}",
                operation.name
            );
        }
    }

    #[test]
    fn malformed_requests_get_the_exact_error_reply() {
        let cases: [(&str, &str, &[u8], u16, &str); 9] = [
            (
                "GET",
                "/",
                b"",
                404,
                r#"{"error":"no-route","message":"no operation at /: use POST /conversations/{conversationId}/notes, POST /conversations/{conversationId}/messages, PUT /conversations/{conversationId}/tags/{tagId}, DELETE /conversations/{conversationId}/tags/{tagId}, GET /conversations/{conversationId}/tags, GET /conversations/{conversationId}/notes, POST /conversations/{conversationId}/notes/bulk","dixaMayHaveActed":false}"#,
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
                r#"{"error":"invalid-input","message":"invalid input: input: the request body: unknown field `extra`, expected one of `conversationId`, `message`, `agentId`, `createdAt` at line 1 column 22","dixaMayHaveActed":false,"field":"input"}"#,
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
                r#"{"error":"invalid-input","message":"invalid input: input: the request body: unknown variant `Inbound`, expected `inbound` or `outbound` at line 1 column 36","dixaMayHaveActed":false,"field":"input"}"#,
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
                (reply.status, reply.body.as_str()),
                (status, json),
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
