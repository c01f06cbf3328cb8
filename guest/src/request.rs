//! The HTTP request each operation makes: validated input in, method, path and body out.

use dixa_contract::operations::{self, Operation};
use dixa_contract::path;

use crate::error::Error;
use crate::{validate, wire};
use dixa_contract::types::{
    ConversationInput, Direction, MessageInput, NoteInput, NotesInput, TagInput,
};

pub use dixa_contract::Method;

/// Largest `create-internal-notes` request body, from the table: what the
/// reference host lets one request carry (its `CallLimits::request_body_bytes`
/// derives from the table too), so a call it would refuse fails here, as
/// invalid input naming `notes`.
pub const MAX_BULK_BODY_BYTES: usize = operations::CREATE_INTERNAL_NOTES.max_request_bytes;

/// A request to Dixa, relative to the base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DixaRequest {
    pub method: Method,
    /// Path with percent-encoded segments, e.g. `/v1/conversations/9456/notes`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Vec<u8>>,
    /// Whether sending the request twice has the effect of sending it once.
    pub idempotent: bool,
    /// Whether the request changes something in Dixa (it is not a read).
    pub changes: bool,
    /// Largest answer body accepted.
    pub max_response_bytes: usize,
}

impl DixaRequest {
    /// The request `operation` makes, its path filled with `ids`.
    fn new(operation: &Operation, ids: &[&str], body: Option<Vec<u8>>) -> Self {
        DixaRequest {
            method: operation.method,
            path: path::fill(operation.dixa_path, ids),
            body,
            idempotent: operation.idempotent,
            changes: !operation.read_only,
            max_response_bytes: operation.max_response_bytes,
        }
    }
}

/// `POST /v1/conversations/{id}/notes`.
pub fn create_internal_note(input: &NoteInput) -> Result<DixaRequest, Error> {
    validate::note(input)?;
    let note = input.new_note();
    let body = wire::CreateNote::from(&note);
    Ok(DixaRequest::new(
        &operations::CREATE_INTERNAL_NOTE,
        &[&input.conversation_id],
        Some(json(&body)?),
    ))
}

/// `POST /v1/conversations/{id}/messages`.
pub fn add_message(input: &MessageInput) -> Result<DixaRequest, Error> {
    validate::message(input)?;
    let content = wire::Content::Text {
        value: &input.content,
    };
    let body = match input.direction {
        Direction::Inbound => wire::CreateMessage::Inbound { content },
        // `validate::message` guarantees the agent id of an outbound message.
        Direction::Outbound => wire::CreateMessage::Outbound {
            content,
            agent_id: input.agent_id.as_deref().unwrap_or_default(),
        },
    };
    Ok(DixaRequest::new(
        &operations::ADD_MESSAGE,
        &[&input.conversation_id],
        Some(json(&body)?),
    ))
}

/// `PUT /v1/conversations/{id}/tags/{tagId}`, no body.
pub fn tag_conversation(input: &TagInput) -> Result<DixaRequest, Error> {
    validate::tag(input)?;
    Ok(DixaRequest::new(
        &operations::TAG_CONVERSATION,
        &[&input.conversation_id, &input.tag_id],
        None,
    ))
}

/// `DELETE /v1/conversations/{id}/tags/{tagId}`, no body.
pub fn untag_conversation(input: &TagInput) -> Result<DixaRequest, Error> {
    validate::tag(input)?;
    Ok(DixaRequest::new(
        &operations::UNTAG_CONVERSATION,
        &[&input.conversation_id, &input.tag_id],
        None,
    ))
}

/// `GET /v1/conversations/{id}/tags`.
pub fn list_conversation_tags(input: &ConversationInput) -> Result<DixaRequest, Error> {
    validate::conversation(input)?;
    Ok(DixaRequest::new(
        &operations::LIST_CONVERSATION_TAGS,
        &[&input.conversation_id],
        None,
    ))
}

/// `GET /v1/conversations/{id}/notes`.
pub fn list_internal_notes(input: &ConversationInput) -> Result<DixaRequest, Error> {
    validate::conversation(input)?;
    Ok(DixaRequest::new(
        &operations::LIST_INTERNAL_NOTES,
        &[&input.conversation_id],
        None,
    ))
}

/// `POST /v1/conversations/{id}/notes/bulk` with `{"data": [...]}`.
pub fn create_internal_notes(input: &NotesInput) -> Result<DixaRequest, Error> {
    validate::notes(input)?;
    let body = wire::CreateNotes {
        data: input.notes.iter().map(wire::CreateNote::from).collect(),
    };
    let body = json(&body)?;
    if body.len() > MAX_BULK_BODY_BYTES {
        return Err(Error::invalid(
            "notes",
            format!(
                "the notes add up to {} bytes of JSON, more than the {MAX_BULK_BODY_BYTES} one \
                 request may carry: split them over several calls",
                body.len()
            ),
        ));
    }
    Ok(DixaRequest::new(
        &operations::CREATE_INTERNAL_NOTES,
        &[&input.conversation_id],
        Some(body),
    ))
}

fn json(body: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body)
        .map_err(|e| Error::invalid("input", format_args!("cannot encode it as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_text(request: &DixaRequest) -> &str {
        std::str::from_utf8(request.body.as_deref().unwrap()).unwrap()
    }

    #[test]
    fn note_request_matches_dixas_example() {
        let request = create_internal_note(&NoteInput {
            conversation_id: "9456".into(),
            message: "A sample note".into(),
            agent_id: Some("a53b25da-f676-4c52-acac-58c9280aa23d".into()),
            created_at: Some("2021-12-01T12:46:36.581Z[GMT]".into()),
        })
        .unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, "/v1/conversations/9456/notes");
        assert_eq!(
            body_text(&request),
            r#"{"message":"A sample note","agentId":"a53b25da-f676-4c52-acac-58c9280aa23d","createdAt":"2021-12-01T12:46:36.581Z[GMT]"}"#
        );
        assert!(!request.idempotent);
    }

    #[test]
    fn tag_request_is_an_idempotent_put_without_body() {
        let request = tag_conversation(&TagInput {
            conversation_id: "conv:1".into(),
            tag_id: "a+b".into(),
        })
        .unwrap();
        assert_eq!(
            request,
            DixaRequest {
                method: Method::Put,
                path: "/v1/conversations/conv%3A1/tags/a%2Bb".into(),
                body: None,
                idempotent: true,
                changes: true,
                max_response_bytes: operations::WRITE_RESPONSE_BYTES,
            }
        );
        assert!(request.idempotent);
    }

    #[test]
    fn bulk_and_list_requests_follow_the_table() {
        let bulk = create_internal_notes(&NotesInput {
            conversation_id: "9456".into(),
            notes: vec![
                dixa_contract::types::NewNote {
                    message: "A sample note".into(),
                    agent_id: Some("a53b25da-f676-4c52-acac-58c9280aa23d".into()),
                    created_at: Some("2021-12-01T12:46:36.581Z[GMT]".into()),
                },
                dixa_contract::types::NewNote {
                    message: "Another sample note".into(),
                    agent_id: None,
                    created_at: None,
                },
            ],
        })
        .unwrap();
        assert_eq!(
            (
                bulk.method,
                bulk.path.as_str(),
                bulk.idempotent,
                bulk.changes
            ),
            (
                Method::Post,
                "/v1/conversations/9456/notes/bulk",
                false,
                true
            )
        );
        assert_eq!(
            body_text(&bulk),
            r#"{"data":[{"message":"A sample note","agentId":"a53b25da-f676-4c52-acac-58c9280aa23d","createdAt":"2021-12-01T12:46:36.581Z[GMT]"},{"message":"Another sample note"}]}"#
        );
        let conversation = ConversationInput {
            conversation_id: "9456".into(),
        };
        let tags = list_conversation_tags(&conversation).unwrap();
        assert_eq!(
            (tags.method, tags.path.as_str(), tags.body, tags.changes),
            (Method::Get, "/v1/conversations/9456/tags", None, false)
        );
        assert_eq!(tags.max_response_bytes, operations::LIST_RESPONSE_BYTES);
        let notes = list_internal_notes(&conversation).unwrap();
        assert_eq!(notes.path, "/v1/conversations/9456/notes");
        let untag = untag_conversation(&TagInput {
            conversation_id: "9456".into(),
            tag_id: "t".into(),
        })
        .unwrap();
        assert_eq!(
            (
                untag.method,
                untag.path.as_str(),
                untag.idempotent,
                untag.changes
            ),
            (Method::Delete, "/v1/conversations/9456/tags/t", true, true)
        );
    }

    #[test]
    fn a_bulk_body_larger_than_one_request_may_carry_is_invalid_input() {
        let note = dixa_contract::types::NewNote {
            message: "x".repeat(60_000),
            agent_id: None,
            created_at: None,
        };
        let input = |count| NotesInput {
            conversation_id: "9456".into(),
            notes: vec![note.clone(); count],
        };
        assert!(create_internal_notes(&input(17)).is_ok());
        assert!(matches!(
            create_internal_notes(&input(18)),
            Err(Error::InvalidInput { field, .. }) if field == "notes"
        ));
    }

    #[test]
    fn invalid_input_builds_no_request() {
        let result = add_message(&MessageInput {
            conversation_id: "9456".into(),
            content: "hi".into(),
            direction: Direction::Outbound,
            agent_id: None,
        });
        assert_eq!(
            result,
            Err(Error::invalid(
                "agentId",
                "is required for outbound messages"
            ))
        );
    }
}
