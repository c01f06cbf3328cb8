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
    /// Largest answer body accepted from Dixa.
    pub max_response_bytes: usize,
}

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
        }
    }
}
