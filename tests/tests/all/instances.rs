//! Warm and fresh instances (docs/SECURITY.md, "Warm instances"): a warm
//! instance serves the next calls of its connector only after a clean
//! success, and never after a trap, the deadline, the memory limit, an error
//! or a resource left open; fresh instances share nothing.

use std::time::Duration;

use dixa_host::per_core::PerCore;
use dixa_host::{
    CallLimits, ConnectorError, ConversationInput, Error, MessageInput, NewNote, NotesInput,
};
use dixa_simulator::examples::{CONVERSATION_ID, message_example, note_example, tag_example};
use dixa_tests::{
    ComponentSource, Connector, Fault, HOSTILE_COMPONENT, Harness, InstanceReuse, hostile_command,
    serve, serve_with,
};

/// The hostile fixture (see `hostile-guest/`) in `reuse` mode.
async fn hostile(reuse: InstanceReuse) -> Harness {
    Harness::with(|builder| {
        builder
            .component(ComponentSource::Bytes(HOSTILE_COMPONENT.to_vec()))
            .instance_reuse(reuse)
            .call_timeout(Duration::from_millis(1500))
            .memory_limit(16 << 20)
    })
    .await
}

/// Runs the fixture's `create-internal-note` command `message`.
async fn note(connector: &Connector, message: &str) -> Result<String, Error> {
    let mut input = note_example();
    input.message = message.into();
    connector
        .create_internal_note(input)
        .await
        .map(|n| n.message)
}

/// The fixture's command that tags the example conversation in `harness`'s
/// simulator.
fn tag_command(harness: &Harness) -> String {
    let tag = tag_example();
    format!(
        "send PUT http {} /v1/conversations/{}/tags/{}",
        harness.simulator.addr(),
        tag.conversation_id,
        tag.tag_id
    )
}

/// Tags the example conversation through the service build's route at
/// `address`, and checks its answer.
async fn tag_through_service(address: std::net::SocketAddr) {
    let tag = tag_example();
    let path = format!("/conversations/{}/tags/{}", tag.conversation_id, tag.tag_id);
    let response = dixa_simulator::client::send(address, "PUT", &path, "")
        .await
        .unwrap();
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, r#"{"success":true}"#)
    );
}

/// How many "count" calls the instance that served this one had served.
async fn count(connector: &Connector) -> String {
    note(connector, "count").await.expect("count succeeds")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_instance_serves_the_next_calls_and_keeps_its_statics() {
    let harness = hostile(InstanceReuse::WARM).await;
    let connector = &harness.connector;
    assert_eq!(connector.instance_reuse(), InstanceReuse::WARM);
    connector.check().await.unwrap();
    assert_eq!(
        connector.idle_instances(),
        1,
        "check() keeps its instance warm"
    );
    assert_eq!(count(connector).await, "1");
    assert_eq!(connector.idle_instances(), 1);
    assert_eq!(count(connector).await, "2");
    assert_eq!(count(connector).await, "3");
    assert_eq!(connector.idle_instances(), 1);

    // Another connector (another key or policy) never gets this instance.
    let other = hostile(InstanceReuse::WARM).await;
    assert_eq!(count(&other.connector).await, "1");
    assert_eq!(count(connector).await, "4");
}

/// A call whose caller gives up (its future dropped mid-call) leaves no
/// instance behind for the next call, though the call would have succeeded
/// had it been awaited.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_whose_call_was_abandoned_is_never_reused() {
    let harness = hostile(InstanceReuse::WARM).await;
    let connector = &harness.connector;
    let tag = tag_command(&harness);
    assert_eq!(count(connector).await, "1");
    harness
        .simulator
        .inject(Fault::Delay(Duration::from_millis(1000)));
    let abandoned = tokio::time::timeout(
        Duration::from_millis(200),
        hostile_command(connector, tag.clone()),
    );
    assert!(abandoned.await.is_err(), "the call was abandoned");
    assert_eq!(connector.idle_instances(), 0);
    assert_eq!(count(connector).await, "1");
    // The same call, awaited, succeeds and keeps its instance.
    let tagged = hostile_command(connector, tag).await;
    assert_eq!(tagged.map(|(status, _)| status), Ok("204".to_owned()));
    assert_eq!(count(connector).await, "2");
}

/// Each call of a warm instance starts with new per-call budgets and a new
/// record of what it sent: neither carries over from the calls before.
#[tokio::test(flavor = "multi_thread")]
async fn each_call_of_a_warm_instance_starts_with_new_budgets_and_a_new_record_of_what_it_sent() {
    let harness = Harness::with(|builder| {
        builder
            .component(ComponentSource::Bytes(HOSTILE_COMPONENT.to_vec()))
            .instance_reuse(InstanceReuse::WARM)
            .call_timeout(Duration::from_millis(1500))
            .limits(CallLimits {
                request_bytes_per_call: 128 << 10,
                ..CallLimits::default()
            })
    })
    .await;
    let connector = &harness.connector;
    let authority = harness.simulator.addr().to_string();
    assert_eq!(count(connector).await, "1");
    // 100 KiB per call, twice: within each call's 128 KiB, not within both.
    let body = format!(
        "body http {authority} /v1/conversations/1/notes {}",
        100 << 10
    );
    for _ in 0..2 {
        let sent = hostile_command(connector, body.clone()).await;
        assert!(sent.is_ok(), "{sent:?}");
    }
    let tagged = hostile_command(connector, tag_command(&harness)).await;
    assert_eq!(tagged.map(|(status, _)| status), Ok("204".to_owned()));
    assert_eq!(count(connector).await, "2", "one instance served them all");
    // Stopped before it sent anything, this call says Dixa did not act,
    // whatever the instance's earlier calls sent.
    assert_eq!(
        note(connector, "spin").await,
        Err(Error::Deadline {
            timeout: Duration::from_millis(1500),
            dixa_may_have_acted: false,
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fresh_instances_share_nothing() {
    let harness = hostile(InstanceReuse::Fresh).await;
    let connector = &harness.connector;
    assert_eq!(count(connector).await, "1");
    assert_eq!(count(connector).await, "1");
    assert_eq!(connector.idle_instances(), 0);
}

/// After each failure, and after a success that left a resource open or a
/// large heap, the warm instance that served four calls is gone: the next call
/// counts from one in a new instance.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_that_failed_in_any_way_is_never_reused() {
    let harness = hostile(InstanceReuse::WARM).await;
    let connector = &harness.connector;
    let unknown_command = || async {
        connector
            .add_message(MessageInput {
                content: "no-such-command".into(),
                ..message_example()
            })
            .await
            .map(|m| m.message_id)
    };
    for (failure, expected) in [
        ("trap", "component"),
        ("spin", "deadline"),
        ("allocate", "memory-limit"),
        ("leak", "ok"),
        ("grow", "ok"),
        ("unknown-command", "invalid-input"),
    ] {
        for _ in 0..3 {
            count(connector).await;
        }
        assert_eq!(count(connector).await, "4", "warm before {failure}");
        let result = match failure {
            "unknown-command" => unknown_command().await,
            _ => note(connector, failure).await,
        };
        let outcome = match result {
            Ok(_) => "ok",
            Err(Error::Component { .. }) => "component",
            Err(Error::Deadline { .. }) => "deadline",
            Err(Error::MemoryLimit { .. }) => "memory-limit",
            Err(Error::Connector(ConnectorError::InvalidInput { .. })) => "invalid-input",
            Err(other) => panic!("{failure}: unexpected {other:?}"),
        };
        assert_eq!(outcome, expected, "{failure}");
        assert_eq!(connector.idle_instances(), 0, "{failure}: nothing idle");
        assert_eq!(count(connector).await, "1", "{failure}: a new instance");
        // Use up the rest of this round's instance, so each round starts anew.
        assert_eq!(count(connector).await, "2");
        assert_eq!(count(connector).await, "3");
        assert!(note(connector, "trap").await.is_err());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_instance_is_dropped_after_its_calls() {
    let harness = Harness::with(|builder| {
        builder
            .component(ComponentSource::Bytes(HOSTILE_COMPONENT.to_vec()))
            .instance_reuse(InstanceReuse::Warm { max_calls: 2 })
    })
    .await;
    let connector = &harness.connector;
    assert_eq!(count(connector).await, "1");
    assert_eq!(count(connector).await, "2");
    assert_eq!(connector.idle_instances(), 0);
    assert_eq!(count(connector).await, "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_only_for_the_embedded_builds_unless_asked() {
    let embedded = Connector::builder().build().unwrap();
    assert_eq!(embedded.instance_reuse(), InstanceReuse::WARM);
    assert_eq!(InstanceReuse::WARM, InstanceReuse::Warm { max_calls: 1000 });
    let file = Connector::builder()
        .component(ComponentSource::Bytes(HOSTILE_COMPONENT.to_vec()))
        .build()
        .unwrap();
    assert_eq!(file.instance_reuse(), InstanceReuse::Fresh);
    assert_eq!("fresh".parse(), Ok(InstanceReuse::Fresh));
    assert_eq!("warm".parse(), Ok(InstanceReuse::WARM));
    assert!("lukewarm".parse::<InstanceReuse>().is_err());
}

/// A warm connector's idle instances hold the pooling allocator's slots; an
/// HTTP call (always fresh) takes an idle one's slot instead of failing.
#[tokio::test(flavor = "multi_thread")]
async fn an_http_call_gets_a_slot_when_every_slot_is_warm() {
    let harness = Harness::with(|builder| {
        builder
            .component(ComponentSource::EmbeddedService)
            .instance_reuse(InstanceReuse::WARM)
            .max_concurrent_calls(1)
    })
    .await;
    harness
        .connector
        .tag_conversation(tag_example())
        .await
        .unwrap();
    assert_eq!(harness.connector.idle_instances(), 1);
    let tagged = harness.requests().len();
    tag_through_service(serve(harness.connector).await).await;
    assert_eq!(harness.simulator.requests().len(), tagged + 1);
}

/// Every operation of the embedded component leaves its instance clean, so
/// one warm instance serves them all in turn (the host releases the request
/// options wasmtime-wasi-http would leave in the table).
#[tokio::test(flavor = "multi_thread")]
async fn one_warm_instance_serves_every_operation_of_the_embedded_component() {
    let harness = Harness::with(|builder| builder.instance_reuse(InstanceReuse::WARM)).await;
    let connector = &harness.connector;
    let conversation = ConversationInput {
        conversation_id: CONVERSATION_ID.into(),
    };
    let notes = NotesInput {
        conversation_id: CONVERSATION_ID.into(),
        notes: vec![NewNote {
            message: "Called back".into(),
            agent_id: None,
            created_at: None,
        }],
    };
    // A call that left its instance unclean would leave nothing idle.
    let clean = |operation: &str| assert_eq!(connector.idle_instances(), 1, "{operation}");
    connector
        .create_internal_note(note_example())
        .await
        .unwrap();
    clean("create-internal-note");
    connector.add_message(message_example()).await.unwrap();
    clean("add-message");
    connector.tag_conversation(tag_example()).await.unwrap();
    clean("tag-conversation");
    let tags = connector.list_conversation_tags(conversation.clone());
    tags.await.unwrap();
    clean("list-conversation-tags");
    connector.untag_conversation(tag_example()).await.unwrap();
    clean("untag-conversation");
    connector.list_internal_notes(conversation).await.unwrap();
    clean("list-internal-notes");
    connector.create_internal_notes(notes).await.unwrap();
    clean("create-internal-notes");
    assert_eq!(harness.requests().len(), 7);
}

/// `ServeOptions::per_core` serves each connection on a per-core runtime,
/// with the same answers and requests to Dixa.
#[tokio::test(flavor = "multi_thread")]
async fn dixa_serve_on_per_core_runtimes_answers_as_on_the_shared_one() {
    let harness =
        Harness::with(|builder| builder.component(ComponentSource::EmbeddedService)).await;
    let cores = std::sync::Arc::new(PerCore::new(2, "instances-test").unwrap());
    let address = serve_with(harness.connector, |mut options| {
        options.per_core = Some(cores);
        options
    })
    .await;
    for _ in 0..4 {
        tag_through_service(address).await;
    }
    assert_eq!(harness.simulator.requests().len(), 4);
}
