//! Bad input is refused inside the component with a message naming the field
//! and the rule, and nothing reaches Dixa.

use dixa_host::{Direction, Error, MessageInput, NoteInput, TagInput};
use dixa_tests::Harness;

fn note(
    conversation_id: &str,
    message: &str,
    agent_id: Option<&str>,
    created_at: Option<&str>,
) -> NoteInput {
    NoteInput {
        conversation_id: conversation_id.into(),
        message: message.into(),
        agent_id: agent_id.map(Into::into),
        created_at: created_at.map(Into::into),
    }
}

fn message(direction: Direction, content: &str, agent_id: Option<&str>) -> MessageInput {
    MessageInput {
        conversation_id: "9456".into(),
        content: content.into(),
        direction,
        agent_id: agent_id.map(Into::into),
    }
}

fn tag(conversation_id: &str, tag_id: &str) -> TagInput {
    TagInput {
        conversation_id: conversation_id.into(),
        tag_id: tag_id.into(),
    }
}

const AGENT: &str = "a53b25da-f676-4c52-acac-58c9280aa23d";
const PRINTABLE: &str = "must be printable ASCII without spaces, found";

#[tokio::test(flavor = "multi_thread")]
async fn invalid_notes_are_rejected_before_sending() {
    let huge = "x".repeat(64 * 1024 + 1);
    let cases = [
        (note("", "hi", None, None), "conversationId: must not be empty".to_owned()),
        (note("9456", "", None, None), "message: must not be empty or only whitespace".into()),
        (note("9456", " \t\n", None, None), "message: must not be empty or only whitespace".into()),
        (note("9456", &huge, None, None), "message: must be at most 65536 bytes of UTF-8, got 65537".into()),
        (note("9456", "hi", Some(""), None), "agentId: must not be empty".into()),
        (note("9456", "hi", Some("a/b"), None), "agentId: must not contain '/'".into()),
        (note("9456", "hi", None, Some("yesterday")), "createdAt: expected an RFC 3339 date-time with an offset, like 2021-12-01T12:46:36.581Z".into()),
        (note("9456", "hi", None, Some("2021-12-01T12:46:36")), "createdAt: missing offset: end with Z or ±hh:mm".into()),
        (note("9456", "hi", None, Some("2021-02-30T12:46:36Z")), "createdAt: day 30 does not exist in 2021-02".into()),
    ];
    let harness = Harness::start().await;
    for (input, expected) in cases {
        let result = harness.connector.create_internal_note(input.clone()).await;
        assert_eq!(result, Err(Error::InvalidInput(expected)), "{input:?}");
    }
    assert_eq!(harness.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_messages_are_rejected_before_sending() {
    let cases = [
        (
            message(Direction::Outbound, "hi", None),
            "agentId: is required for outbound messages",
        ),
        (
            message(Direction::Inbound, "hi", Some(AGENT)),
            "agentId: is only allowed for outbound messages (inbound messages are authored by the end user)",
        ),
        (
            message(Direction::Inbound, "   ", None),
            "content: must not be empty or only whitespace",
        ),
        (
            message(Direction::Outbound, "hi", Some("agent 1")),
            "agentId: must be printable ASCII without spaces, found \\u{20}",
        ),
    ];
    let harness = Harness::start().await;
    for (input, expected) in cases {
        let result = harness.connector.add_message(input.clone()).await;
        assert_eq!(
            result,
            Err(Error::InvalidInput(expected.into())),
            "{input:?}"
        );
    }
    assert_eq!(harness.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn path_tricks_in_ids_are_rejected_before_sending() {
    let long = "1".repeat(10 * 1024);
    let cases = [
        ("../9456", "conversationId: must not contain '/'".to_owned()),
        (
            "..",
            "conversationId: must not be '.' or contain '..'".into(),
        ),
        (
            ".",
            "conversationId: must not be '.' or contain '..'".into(),
        ),
        ("%2e%2e", "conversationId: must not contain '%'".into()),
        (
            "9456?admin=1",
            "conversationId: must not contain '?'".into(),
        ),
        ("9456#x", "conversationId: must not contain '#'".into()),
        (
            "9456\r\nX-Injected: 1",
            format!("conversationId: {PRINTABLE} \\u{{d}}"),
        ),
        ("9456\0", format!("conversationId: {PRINTABLE} \\u{{0}}")),
        (
            "９４５６",
            format!("conversationId: {PRINTABLE} \\u{{ff19}}"),
        ),
        (
            "94\u{2215}56",
            format!("conversationId: {PRINTABLE} \\u{{2215}}"),
        ),
        (
            long.as_str(),
            "conversationId: must be at most 128 bytes, got 10240".into(),
        ),
    ];
    let harness = Harness::start().await;
    for (conversation_id, expected) in cases {
        let result = harness
            .connector
            .tag_conversation(tag(conversation_id, AGENT))
            .await;
        assert_eq!(
            result,
            Err(Error::InvalidInput(expected)),
            "{conversation_id:?}"
        );
    }
    let result = harness.connector.tag_conversation(tag("9456", "")).await;
    assert_eq!(
        result,
        Err(Error::InvalidInput("tagId: must not be empty".into()))
    );
    assert_eq!(harness.requests(), vec![]);
}
