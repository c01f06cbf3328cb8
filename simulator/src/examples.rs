//! Example inputs for every operation, which the simulator answers like Dixa:
//! the one set the demo runs, the benchmark measures and the tests send.
//!
//! [`Examples`] is implemented once per input type, and [`examples`] and
//! [`largest_inputs`] expand the table of operations, so an operation whose
//! input has no examples does not compile.

use dixa_contract::Operation;
use dixa_contract::operations::{self as ops, BULK_REQUEST_BYTES};
use dixa_contract::types::{
    ConversationInput, Direction, MessageInput, NewNote, NoteInput, NotesInput, TagInput,
};
use serde::Serialize;
use serde_json::Value;

/// Conversation the examples act on.
pub const CONVERSATION_ID: &str = "9456";
/// Agent of the note examples (Dixa's "Input with createdAt" example).
const NOTE_AGENT_ID: &str = "a53b25da-f676-4c52-acac-58c9280aa23d";
/// Agent of the message examples (Dixa's "General outbound example").
const MESSAGE_AGENT_ID: &str = "bac5a02c-15b3-44da-ae1e-ab7b9db4aa89";
/// Longest text the connector sends (bytes of UTF-8).
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most notes in one bulk call.
const MAX_BULK_NOTES: usize = 100;
/// A character JSON escapes as six bytes (`\u0001`) and that is not blank: the
/// texts of the largest inputs are made of it.
const ESCAPED_SIX_TIMES: char = '\u{1}';

/// The example inputs of one input type.
pub trait Examples: Sized + Serialize {
    /// An input from the examples in Dixa's API reference.
    fn example() -> Self;
    /// The largest input the connector takes, every optional field present:
    /// one text at its cap is made of characters JSON escapes six times (the
    /// largest request to Dixa); the bulk call's notes of letters, as many as
    /// one request carries (the largest input once a caller escapes them).
    fn largest() -> Self;
}

/// Dixa's "Input with createdAt" example for adding an internal note.
pub fn note_example() -> NoteInput {
    NoteInput::example()
}

/// Dixa's "General outbound example" for adding a message, as plain text.
pub fn message_example() -> MessageInput {
    MessageInput::example()
}

/// Tagging the conversation.
pub fn tag_example() -> TagInput {
    TagInput::example()
}

fn largest_text() -> String {
    std::iter::repeat_n(ESCAPED_SIX_TIMES, MAX_TEXT_BYTES).collect()
}

impl Examples for NoteInput {
    fn example() -> Self {
        NoteInput {
            conversation_id: CONVERSATION_ID.into(),
            message: "A sample note".into(),
            agent_id: Some(NOTE_AGENT_ID.into()),
            created_at: Some("2021-12-01T12:46:36.581Z[GMT]".into()),
        }
    }

    fn largest() -> Self {
        NoteInput {
            message: largest_text(),
            ..NoteInput::example()
        }
    }
}

impl Examples for MessageInput {
    fn example() -> Self {
        MessageInput {
            conversation_id: CONVERSATION_ID.into(),
            content: "Ok, I can help you!".into(),
            direction: Direction::Outbound,
            agent_id: Some(MESSAGE_AGENT_ID.into()),
        }
    }

    fn largest() -> Self {
        MessageInput {
            content: largest_text(),
            ..MessageInput::example()
        }
    }
}

impl Examples for TagInput {
    fn example() -> Self {
        TagInput {
            conversation_id: CONVERSATION_ID.into(),
            tag_id: "eb31acbb-13f9-4ce7-abd3-44dd86266741".into(),
        }
    }

    fn largest() -> Self {
        TagInput::example()
    }
}

impl Examples for ConversationInput {
    fn example() -> Self {
        ConversationInput {
            conversation_id: CONVERSATION_ID.into(),
        }
    }

    fn largest() -> Self {
        ConversationInput::example()
    }
}

impl Examples for NotesInput {
    fn example() -> Self {
        let note = NoteInput::example().new_note();
        let second = NewNote {
            message: "A second note".into(),
            ..note.clone()
        };
        NotesInput {
            conversation_id: CONVERSATION_ID.into(),
            notes: vec![note, second],
        }
    }

    /// 100 notes of letters whose request to Dixa (`{"data": [...]}`) is as
    /// large as one request may be.
    fn largest() -> Self {
        let notes_of = |bytes: usize| NotesInput {
            notes: vec![
                NewNote {
                    message: "x".repeat(bytes),
                    ..NoteInput::example().new_note()
                };
                MAX_BULK_NOTES
            ],
            ..NotesInput::example()
        };
        let request_bytes = |input: &NotesInput| {
            serde_json::to_vec(&serde_json::json!({ "data": input.notes }))
                .map_or(usize::MAX, |body| body.len())
        };
        // The request grows by 100 bytes per letter of each message.
        let overhead = request_bytes(&notes_of(0));
        notes_of(BULK_REQUEST_BYTES.saturating_sub(overhead) / MAX_BULK_NOTES)
    }
}

macro_rules! inputs {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        /// Every operation with its example input as JSON, in the order of
        /// the table.
        pub fn examples() -> Vec<(&'static Operation, Value)> {
            vec![$((&ops::$row, json(&<dixa_contract::types::$input as Examples>::example())),)*]
        }

        /// Every operation with its largest input as JSON, in the order of
        /// the table: what each front must accept.
        pub fn largest_inputs() -> Vec<(&'static Operation, Value)> {
            vec![$((&ops::$row, json(&<dixa_contract::types::$input as Examples>::largest())),)*]
        }
    };
}
dixa_contract::for_each_operation!(inputs);

fn json(input: &impl Serialize) -> Value {
    // The contract's types are plain records of strings: always JSON.
    serde_json::to_value(input).unwrap_or_default()
}

/// `value` as JSON text with every character of every string and key escaped
/// (`\u0041` for `A`): the longest text a caller may send for it, short of
/// whitespace.
pub fn escaped_json(value: &Value) -> String {
    fn string(text: &str, out: &mut String) {
        out.push('"');
        let mut units = [0u16; 2];
        for c in text.chars() {
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
        out.push('"');
    }
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::String(text) => string(text, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(fields) => {
                out.push('{');
                for (i, (key, item)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    string(key, out);
                    out.push(':');
                    write(item, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_inputs_fill_their_operations_caps() {
        let mut wrong = Vec::new();
        for (operation, input) in largest_inputs() {
            let escaped = escaped_json(&input);
            if serde_json::from_str::<Value>(&escaped).ok() != Some(input.clone()) {
                wrong.push(format!("{}: escaping changed the input", operation.name));
            }
            if escaped.len() > operation.max_input_bytes() {
                wrong.push(format!("{}: {} bytes", operation.name, escaped.len()));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        // The largest request to Dixa of one note, and the largest input.
        let note = serde_json::to_vec(&NoteInput::largest().new_note()).unwrap();
        assert!(
            note.len() * 100 > ops::WRITE_REQUEST_BYTES * 95,
            "{}",
            note.len()
        );
        let bulk = NotesInput::largest();
        let body = serde_json::to_vec(&serde_json::json!({ "data": bulk.notes })).unwrap();
        assert!(body.len() <= BULK_REQUEST_BYTES);
        assert!(body.len() + MAX_BULK_NOTES > BULK_REQUEST_BYTES);
        let input = escaped_json(&json(&bulk)).len();
        let cap = ops::CREATE_INTERNAL_NOTES.max_input_bytes();
        assert!(input * 100 > cap * 95, "{input} of {cap}");
    }
}
