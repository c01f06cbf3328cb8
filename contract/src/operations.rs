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
    /// Method of the request to Dixa.
    pub method: Method,
    /// Path of the request to Dixa, below the base URL.
    pub dixa_path: &'static str,
    /// Sending the request twice has the effect of sending it once, so it may
    /// be retried after a 5xx or a transport error.
    pub idempotent: bool,
    /// The request changes nothing in Dixa.
    pub read_only: bool,
    /// Method of the route on the HTTP front.
    pub service_method: Method,
    /// Path of the route on the HTTP front.
    pub service_path: &'static str,
}

/// `create-internal-note`: `POST /v1/conversations/{conversationId}/notes`.
pub const CREATE_INTERNAL_NOTE: Operation = Operation {
    name: "create-internal-note",
    method: Method::Post,
    dixa_path: "/v1/conversations/{conversationId}/notes",
    idempotent: false,
    read_only: false,
    service_method: Method::Post,
    service_path: "/conversations/{conversationId}/notes",
};

/// `add-message`: `POST /v1/conversations/{conversationId}/messages`.
pub const ADD_MESSAGE: Operation = Operation {
    name: "add-message",
    method: Method::Post,
    dixa_path: "/v1/conversations/{conversationId}/messages",
    idempotent: false,
    read_only: false,
    service_method: Method::Post,
    service_path: "/conversations/{conversationId}/messages",
};

/// `tag-conversation`: `PUT /v1/conversations/{conversationId}/tags/{tagId}`.
pub const TAG_CONVERSATION: Operation = Operation {
    name: "tag-conversation",
    method: Method::Put,
    dixa_path: "/v1/conversations/{conversationId}/tags/{tagId}",
    idempotent: true,
    read_only: false,
    service_method: Method::Put,
    service_path: "/conversations/{conversationId}/tags/{tagId}",
};

/// Every operation, in the order of the WIT.
pub const OPERATIONS: &[Operation] = &[CREATE_INTERNAL_NOTE, ADD_MESSAGE, TAG_CONVERSATION];

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
            assert_eq!(Some(op.service_path), op.dixa_path.strip_prefix("/v1"));
            assert!(!op.read_only || op.idempotent, "{}", op.name);
        }
    }
}
