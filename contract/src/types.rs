//! The operations' inputs and outputs: the WIT records as plain Rust, with
//! the camelCase JSON the CLI, the HTTP fronts and batch lines read and print.
//! The guest and the host both use these, so the JSON is defined once; with
//! the `schema` feature they also give their JSON Schema (the MCP tools' schemas).

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Written by the end user.
    Inbound,
    /// Written by an agent; needs an agent id.
    Outbound,
}

/// Input of `create-internal-note`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoteInput {
    /// Dixa conversation id, e.g. "9456": 1 to 128 printable ASCII characters,
    /// none of `/ ? # % \`, not `.` or containing `..`.
    pub conversation_id: String,
    /// Text of the note, visible to agents only: not blank, at most 65536 bytes of UTF-8.
    pub message: String,
    /// Agent (UUID) to author the note; the API token's owner when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// When the note was written: RFC 3339 with an offset, e.g.
    /// `2021-12-01T12:46:36.581Z`, or Dixa's `2021-12-01T12:46:36.581Z[GMT]`;
    /// sent to Dixa as given, the current time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl NoteInput {
    /// The note without its conversation: what one note of
    /// `create-internal-notes` holds, so a note is checked and sent the same
    /// way alone and in bulk.
    pub fn new_note(&self) -> NewNote {
        NewNote {
            message: self.message.clone(),
            agent_id: self.agent_id.clone(),
            created_at: self.created_at.clone(),
        }
    }
}

/// The note Dixa created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Plain-text body of the message: not blank, at most 65536 bytes of UTF-8.
    pub content: String,
    /// Inbound (from the end user) or outbound (from an agent).
    pub direction: Direction,
    /// Agent (UUID) who sends the message: required for outbound, refused for inbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// Body of a message as Dixa stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageContent {
    /// The text.
    pub value: String,
    /// "Text", "Html" or "Markdown".
    #[serde(rename = "type")]
    pub content_type: String,
}

/// The message Dixa added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Tag (UUID) to add.
    pub tag_id: String,
}

/// Outcome of `tag-conversation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TagResult {
    /// True once Dixa confirmed.
    pub success: bool,
}

/// Input of the operations that read a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
}

/// Whether a tag can still be put on conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TagState {
    /// In use.
    Active,
    /// Retired.
    Inactive,
}

/// A tag on a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tag {
    /// Id (UUID) of the tag.
    pub id: String,
    /// Name of the tag.
    pub name: String,
    /// Color Dixa shows it in, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Whether it is active.
    pub state: TagState,
}

/// Output of `list-conversation-tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TagList {
    /// The conversation's tags.
    pub tags: Vec<Tag>,
}

/// Output of `list-internal-notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NoteList {
    /// The conversation's internal notes, oldest first.
    pub notes: Vec<Note>,
}

/// One note of `create-internal-notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewNote {
    /// Text of the note: not blank, at most 65536 bytes of UTF-8.
    pub message: String,
    /// Agent (UUID) to author the note; the API token's owner when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// When the note was written, as for `create-internal-note` (RFC 3339
    /// with an offset, or Dixa's form ending in `[GMT]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Input of `create-internal-notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotesInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// The notes to add, 1 to 100 (Dixa documents no limit; the connector sets one).
    pub notes: Vec<NewNote>,
}

/// What became of one note of `create-internal-notes`:
/// `{"outcome": "created", "note": {...}}` or `{"outcome": "failed", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum NoteOutcome {
    /// Dixa created it.
    Created {
        /// The note.
        note: Note,
    },
    /// Dixa refused it.
    Failed {
        /// Dixa's message for this note.
        message: String,
    },
}

/// Output of `create-internal-notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NotesResult {
    /// One outcome per note, in the order given.
    pub results: Vec<NoteOutcome>,
}

impl NotesResult {
    /// Whether every note was created.
    pub fn all_created(&self) -> bool {
        self.results
            .iter()
            .all(|outcome| matches!(outcome, NoteOutcome::Created { .. }))
    }
}
