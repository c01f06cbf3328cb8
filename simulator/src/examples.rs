//! Inputs from the examples in Dixa's API reference, which the simulator
//! answers like Dixa: for the demo, tests and benchmarks.

use dixa_contract::types::{Direction, MessageInput, NoteInput, TagInput};

/// Conversation the examples act on.
pub const CONVERSATION_ID: &str = "9456";

/// Dixa's "Input with createdAt" example for adding an internal note.
pub fn note_example() -> NoteInput {
    NoteInput {
        conversation_id: CONVERSATION_ID.into(),
        message: "A sample note".into(),
        agent_id: Some("a53b25da-f676-4c52-acac-58c9280aa23d".into()),
        created_at: Some("2021-12-01T12:46:36.581Z[GMT]".into()),
    }
}

/// Dixa's "General outbound example" for adding a message, as plain text.
pub fn message_example() -> MessageInput {
    MessageInput {
        conversation_id: CONVERSATION_ID.into(),
        content: "Ok, I can help you!".into(),
        direction: Direction::Outbound,
        agent_id: Some("bac5a02c-15b3-44da-ae1e-ab7b9db4aa89".into()),
    }
}

/// Tagging the conversation.
pub fn tag_example() -> TagInput {
    TagInput {
        conversation_id: CONVERSATION_ID.into(),
        tag_id: "eb31acbb-13f9-4ce7-abd3-44dd86266741".into(),
    }
}
