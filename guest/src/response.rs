//! Success bodies from Dixa turned into the connector's outputs. A body that
//! does not match Dixa's API gives a description of what is wrong, which the
//! client turns into an `invalid-response` error.

use serde::de::DeserializeOwned;

use crate::timestamp;
use crate::wire::{BulkOutcome, Envelope, MessageData, NoteData, TagData};
use dixa_contract::types::{
    ConversationInput, Direction, Message, MessageContent, MessageInput, Note, NoteInput, NoteList,
    NoteOutcome, NotesInput, NotesResult, Tag, TagInput, TagList, TagResult, TagState,
};

// Each operation's output from its input and Dixa's success body, named as
// the operation: what the client's generated methods (and the benchmark's
// native baseline) call.

/// `create-internal-note`: the created note.
pub fn create_internal_note(_: &NoteInput, body: &[u8]) -> Result<Note, String> {
    note(body)
}

/// `add-message`: the added message.
pub fn add_message(_: &MessageInput, body: &[u8]) -> Result<Message, String> {
    message(body)
}

/// `tag-conversation`: a success once Dixa confirmed (its 2xx has no body).
pub fn tag_conversation(_: &TagInput, _: &[u8]) -> Result<TagResult, String> {
    Ok(TagResult { success: true })
}

/// `untag-conversation`: a success once Dixa confirmed.
pub fn untag_conversation(_: &TagInput, _: &[u8]) -> Result<TagResult, String> {
    Ok(TagResult { success: true })
}

/// `list-conversation-tags`: the conversation's tags.
pub fn list_conversation_tags(_: &ConversationInput, body: &[u8]) -> Result<TagList, String> {
    tags(body)
}

/// `list-internal-notes`: the conversation's notes, oldest first.
pub fn list_internal_notes(_: &ConversationInput, body: &[u8]) -> Result<NoteList, String> {
    notes(body)
}

/// `create-internal-notes`: one outcome per note sent.
pub fn create_internal_notes(input: &NotesInput, body: &[u8]) -> Result<NotesResult, String> {
    note_outcomes(body, input.notes.len())
}

/// The note in a `CreateNoteOutput` body.
pub fn note(body: &[u8]) -> Result<Note, String> {
    Ok(to_note(data(body)?))
}

fn to_note(data: NoteData) -> Note {
    Note {
        id: data.id,
        author_id: data.author_id,
        created_at: timestamp::without_zone_name(&data.created_at).to_owned(),
        message: data.message,
    }
}

/// The notes in a `ListInternalNotesOutput` body, in Dixa's order (oldest first).
pub fn notes(body: &[u8]) -> Result<NoteList, String> {
    let notes: Vec<NoteData> = data(body)?;
    Ok(NoteList {
        notes: notes.into_iter().map(to_note).collect(),
    })
}

/// The outcomes in a `BulkCreateNoteOutput` body; there must be one per note sent.
pub fn note_outcomes(body: &[u8], sent: usize) -> Result<NotesResult, String> {
    let outcomes: Vec<BulkOutcome> = data(body)?;
    if outcomes.len() != sent {
        return Err(format!(
            "{} outcomes for {sent} notes: which note failed is unknown",
            outcomes.len()
        ));
    }
    let results = outcomes
        .into_iter()
        .map(
            |outcome| match (outcome.outcome_type.as_str(), outcome.data, outcome.error) {
                ("BulkActionSuccess", Some(data), _) => Ok(NoteOutcome::Created {
                    note: to_note(data),
                }),
                ("BulkActionFailure", _, Some(error)) => Ok(NoteOutcome::Failed {
                    message: error.message,
                }),
                (other, _, _) => Err(format!("unexpected bulk outcome {other:?}")),
            },
        )
        .collect::<Result<Vec<NoteOutcome>, String>>()?;
    Ok(NotesResult { results })
}

/// The tags in a `ConversationTagsOutput` body.
pub fn tags(body: &[u8]) -> Result<TagList, String> {
    let tags: Vec<TagData> = data(body)?;
    let tags = tags
        .into_iter()
        .map(|tag| {
            let state = match tag.state.to_ascii_lowercase().as_str() {
                "active" => TagState::Active,
                "inactive" => TagState::Inactive,
                other => return Err(format!("unexpected tag state {other:?}")),
            };
            Ok(Tag {
                id: tag.id,
                name: tag.name,
                color: tag.color,
                state,
            })
        })
        .collect::<Result<Vec<Tag>, String>>()?;
    Ok(TagList { tags })
}

/// The message in a `CreateMessageOutput` body.
pub fn message(body: &[u8]) -> Result<Message, String> {
    let data: MessageData = data(body)?;
    let direction = match data.direction.to_ascii_lowercase().as_str() {
        "inbound" => Direction::Inbound,
        "outbound" => Direction::Outbound,
        other => {
            return Err(format!("unexpected message direction {other:?}"));
        }
    };
    Ok(Message {
        message_id: data.message_id,
        author_id: data.author_id,
        created_at: timestamp::without_zone_name(&data.created_at).to_owned(),
        direction,
        content: MessageContent {
            value: data.content.value,
            content_type: data.content.content_type,
        },
    })
}

fn data<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|envelope| envelope.data)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_from_dixas_example() {
        let body = br#"{"data":{"id":"eb31acbb-13f9-4ce7-abd3-44dd86266741","authorId":"5e8a300e-787e-47cd-af53-fc1ccc37933d","createdAt":"2021-12-01T12:46:36.581Z[GMT]","csid":9456,"message":"A sample note"}}"#;
        assert_eq!(
            note(body),
            Ok(Note {
                id: "eb31acbb-13f9-4ce7-abd3-44dd86266741".into(),
                author_id: "5e8a300e-787e-47cd-af53-fc1ccc37933d".into(),
                created_at: "2021-12-01T12:46:36.581Z".into(),
                message: "A sample note".into(),
            })
        );
    }

    #[test]
    fn message_from_dixas_example() {
        let body = br#"{"data":{"content":{"value":"An amazing message","_type":"Html"},"direction":"Outbound","authorId":"bac5a02c-15b3-44da-ae1e-ab7b9db4aa89","messageId":"87bac308-e49f-4134-84cc-96b868f1e1e4","createdAt":"2021-06-09T08:18:37.284Z"}}"#;
        assert_eq!(
            message(body),
            Ok(Message {
                message_id: "87bac308-e49f-4134-84cc-96b868f1e1e4".into(),
                author_id: "bac5a02c-15b3-44da-ae1e-ab7b9db4aa89".into(),
                created_at: "2021-06-09T08:18:37.284Z".into(),
                direction: Direction::Outbound,
                content: MessageContent {
                    value: "An amazing message".into(),
                    content_type: "Html".into(),
                },
            })
        );
    }

    #[test]
    fn bulk_outcomes_and_lists_from_dixas_examples() {
        let bulk = br#"{"data":[{"data":{"id":"eb31acbb-13f9-4ce7-abd3-44dd86266741","authorId":"5e8a300e-787e-47cd-af53-fc1ccc37933d","createdAt":"2021-12-01T12:46:36.581Z[GMT]","csid":9456,"message":"A sample note"},"_type":"BulkActionSuccess"},{"error":{"message":"An agent with id:... cannot be found in org."},"_type":"BulkActionFailure"}]}"#;
        let result = note_outcomes(bulk, 2).unwrap();
        assert_eq!(
            result.results,
            vec![
                NoteOutcome::Created {
                    note: Note {
                        id: "eb31acbb-13f9-4ce7-abd3-44dd86266741".into(),
                        author_id: "5e8a300e-787e-47cd-af53-fc1ccc37933d".into(),
                        created_at: "2021-12-01T12:46:36.581Z".into(),
                        message: "A sample note".into(),
                    }
                },
                NoteOutcome::Failed {
                    message: "An agent with id:... cannot be found in org.".into()
                },
            ]
        );
        assert!(!result.all_created());
        assert_eq!(
            note_outcomes(bulk, 3),
            Err("2 outcomes for 3 notes: which note failed is unknown".into())
        );
        let tags_body = br##"{"data":[{"id":"t1","name":"VIP","color":"#FF0000","state":"Active"},{"id":"t2","name":"old","state":"Inactive"}]}"##;
        assert_eq!(
            tags(tags_body).unwrap().tags,
            vec![
                Tag {
                    id: "t1".into(),
                    name: "VIP".into(),
                    color: Some("#FF0000".into()),
                    state: TagState::Active,
                },
                Tag {
                    id: "t2".into(),
                    name: "old".into(),
                    color: None,
                    state: TagState::Inactive,
                },
            ]
        );
        assert_eq!(
            tags(br#"{"data":[{"id":"t","name":"n","state":"Deleted"}]}"#),
            Err("unexpected tag state \"deleted\"".into())
        );
        assert_eq!(notes(br#"{"data":[]}"#).unwrap().notes, vec![]);
    }

    #[test]
    fn malformed_bodies_are_invalid_responses() {
        assert_eq!(
            note(br#"{"data":{"id":"x"}}"#),
            Err("missing field `authorId` at line 1 column 18".into())
        );
        assert!(note(b"not json").is_err());
        let internal = br#"{"data":{"content":{"value":"v","_type":"Text"},"direction":"Internal","authorId":"a","messageId":"m","createdAt":"2021-06-09T08:18:37.284Z"}}"#;
        assert_eq!(
            message(internal),
            Err("unexpected message direction \"internal\"".into())
        );
    }
}
