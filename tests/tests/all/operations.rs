//! Each operation end to end: the exact request Dixa receives and the exact output.

use dixa_host::{
    ConversationInput, Direction, Message, MessageContent, MessageInput, NewNote, Note, NoteInput,
    NoteList, NoteOutcome, NotesInput, Tag, TagList, TagResult, TagState,
};
use dixa_simulator::api::{REQUESTER_ID, TOKEN_OWNER_ID};
use dixa_simulator::examples::{message_example, note_example, tag_example};
use dixa_tests::{DEFAULT_API_KEY, Harness, headers, pairs};
use serde_json::json;

const USER_AGENT: &str = concat!("dixa-connector/", env!("CARGO_PKG_VERSION"));

#[tokio::test(flavor = "multi_thread")]
async fn internal_note_from_dixas_example_is_sent_exactly_and_mapped() {
    let harness = Harness::start().await;
    let note = harness
        .connector
        .create_internal_note(note_example())
        .await
        .unwrap();

    let request = harness.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/conversations/9456/notes");
    let body = r#"{"message":"A sample note","agentId":"a53b25da-f676-4c52-acac-58c9280aa23d","createdAt":"2021-12-01T12:46:36.581Z[GMT]"}"#;
    assert_eq!(String::from_utf8(request.body.clone()).unwrap(), body);
    assert_eq!(
        headers(&request),
        pairs(&[
            ("accept", "application/json"),
            ("authorization", DEFAULT_API_KEY),
            ("content-length", &body.len().to_string()),
            ("content-type", "application/json"),
            ("user-agent", USER_AGENT),
        ])
    );
    assert_eq!(
        note,
        Note {
            id: "00000000-0000-4000-8000-000000000001".into(),
            author_id: "a53b25da-f676-4c52-acac-58c9280aa23d".into(),
            created_at: "2021-12-01T12:46:36.581Z".into(),
            message: "A sample note".into(),
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_note_without_optional_fields_omits_them() {
    let harness = Harness::start().await;
    let note = harness
        .connector
        .create_internal_note(NoteInput {
            conversation_id: "42".into(),
            message: "Another sample note".into(),
            agent_id: None,
            created_at: None,
        })
        .await
        .unwrap();
    let request = harness.only_request();
    assert_eq!(request.path, "/v1/conversations/42/notes");
    assert_eq!(request.json(), json!({"message": "Another sample note"}));
    assert_eq!(note.author_id, TOKEN_OWNER_ID);
    assert!(
        !note.created_at.ends_with(']'),
        "zone name dropped: {}",
        note.created_at
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_message_from_dixas_example_is_sent_exactly_and_mapped() {
    let harness = Harness::start().await;
    let message = harness
        .connector
        .add_message(message_example())
        .await
        .unwrap();

    let request = harness.only_request();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/conversations/9456/messages");
    assert_eq!(
        String::from_utf8(request.body.clone()).unwrap(),
        r#"{"_type":"Outbound","content":{"_type":"Text","value":"Ok, I can help you!"},"agentId":"bac5a02c-15b3-44da-ae1e-ab7b9db4aa89"}"#
    );
    assert_eq!(request.header("authorization"), Some(DEFAULT_API_KEY));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        Message {
            created_at: String::new(),
            ..message.clone()
        },
        Message {
            message_id: "00000000-0000-4000-8000-000000000001".into(),
            author_id: "bac5a02c-15b3-44da-ae1e-ab7b9db4aa89".into(),
            created_at: String::new(),
            direction: Direction::Outbound,
            content: MessageContent {
                value: "Ok, I can help you!".into(),
                content_type: "Text".into(),
            },
        }
    );
    assert_eq!(message.created_at.len(), "2021-06-09T08:18:37.284Z".len());
}

#[tokio::test(flavor = "multi_thread")]
async fn inbound_message_has_no_agent_and_is_authored_by_the_requester() {
    let harness = Harness::start().await;
    let message = harness
        .connector
        .add_message(MessageInput {
            conversation_id: "9456".into(),
            content: "I need some help!".into(),
            direction: Direction::Inbound,
            agent_id: None,
        })
        .await
        .unwrap();
    assert_eq!(
        harness.only_request().json(),
        json!({"_type": "Inbound", "content": {"_type": "Text", "value": "I need some help!"}})
    );
    assert_eq!(message.direction, Direction::Inbound);
    assert_eq!(message.author_id, REQUESTER_ID);
}

#[tokio::test(flavor = "multi_thread")]
async fn tagging_is_a_put_without_body() {
    let harness = Harness::start().await;
    let result = harness
        .connector
        .tag_conversation(tag_example())
        .await
        .unwrap();
    assert_eq!(result, TagResult { success: true });

    let request = harness.only_request();
    assert_eq!(request.method, "PUT");
    assert_eq!(
        request.path,
        "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741"
    );
    assert!(request.body.is_empty());
    assert_eq!(
        headers(&request),
        pairs(&[
            ("accept", "application/json"),
            ("authorization", DEFAULT_API_KEY),
            ("content-length", "0"),
            ("user-agent", USER_AGENT),
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_are_percent_encoded_in_the_path() {
    let harness = Harness::start().await;
    let error = harness
        .connector
        .tag_conversation(dixa_host::TagInput {
            conversation_id: "conv:1+2".into(),
            tag_id: "tag@x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        harness.only_request().path,
        "/v1/conversations/conv%3A1%2B2/tags/tag%40x"
    );
    assert_eq!(
        error,
        dixa_host::Error::Connector(dixa_host::ConnectorError::Api {
            status: 400,
            message: "Invalid value for: path parameter conversationId".into(),
            dixa_may_have_acted: false,
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_connector_serves_concurrent_calls() {
    let harness = std::sync::Arc::new(Harness::start().await);
    let calls = (0..16).map(|_| {
        let harness = std::sync::Arc::clone(&harness);
        tokio::spawn(async move { harness.connector.tag_conversation(tag_example()).await })
    });
    for call in calls {
        assert_eq!(call.await.unwrap(), Ok(TagResult { success: true }));
    }
    assert_eq!(harness.requests().len(), 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn sequential_calls_reuse_one_connection() {
    let harness = Harness::start().await;
    for _ in 0..3 {
        harness
            .connector
            .tag_conversation(tag_example())
            .await
            .unwrap();
    }
    let connections: Vec<u64> = harness.requests().iter().map(|r| r.connection).collect();
    assert_eq!(connections, vec![1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_put_then_listed_then_removed_is_gone() {
    let harness = Harness::start().await;
    let conversation = || ConversationInput {
        conversation_id: "9456".into(),
    };
    harness
        .connector
        .tag_conversation(tag_example())
        .await
        .unwrap();
    let tags = harness
        .connector
        .list_conversation_tags(conversation())
        .await
        .unwrap();
    assert_eq!(
        tags,
        TagList {
            tags: vec![Tag {
                id: "eb31acbb-13f9-4ce7-abd3-44dd86266741".into(),
                name: "Tag eb31acbb".into(),
                color: Some("#1E90FF".into()),
                state: TagState::Active,
            }]
        }
    );
    let untagged = harness
        .connector
        .untag_conversation(tag_example())
        .await
        .unwrap();
    assert_eq!(untagged, TagResult { success: true });
    let after = harness
        .connector
        .list_conversation_tags(conversation())
        .await
        .unwrap();
    assert_eq!(after.tags, vec![]);

    let requests: Vec<(String, String, usize)> = harness
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.body.len()))
        .collect();
    let tag_path = "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";
    assert_eq!(
        requests,
        [
            ("PUT".to_owned(), tag_path.to_owned(), 0),
            ("GET".into(), "/v1/conversations/9456/tags".into(), 0),
            ("DELETE".into(), tag_path.into(), 0),
            ("GET".into(), "/v1/conversations/9456/tags".into(), 0),
        ]
    );
    let delete = &harness.requests()[2];
    assert_eq!(
        headers(delete),
        pairs(&[
            ("accept", "application/json"),
            ("authorization", DEFAULT_API_KEY),
            ("content-length", "0"),
            ("user-agent", USER_AGENT),
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_added_in_bulk_come_back_per_item_and_in_the_list_oldest_first() {
    let harness = Harness::start().await;
    let new = |message: &str, agent_id: Option<&str>| NewNote {
        message: message.into(),
        agent_id: agent_id.map(Into::into),
        created_at: None,
    };
    let result = harness
        .connector
        .create_internal_notes(NotesInput {
            conversation_id: "9456".into(),
            notes: vec![
                new(
                    "A sample note",
                    Some("a53b25da-f676-4c52-acac-58c9280aa23d"),
                ),
                new("By nobody", Some("nobody")),
                new("Another sample note", None),
            ],
        })
        .await
        .unwrap();
    let request = harness.only_request();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/conversations/9456/notes/bulk")
    );
    assert_eq!(
        request.json(),
        json!({"data": [
            {"message": "A sample note", "agentId": "a53b25da-f676-4c52-acac-58c9280aa23d"},
            {"message": "By nobody", "agentId": "nobody"},
            {"message": "Another sample note"},
        ]})
    );
    assert!(!result.all_created());
    assert_eq!(
        serde_json::to_value(&result).unwrap()["results"][1],
        json!({"outcome": "failed", "message": "An agent with id:nobody cannot be found in org."})
    );
    let created: Vec<Note> = result
        .results
        .into_iter()
        .filter_map(|outcome| match outcome {
            NoteOutcome::Created { note } => Some(note),
            NoteOutcome::Failed { .. } => None,
        })
        .collect();
    assert_eq!(created.len(), 2);
    assert_eq!(created[1].author_id, TOKEN_OWNER_ID);

    let listed = harness
        .connector
        .list_internal_notes(ConversationInput {
            conversation_id: "9456".into(),
        })
        .await
        .unwrap();
    assert_eq!(listed, NoteList { notes: created });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_call_checks_every_note_before_sending_anything() {
    let harness = Harness::start().await;
    let notes = (0..101)
        .map(|i| NewNote {
            message: format!("note {i}"),
            agent_id: None,
            created_at: None,
        })
        .collect::<Vec<_>>();
    let too_many = harness
        .connector
        .create_internal_notes(NotesInput {
            conversation_id: "9456".into(),
            notes: notes.clone(),
        })
        .await;
    assert_eq!(
        too_many,
        Err(
            dixa_host::ConnectorError::invalid("notes", "must hold 1 to 100 notes, got 101").into()
        )
    );
    let mut one_bad = notes[..3].to_vec();
    one_bad[2].created_at = Some("yesterday".into());
    let bad = harness
        .connector
        .create_internal_notes(NotesInput {
            conversation_id: "9456".into(),
            notes: one_bad,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.to_body().field.as_deref(), Some("notes[2].createdAt"));
    assert_eq!(harness.requests(), vec![]);
}
