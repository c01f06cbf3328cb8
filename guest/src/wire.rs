//! Dixa's JSON, field for field (see Dixa's OpenAPI: `CreateInternalNoteInput`,
//! `CreateMessageInput`, `CreateNoteOutput`, `CreateMessageOutput`,
//! `BulkCreateInternalNoteInput`, `BulkCreateNoteOutput`, `ListInternalNotesOutput`,
//! `ConversationTagsOutput`).

use serde::{Deserialize, Serialize};

/// Body of `POST /v1/conversations/{id}/notes`. Absent fields are omitted, never null.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateNote<'a> {
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<&'a str>,
}

impl<'a> From<&'a dixa_contract::types::NewNote> for CreateNote<'a> {
    fn from(note: &'a dixa_contract::types::NewNote) -> Self {
        CreateNote {
            message: &note.message,
            agent_id: note.agent_id.as_deref(),
            created_at: note.created_at.as_deref(),
        }
    }
}

/// Body of `POST /v1/conversations/{id}/messages`, tagged by `_type`.
#[derive(Debug, Serialize)]
#[serde(tag = "_type")]
pub enum CreateMessage<'a> {
    Inbound {
        content: Content<'a>,
    },
    Outbound {
        content: Content<'a>,
        #[serde(rename = "agentId")]
        agent_id: &'a str,
    },
}

/// Message content; the connector sends plain text.
#[derive(Debug, Serialize)]
#[serde(tag = "_type")]
pub enum Content<'a> {
    Text { value: &'a str },
}

/// Dixa's success envelope: `{"data": ...}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
}

/// `InternalNoteData`; `csid` is not part of the connector's output.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteData {
    pub id: String,
    pub author_id: String,
    pub created_at: String,
    pub message: String,
}

/// `CreateMessageOutputData`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageData {
    pub message_id: String,
    pub author_id: String,
    pub created_at: String,
    /// "Inbound", "Outbound" or "Internal".
    pub direction: String,
    pub content: ContentData,
}

/// Message content as Dixa returns it.
#[derive(Debug, Deserialize)]
pub struct ContentData {
    pub value: String,
    #[serde(rename = "_type")]
    pub content_type: String,
}

/// Body of `POST /v1/conversations/{id}/notes/bulk`.
#[derive(Debug, Serialize)]
pub struct CreateNotes<'a> {
    pub data: Vec<CreateNote<'a>>,
}

/// One outcome of the bulk note call: `{"_type": "BulkActionSuccess", "data"}`
/// or `{"_type": "BulkActionFailure", "error"}`. A plain struct rather than an
/// internally tagged enum, whose deserializer costs tens of KB in the component.
#[derive(Debug, Deserialize)]
pub struct BulkOutcome {
    #[serde(rename = "_type")]
    pub outcome_type: String,
    #[serde(default)]
    pub data: Option<NoteData>,
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

/// `Tag`; `state` is "Active" or "Inactive".
#[derive(Debug, Deserialize)]
pub struct TagData {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub color: Option<String>,
    pub state: String,
}

/// Dixa's error body: `{"message": ...}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_omits_absent_fields() {
        let body = CreateNote {
            message: "A sample note",
            agent_id: None,
            created_at: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"message":"A sample note"}"#
        );
    }

    #[test]
    fn messages_are_tagged_like_dixa_expects() {
        let inbound = CreateMessage::Inbound {
            content: Content::Text { value: "Hi" },
        };
        assert_eq!(
            serde_json::to_string(&inbound).unwrap(),
            r#"{"_type":"Inbound","content":{"_type":"Text","value":"Hi"}}"#
        );
        let outbound = CreateMessage::Outbound {
            content: Content::Text { value: "Ok" },
            agent_id: "bac5a02c",
        };
        assert_eq!(
            serde_json::to_string(&outbound).unwrap(),
            r#"{"_type":"Outbound","content":{"_type":"Text","value":"Ok"},"agentId":"bac5a02c"}"#
        );
    }
}
