//! The operations' inputs and outputs: the WIT records as plain Rust, with
//! the camelCase JSON the CLI, the HTTP fronts and batch lines read and print.
//! The guest and the host both use these, so the JSON is defined once.

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Written by the end user.
    Inbound,
    /// Written by an agent; needs an agent id.
    Outbound,
}

/// Input of `create-internal-note`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoteInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Text of the note.
    pub message: String,
    /// Agent (UUID) to author the note; the token's owner when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// RFC 3339 creation time, sent to Dixa as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// The note Dixa created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Id (UUID) of the note.
    pub id: String,
    /// Agent (UUID) who authored it.
    pub author_id: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Text of the note.
    pub message: String,
}

/// Input of `add-message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Plain-text body.
    pub content: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// Sending agent (UUID): required for outbound, refused for inbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// Body of a message as Dixa stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    /// The text.
    pub value: String,
    /// "Text", "Html" or "Markdown".
    #[serde(rename = "type")]
    pub content_type: String,
}

/// The message Dixa added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Id (UUID) of the message.
    pub message_id: String,
    /// Author: the agent for outbound, the end user for inbound.
    pub author_id: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Direction Dixa recorded.
    pub direction: Direction,
    /// Body of the message.
    pub content: MessageContent,
}

/// Input of `tag-conversation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Tag (UUID) to add.
    pub tag_id: String,
}

/// Outcome of `tag-conversation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagResult {
    /// True once Dixa confirmed.
    pub success: bool,
}
