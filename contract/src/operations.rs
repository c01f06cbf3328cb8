//! The one table of the connector's operations. The guest builds its requests
//! and HTTP-front routes from it, and the host's policy attaches the API key
//! only to requests that match one of its rows, so an operation cannot be added
//! to one layer and forgotten in another.

/// An HTTP method the connector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name on the wire, e.g. `"POST"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One operation: its WIT name, the request it makes to Dixa, and its route on
/// the HTTP front. Paths are templates whose `{name}` placeholders each stand
/// for one percent-encoded segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The WIT function name, e.g. `create-internal-note`.
    pub name: &'static str,
    /// The WIT function's documentation, on one line (a test keeps it equal
    /// to the WIT): what tool descriptions show.
    pub description: &'static str,
    /// Method of the request to Dixa.
    pub method: Method,
    /// Path of the request to Dixa, below the base URL.
    pub dixa_path: &'static str,
    /// Sending the request twice has the effect of sending it once, so it may
    /// be retried after a 5xx or a transport error.
    pub idempotent: bool,
    /// The request changes nothing in Dixa.
    pub read_only: bool,
    /// The request takes something away (it is not additive): MCP's
    /// `destructiveHint`, for agents that ask before such a call.
    pub destructive: bool,
    /// Method of the route on the HTTP front.
    pub service_method: Method,
    /// Path of the route on the HTTP front.
    pub service_path: &'static str,
    /// Largest request body sent to Dixa (0: the request has none). Every
    /// front derives its cap on an input from it ([`Operation::max_input_bytes`]).
    pub max_request_bytes: usize,
    /// Largest answer body accepted from Dixa.
    pub max_response_bytes: usize,
}

impl Operation {
    /// The largest JSON input a front accepts for this operation (a body, a
    /// batch line's `input`, MCP arguments): an input whose request to Dixa
    /// fits [`max_request_bytes`](Self::max_request_bytes), written with
    /// every character escaped ([`JSON_ESCAPE_GROWTH`]), plus room for the
    /// ids and field names the request does not carry. So no front refuses
    /// an input the operation takes.
    pub const fn max_input_bytes(&self) -> usize {
        self.max_request_bytes * JSON_ESCAPE_GROWTH + INPUT_OVERHEAD_BYTES
    }
}

/// How much longer JSON text may be than the text it encodes: `\u0041` is
/// six bytes for the one of `A`.
pub const JSON_ESCAPE_GROWTH: usize = 6;
/// Room in an input beyond what its request to Dixa carries: ids (escaped,
/// 6 x 128 bytes each), field names and whitespace.
pub const INPUT_OVERHEAD_BYTES: usize = 16 << 10;

/// Request cap of the operations that write one text: a text of 64 KiB that
/// JSON escapes six times (control characters as `\u0001`), and its ids.
pub const WRITE_REQUEST_BYTES: usize = 400 << 10;
/// Request cap of the bulk write: what one request to Dixa may carry; the
/// guest refuses notes that add up to more, naming the cap.
pub const BULK_REQUEST_BYTES: usize = 1 << 20;
/// Request cap of the operations that send no body.
pub const NO_BODY: usize = 0;

/// Answer cap of the operations that write one thing: Dixa's answers are a
/// few hundred bytes.
pub const WRITE_RESPONSE_BYTES: usize = 1 << 20;
/// Answer cap of the lists and the bulk write: a long conversation's notes
/// (64 KiB each at most) can be far larger than one note.
pub const LIST_RESPONSE_BYTES: usize = 16 << 20;

/// `create-internal-note`: `POST /v1/conversations/{conversationId}/notes`.
pub const CREATE_INTERNAL_NOTE: Operation = Operation {
    name: "create-internal-note",
    description: "Add an internal note (visible to agents only) to a conversation. Retried only when Dixa did not act (a 429, or no connection was made), never after a 5xx or a broken connection, so a note is never duplicated.",
    method: Method::Post,
    dixa_path: "/v1/conversations/{conversationId}/notes",
    idempotent: false,
    read_only: false,
    destructive: false,
    service_method: Method::Post,
    service_path: "/conversations/{conversationId}/notes",
    max_request_bytes: WRITE_REQUEST_BYTES,
    max_response_bytes: WRITE_RESPONSE_BYTES,
};

/// `add-message`: `POST /v1/conversations/{conversationId}/messages`.
pub const ADD_MESSAGE: Operation = Operation {
    name: "add-message",
    description: "Add an inbound or outbound message to a conversation. Retried only when Dixa did not act (a 429, or no connection was made), never after a 5xx or a broken connection, so a customer never sees a message twice.",
    method: Method::Post,
    dixa_path: "/v1/conversations/{conversationId}/messages",
    idempotent: false,
    read_only: false,
    destructive: false,
    service_method: Method::Post,
    service_path: "/conversations/{conversationId}/messages",
    max_request_bytes: WRITE_REQUEST_BYTES,
    max_response_bytes: WRITE_RESPONSE_BYTES,
};

/// `tag-conversation`: `PUT /v1/conversations/{conversationId}/tags/{tagId}`.
pub const TAG_CONVERSATION: Operation = Operation {
    name: "tag-conversation",
    description: "Put a tag on a conversation. Idempotent, so also retried after a 5xx or a broken connection (not after a TLS failure or a refusal by the host).",
    method: Method::Put,
    dixa_path: "/v1/conversations/{conversationId}/tags/{tagId}",
    idempotent: true,
    read_only: false,
    destructive: false,
    service_method: Method::Put,
    service_path: "/conversations/{conversationId}/tags/{tagId}",
    max_request_bytes: NO_BODY,
    max_response_bytes: WRITE_RESPONSE_BYTES,
};

/// `untag-conversation`: `DELETE /v1/conversations/{conversationId}/tags/{tagId}`.
pub const UNTAG_CONVERSATION: Operation = Operation {
    name: "untag-conversation",
    description: "Remove a tag from a conversation. Idempotent, so retried like the tag `PUT`. Removing is not additive: the tag is gone from the conversation.",
    method: Method::Delete,
    dixa_path: "/v1/conversations/{conversationId}/tags/{tagId}",
    idempotent: true,
    read_only: false,
    destructive: true,
    service_method: Method::Delete,
    service_path: "/conversations/{conversationId}/tags/{tagId}",
    max_request_bytes: NO_BODY,
    max_response_bytes: WRITE_RESPONSE_BYTES,
};

/// `list-conversation-tags`: `GET /v1/conversations/{conversationId}/tags`.
pub const LIST_CONVERSATION_TAGS: Operation = Operation {
    name: "list-conversation-tags",
    description: "List the tags on a conversation. Reads only, so retried after a 5xx or a broken connection.",
    method: Method::Get,
    dixa_path: "/v1/conversations/{conversationId}/tags",
    idempotent: true,
    read_only: true,
    destructive: false,
    service_method: Method::Get,
    service_path: "/conversations/{conversationId}/tags",
    max_request_bytes: NO_BODY,
    max_response_bytes: LIST_RESPONSE_BYTES,
};

/// `list-internal-notes`: `GET /v1/conversations/{conversationId}/notes`.
pub const LIST_INTERNAL_NOTES: Operation = Operation {
    name: "list-internal-notes",
    description: "List the internal notes of a conversation, oldest first. Reads only, so retried after a 5xx or a broken connection.",
    method: Method::Get,
    dixa_path: "/v1/conversations/{conversationId}/notes",
    idempotent: true,
    read_only: true,
    destructive: false,
    service_method: Method::Get,
    service_path: "/conversations/{conversationId}/notes",
    max_request_bytes: NO_BODY,
    max_response_bytes: LIST_RESPONSE_BYTES,
};

/// `create-internal-notes`: `POST /v1/conversations/{conversationId}/notes/bulk`.
pub const CREATE_INTERNAL_NOTES: Operation = Operation {
    name: "create-internal-notes",
    description: "Add up to 100 internal notes to a conversation in one request. The call succeeds when Dixa answers, even if some notes failed: each has its own outcome. Never retried once Dixa may have acted.",
    method: Method::Post,
    dixa_path: "/v1/conversations/{conversationId}/notes/bulk",
    idempotent: false,
    read_only: false,
    destructive: false,
    service_method: Method::Post,
    service_path: "/conversations/{conversationId}/notes/bulk",
    max_request_bytes: BULK_REQUEST_BYTES,
    max_response_bytes: LIST_RESPONSE_BYTES,
};

/// The table of operations with their types: calls `$callback!` with one
/// entry per operation, in the order of the WIT,
/// `snake_name ROW_CONSTANT InputType => OutputType;`. The types are named
/// as in `dixa_contract::types` and in the WIT bindings alike, so a layer
/// can name either (`types::$input`, `wit::$input`).
///
/// Each layer that has per-operation code (the host's typed methods and JSON
/// dispatch, the MCP tools) expands it with a macro of its own, so a layer
/// that lacks an operation fails to compile instead of answering "unknown
/// operation" at run time. wasmtime-environ's `foreach_builtin_function!` is
/// the model: a macro rather than a trait with associated types, because
/// the layers need names (methods, bindings) as much as types.
#[macro_export]
macro_rules! for_each_operation {
    ($callback:ident) => {
        $callback! {
            create_internal_note CREATE_INTERNAL_NOTE
                NoteInput => Note;
            add_message ADD_MESSAGE
                MessageInput => Message;
            tag_conversation TAG_CONVERSATION
                TagInput => TagResult;
            untag_conversation UNTAG_CONVERSATION
                TagInput => TagResult;
            list_conversation_tags LIST_CONVERSATION_TAGS
                ConversationInput => TagList;
            list_internal_notes LIST_INTERNAL_NOTES
                ConversationInput => NoteList;
            create_internal_notes CREATE_INTERNAL_NOTES
                NotesInput => NotesResult;
        }
    };
}

macro_rules! operations {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        /// Every operation, in the order of the WIT.
        pub const OPERATIONS: &[Operation] = &[$($row),*];
    };
}
for_each_operation!(operations);

/// The largest request body of any operation: the cap of a layer that
/// forwards requests before it knows which operation made them.
pub const MAX_REQUEST_BYTES: usize = {
    let mut largest = 0;
    let mut rest = OPERATIONS;
    while let [operation, others @ ..] = rest {
        if operation.max_request_bytes > largest {
            largest = operation.max_request_bytes;
        }
        rest = others;
    }
    largest
};
/// The largest input of any operation: the cap of a front that reads a body
/// before it knows the operation (`dixa serve`, MCP, a batch line).
pub const MAX_INPUT_BYTES: usize = MAX_REQUEST_BYTES * JSON_ESCAPE_GROWTH + INPUT_OVERHEAD_BYTES;

/// Dixa's API origin: the base URL every layer defaults to.
pub const DIXA_BASE_URL: &str = "https://dev.dixa.io";

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMiss {
    /// No route has this path.
    NoPath,
    /// Routes have this path, with these other methods.
    OtherMethods(Vec<Method>),
}

/// The row among `rows` whose route (`route_of(row)`: method and path
/// template) matches `method` and `path` exactly, with the path's raw
/// segments at the template's placeholders. Shared by the host's outbound
/// policy (`dixa_path`) and the guest's HTTP front (`service_path`).
pub fn route<'r, 'p, R>(
    rows: &'r [R],
    route_of: impl Fn(&R) -> (Method, &'static str),
    method: &str,
    path: &'p str,
) -> Result<(&'r R, Vec<&'p str>), RouteMiss> {
    let mut other_methods = Vec::new();
    for row in rows {
        let (row_method, template) = route_of(row);
        if let Some(segments) = crate::path::captures(template, path) {
            if row_method.as_str() == method {
                return Ok((row, segments));
            }
            other_methods.push(row_method);
        }
    }
    if other_methods.is_empty() {
        Err(RouteMiss::NoPath)
    } else {
        Err(RouteMiss::OtherMethods(other_methods))
    }
}

/// The operation whose request to Dixa is `method` on `path` (below the base
/// URL's path, without a query), each id one canonical percent-encoded
/// segment: the requests the host adds the API key to.
pub fn dixa_operation(method: &str, path: &str) -> Option<&'static Operation> {
    let (operation, ids) = route(OPERATIONS, |o| (o.method, o.dixa_path), method, path).ok()?;
    ids.iter()
        .all(|id| crate::path::is_encoded_segment(id))
        .then_some(operation)
}

/// The operations' names, in the order of the WIT, for messages that list them.
pub fn names() -> Vec<&'static str> {
    OPERATIONS.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_routes_mirror_the_dixa_paths() {
        for (i, op) in OPERATIONS.iter().enumerate() {
            assert!(OPERATIONS.iter().skip(i + 1).all(|o| o.name != op.name));
            assert!(
                OPERATIONS
                    .iter()
                    .skip(i + 1)
                    .all(|o| (o.method, o.dixa_path) != (op.method, op.dixa_path)),
                "{}: one row per request",
                op.name
            );
            assert_eq!(Some(op.service_path), op.dixa_path.strip_prefix("/v1"));
            assert!(!op.read_only || op.idempotent, "{}", op.name);
            assert!(op.max_input_bytes() <= MAX_INPUT_BYTES, "{}", op.name);
            assert!(
                op.method != Method::Get || op.max_request_bytes == NO_BODY,
                "{}",
                op.name
            );
        }
    }

    #[test]
    fn routes_match_exactly_and_say_which_methods_a_path_takes() {
        let found = |method, path| {
            route(
                OPERATIONS,
                |o| (o.service_method, o.service_path),
                method,
                path,
            )
            .map(|(o, ids)| (o.name, ids))
        };
        assert_eq!(
            found("PUT", "/conversations/9/tags/t%201"),
            Ok(("tag-conversation", vec!["9", "t%201"]))
        );
        assert_eq!(
            found("PATCH", "/conversations/9/notes"),
            Err(RouteMiss::OtherMethods(vec![Method::Post, Method::Get]))
        );
        assert_eq!(
            found("GET", "/conversations/9/notes/"),
            Err(RouteMiss::NoPath)
        );
        assert_eq!(found("GET", "/conversations/9"), Err(RouteMiss::NoPath));
        assert_eq!(
            dixa_operation("POST", "/v1/conversations/9/notes/bulk"),
            Some(&CREATE_INTERNAL_NOTES)
        );
        // An id must be one canonical segment: no raw space, no `..`.
        assert_eq!(dixa_operation("GET", "/v1/conversations/9 9/tags"), None);
        assert_eq!(dixa_operation("GET", "/v1/conversations/../tags"), None);
    }
}
