//! The HTTP request each operation makes: validated input in, method, path and body out.

use crate::error::Error;
use crate::model::{Direction, MessageInput, NoteInput, TagInput};
use crate::{validate, wire};

/// HTTP methods the connector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

/// A request to Dixa, relative to the base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DixaRequest {
    pub method: Method,
    /// Path with percent-encoded segments, e.g. `/v1/conversations/9456/notes`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Vec<u8>>,
}

impl DixaRequest {
    /// Whether sending the request twice has the effect of sending it once.
    pub fn is_idempotent(&self) -> bool {
        self.method == Method::Put
    }
}

/// `POST /v1/conversations/{id}/notes`.
pub fn create_internal_note(input: &NoteInput) -> Result<DixaRequest, Error> {
    validate::note(input)?;
    let body = wire::CreateNote {
        message: &input.message,
        agent_id: input.agent_id.as_deref(),
        created_at: input.created_at.as_deref(),
    };
    post(&input.conversation_id, "notes", &body)
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
    post(&input.conversation_id, "messages", &body)
}

/// `PUT /v1/conversations/{id}/tags/{tagId}`, no body.
pub fn tag_conversation(input: &TagInput) -> Result<DixaRequest, Error> {
    validate::tag(input)?;
    Ok(DixaRequest {
        method: Method::Put,
        path: format!(
            "/v1/conversations/{}/tags/{}",
            encode_segment(&input.conversation_id),
            encode_segment(&input.tag_id)
        ),
        body: None,
    })
}

fn post(
    conversation_id: &str,
    collection: &str,
    body: &impl serde::Serialize,
) -> Result<DixaRequest, Error> {
    let body = serde_json::to_vec(body)
        .map_err(|e| Error::InvalidInput(format!("cannot encode the request as JSON: {e}")))?;
    Ok(DixaRequest {
        method: Method::Post,
        path: format!(
            "/v1/conversations/{}/{collection}",
            encode_segment(conversation_id)
        ),
        body: Some(body),
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(segment: &str) -> String {
    use std::fmt::Write;
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
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
        assert!(!request.is_idempotent());
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
            }
        );
        assert!(request.is_idempotent());
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
            Err(Error::InvalidInput(
                "agentId: is required for outbound messages".into()
            ))
        );
    }
}
