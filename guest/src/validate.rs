//! Input rules, checked before anything is sent.
//!
//! Ids end up in a URL path, so they are held to a strict, URL-safe alphabet even
//! though Dixa's own ids are integers and UUIDs; Dixa judges the rest.

use crate::error::Error;
use crate::timestamp;
use dixa_contract::types::{
    ConversationInput, Direction, MessageInput, NewNote, NoteInput, NotesInput, TagInput,
};

/// Longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Longest note or message text accepted, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most notes in one `create-internal-notes` call. Dixa documents no limit;
/// this one keeps a request (and its answer) to a few MiB at most.
pub const MAX_BULK_NOTES: usize = 100;

/// Checks `create-internal-note` input.
pub fn note(input: &NoteInput) -> Result<(), Error> {
    id("conversationId", &input.conversation_id)?;
    note_fields("", &input.new_note())
}

/// Checks `create-internal-notes` input: each note as `create-internal-note`
/// checks its own, named `notes[i].field`.
pub fn notes(input: &NotesInput) -> Result<(), Error> {
    id("conversationId", &input.conversation_id)?;
    let count = input.notes.len();
    if !(1..=MAX_BULK_NOTES).contains(&count) {
        return Err(Error::invalid(
            "notes",
            format!("must hold 1 to {MAX_BULK_NOTES} notes, got {count}"),
        ));
    }
    input
        .notes
        .iter()
        .enumerate()
        .try_for_each(|(i, note)| note_fields(&format!("notes[{i}]."), note))
}

/// The fields of one note, each named with `prefix`.
fn note_fields(prefix: &str, note: &NewNote) -> Result<(), Error> {
    text(&format!("{prefix}message"), &note.message)?;
    if let Some(agent_id) = &note.agent_id {
        id(&format!("{prefix}agentId"), agent_id)?;
    }
    if let Some(created_at) = &note.created_at {
        timestamp::check(created_at)
            .map_err(|rule| Error::invalid(format!("{prefix}createdAt"), rule))?;
    }
    Ok(())
}

/// Checks the input of the operations that read a conversation.
pub fn conversation(input: &ConversationInput) -> Result<(), Error> {
    id("conversationId", &input.conversation_id)
}

/// Checks `add-message` input: outbound needs an agent, inbound must not name one.
pub fn message(input: &MessageInput) -> Result<(), Error> {
    id("conversationId", &input.conversation_id)?;
    text("content", &input.content)?;
    match (input.direction, &input.agent_id) {
        (Direction::Outbound, None) => Err(Error::invalid(
            "agentId",
            "is required for outbound messages",
        )),
        (Direction::Outbound, Some(agent_id)) => id("agentId", agent_id),
        (Direction::Inbound, Some(_)) => Err(Error::invalid(
            "agentId",
            "is only allowed for outbound messages (inbound messages are authored by the end user)",
        )),
        (Direction::Inbound, None) => Ok(()),
    }
}

/// Checks `tag-conversation` input.
pub fn tag(input: &TagInput) -> Result<(), Error> {
    id("conversationId", &input.conversation_id)?;
    id("tagId", &input.tag_id)
}

/// An id that is safe as one URL path segment: the check every id field of
/// every operation's input takes, named `field` in the error.
pub fn id(field: &str, value: &str) -> Result<(), Error> {
    let rule = if value.is_empty() {
        "must not be empty".to_owned()
    } else if value.len() > MAX_ID_LEN {
        format!("must be at most {MAX_ID_LEN} bytes, got {}", value.len())
    } else if let Some(c) = value.chars().find(|c| !c.is_ascii_graphic()) {
        format!(
            "must be printable ASCII without spaces, found {}",
            c.escape_unicode()
        )
    } else if let Some(c) = value.chars().find(|c| "/?#%\\".contains(*c)) {
        format!("must not contain '{c}'")
    } else if value == "." || value.contains("..") {
        "must not be '.' or contain '..'".to_owned()
    } else {
        return Ok(());
    };
    Err(Error::invalid(field, rule))
}

/// Note or message text: not blank, bounded; named `field` in the error.
pub fn text(field: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(
            field,
            "must not be empty or only whitespace",
        ));
    }
    if value.len() > MAX_TEXT_BYTES {
        return Err(Error::invalid(
            field,
            format!(
                "must be at most {MAX_TEXT_BYTES} bytes of UTF-8, got {}",
                value.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The invalid-input error of a `"field: reason"` text.
    fn invalid(text: String) -> Error {
        let (field, reason) = text.split_once(": ").unwrap();
        Error::invalid(field, reason)
    }

    fn tag_input(conversation_id: &str, tag_id: &str) -> TagInput {
        TagInput {
            conversation_id: conversation_id.into(),
            tag_id: tag_id.into(),
        }
    }

    fn note_input(message: &str) -> NoteInput {
        NoteInput {
            conversation_id: "9456".into(),
            message: message.into(),
            agent_id: None,
            created_at: None,
        }
    }

    #[test]
    fn real_dixa_ids_pass() {
        assert_eq!(
            tag(&tag_input("9456", "a53b25da-f676-4c52-acac-58c9280aa23d")),
            Ok(())
        );
        assert_eq!(tag(&tag_input("conv_1:a+b=c~d", "x")), Ok(()));
    }

    #[test]
    fn unsafe_ids_are_rejected_with_the_rule() {
        let long = "1".repeat(MAX_ID_LEN + 1);
        let cases = [
            ("", "conversationId: must not be empty"),
            (
                long.as_str(),
                "conversationId: must be at most 128 bytes, got 129",
            ),
            (
                "12 34",
                "conversationId: must be printable ASCII without spaces, found \\u{20}",
            ),
            (
                "12\r\n",
                "conversationId: must be printable ASCII without spaces, found \\u{d}",
            ),
            (
                "12\0",
                "conversationId: must be printable ASCII without spaces, found \\u{0}",
            ),
            (
                "12／34",
                "conversationId: must be printable ASCII without spaces, found \\u{ff0f}",
            ),
            ("../admin", "conversationId: must not contain '/'"),
            ("12?x=1", "conversationId: must not contain '?'"),
            ("12#frag", "conversationId: must not contain '#'"),
            ("%2e%2e", "conversationId: must not contain '%'"),
            ("a\\b", "conversationId: must not contain '\\'"),
            ("..", "conversationId: must not be '.' or contain '..'"),
            (".", "conversationId: must not be '.' or contain '..'"),
        ];
        for (value, expected) in cases {
            assert_eq!(
                tag(&tag_input(value, "t")),
                Err(invalid(expected.into())),
                "{value:?}"
            );
        }
    }

    #[test]
    fn text_must_be_present_and_bounded() {
        assert_eq!(
            note(&note_input(" \n\t")),
            Err(invalid(
                "message: must not be empty or only whitespace".into()
            ))
        );
        assert_eq!(note(&note_input(&"x".repeat(MAX_TEXT_BYTES))), Ok(()));
        assert_eq!(
            note(&note_input(&"x".repeat(MAX_TEXT_BYTES + 1))),
            Err(invalid(
                "message: must be at most 65536 bytes of UTF-8, got 65537".into()
            ))
        );
    }

    #[test]
    fn created_at_must_be_an_instant() {
        let mut input = note_input("hi");
        input.created_at = Some("2021-12-01".into());
        assert_eq!(
            note(&input),
            Err(invalid(format!(
                "createdAt: {}",
                "expected an RFC 3339 date-time with an offset, like 2021-12-01T12:46:36.581Z"
            )))
        );
    }

    #[test]
    fn bulk_notes_are_counted_and_each_checked_with_its_index() {
        let new = |message: &str| NewNote {
            message: message.into(),
            agent_id: None,
            created_at: None,
        };
        let input = |notes: Vec<NewNote>| NotesInput {
            conversation_id: "9456".into(),
            notes,
        };
        assert_eq!(notes(&input(vec![new("a"), new("b")])), Ok(()));
        assert_eq!(
            notes(&input(vec![])),
            Err(invalid("notes: must hold 1 to 100 notes, got 0".into()))
        );
        assert_eq!(
            notes(&input(vec![new("a"); 101])),
            Err(invalid("notes: must hold 1 to 100 notes, got 101".into()))
        );
        let mut bad = vec![new("a"), new(" ")];
        assert_eq!(
            notes(&input(bad.clone())),
            Err(invalid(
                "notes[1].message: must not be empty or only whitespace".into()
            ))
        );
        bad[1] = NewNote {
            created_at: Some("yesterday".into()),
            ..new("b")
        };
        assert!(matches!(
            notes(&input(bad)),
            Err(Error::InvalidInput { field, .. }) if field == "notes[1].createdAt"
        ));
    }

    #[test]
    fn direction_decides_whether_an_agent_is_needed() {
        let input = |direction, agent_id: Option<&str>| MessageInput {
            conversation_id: "9456".into(),
            content: "hello".into(),
            direction,
            agent_id: agent_id.map(Into::into),
        };
        assert_eq!(message(&input(Direction::Inbound, None)), Ok(()));
        assert_eq!(
            message(&input(Direction::Outbound, Some("agent-1"))),
            Ok(())
        );
        assert_eq!(
            message(&input(Direction::Outbound, None)),
            Err(invalid("agentId: is required for outbound messages".into()))
        );
        assert_eq!(
            message(&input(Direction::Outbound, Some(""))),
            Err(invalid("agentId: must not be empty".into()))
        );
        assert!(matches!(
            message(&input(Direction::Inbound, Some("agent-1"))),
            Err(Error::InvalidInput { field, reason })
                if field == "agentId" && reason.starts_with("is only allowed for outbound")
        ));
    }
}
