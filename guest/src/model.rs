//! Domain types: the WIT records as plain Rust, free of generated bindings.

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Written by the end user.
    Inbound,
    /// Written by an agent.
    Outbound,
}

/// Input of `create-internal-note`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteInput {
    pub conversation_id: String,
    pub message: String,
    pub agent_id: Option<String>,
    pub created_at: Option<String>,
}

/// The note Dixa created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: String,
    pub author_id: String,
    pub created_at: String,
    pub message: String,
}

/// Input of `add-message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInput {
    pub conversation_id: String,
    pub content: String,
    pub direction: Direction,
    pub agent_id: Option<String>,
}

/// Body of a message as Dixa stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent {
    pub value: String,
    pub content_type: String,
}

/// The message Dixa added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub message_id: String,
    pub author_id: String,
    pub created_at: String,
    pub direction: Direction,
    pub content: MessageContent,
}

/// Input of `tag-conversation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInput {
    pub conversation_id: String,
    pub tag_id: String,
}
