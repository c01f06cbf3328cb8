//! Failures around Dixa's answers that the fault matrix in `reliability.rs` does
//! not cover: mixed faults before a success, the call deadline, credentials, a
//! server that is not there, DNS and TLS failures, and whether Dixa may have
//! acted in each.

use std::time::Duration;

use dixa_host::{ApiKey, Connector, ConnectorError, Error, TransportKind};
use dixa_simulator::examples::{note_example, tag_example};
use dixa_tests::{Fault, Harness};

fn api(status: u16, message: &str, dixa_may_have_acted: bool) -> Error {
    Error::Connector(ConnectorError::Api {
        status,
        message: message.into(),
        dixa_may_have_acted,
    })
}

fn transport(kind: TransportKind, message: &str, dixa_may_have_acted: bool) -> Error {
    Error::Connector(ConnectorError::Transport {
        kind,
        message: message.into(),
        dixa_may_have_acted,
    })
}

/// A connector whose Dixa is `base_url`, for failures before any answer.
fn connector_for(base_url: &str) -> Connector {
    dixa_tests::builder()
        .base_url(base_url)
        .api_key(ApiKey::new("errors-test-api-key").unwrap())
        .call_timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_put_is_retried_after_5xx_and_dropped_connections() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::status(503, "Unavailable"));
    harness.simulator.inject(Fault::DropConnection);
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(result.map(|r| r.success), Ok(true));
    assert_eq!(harness.requests().len(), 3);

    let harness = Harness::start().await;
    for _ in 0..3 {
        harness.simulator.inject(Fault::status(500, "boom"));
    }
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(result, Err(api(500, "boom", true)));
    assert_eq!(harness.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_that_dixa_carried_out_before_the_connection_dropped_may_have_acted() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::ActThenDrop);
    let error = harness
        .connector
        .create_internal_note(note_example())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        transport(
            TransportKind::ConnectionLost,
            "the connection closed before the response was complete",
            true
        )
    );
    assert_eq!(
        error.to_body().to_json(),
        r#"{"error":"transport","message":"transport error (connection-lost): the connection closed before the response was complete","dixaMayHaveActed":true,"transportKind":"connection-lost"}"#
    );
    // Dixa acted once, and the POST was not sent again.
    let request = harness.only_request();
    assert_eq!(
        (request.method.as_str(), request.status),
        ("POST", Some(200))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_4xx_reached_dixa_but_changed_nothing() {
    let harness = Harness::start().await;
    harness
        .simulator
        .inject(Fault::status(404, "No such conversation"));
    let error = harness
        .connector
        .create_internal_note(note_example())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        Error::Connector(ConnectorError::NotFound("No such conversation".into()))
    );
    assert!(!error.dixa_may_have_acted());
    harness.simulator.inject(Fault::status(409, "Conflict"));
    let error = harness
        .connector
        .create_internal_note(note_example())
        .await
        .unwrap_err();
    assert_eq!(error, api(409, "Conflict", false));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_past_its_deadline_says_whether_its_request_had_gone_to_dixa() {
    let harness = Harness::with(|builder| builder.call_timeout(Duration::from_millis(300))).await;
    harness
        .simulator
        .inject(Fault::Delay(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let result = harness.connector.create_internal_note(note_example()).await;
    // The host stopped the sandbox after forwarding the POST: Dixa may have acted.
    assert_eq!(
        result,
        Err(Error::Deadline {
            timeout: Duration::from_millis(300),
            dixa_may_have_acted: true,
        })
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(harness.requests().len(), 1);
    // The connector keeps serving.
    assert!(
        harness
            .connector
            .tag_conversation(tag_example())
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_key_is_unauthorized() {
    let harness =
        Harness::with(|builder| builder.api_key(ApiKey::new("not-the-key").unwrap())).await;
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(
        result,
        Err(Error::Connector(ConnectorError::Unauthorized(
            "Invalid or missing API token".into()
        )))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_key_anywhere_is_missing_credentials() {
    let harness = Harness::without_key(|builder| builder).await;
    let result = harness.connector.create_internal_note(note_example()).await;
    assert_eq!(
        result,
        Err(Error::Connector(ConnectorError::MissingCredentials))
    );
    assert_eq!(harness.only_request().header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_sent_nothing_so_even_a_post_is_retried() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let connector = connector_for(&format!("http://127.0.0.1:{closed_port}"));
    let refused = transport(TransportKind::Connect, "connection refused", false);
    for call in [0, 1] {
        let started = std::time::Instant::now();
        let result = match call {
            0 => connector
                .create_internal_note(note_example())
                .await
                .map(drop),
            _ => connector.tag_conversation(tag_example()).await.map(drop),
        };
        assert_eq!(result, Err(refused.clone()));
        // Two backoffs (250 ms + 500 ms) show it was tried three times.
        assert!(started.elapsed() >= Duration::from_millis(750));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_failure_is_its_own_kind_and_is_not_retried() {
    // A plain TCP server that answers the TLS handshake with HTTP: not TLS.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&accepted);
    let server = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let connector = connector_for(&format!("https://127.0.0.1:{port}"));
    let result = connector.tag_conversation(tag_example()).await;
    assert_eq!(
        result,
        Err(transport(TransportKind::Tls, "TLS handshake failed", false))
    );
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the idempotent PUT is not retried after a TLS failure"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_that_does_not_resolve_is_a_dns_failure() {
    // `.invalid` never resolves (RFC 6761).
    let connector = connector_for("https://dixa.invalid");
    let result = connector.create_internal_note(note_example()).await;
    assert_eq!(
        result,
        Err(transport(TransportKind::Dns, "DNS lookup failed", false))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_is_retried_after_a_5xx_or_a_broken_connection_and_never_acted() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::status(503, "Unavailable"));
    harness.simulator.inject(Fault::DropConnection);
    let conversation = || dixa_host::ConversationInput {
        conversation_id: "9456".into(),
    };
    let notes = harness
        .connector
        .list_internal_notes(conversation())
        .await
        .unwrap();
    assert_eq!(notes.notes, vec![]);
    assert_eq!(harness.requests().len(), 3);

    for _ in 0..3 {
        harness.simulator.inject(Fault::status(500, "boom"));
    }
    let error = harness
        .connector
        .list_conversation_tags(conversation())
        .await
        .unwrap_err();
    assert_eq!(error, api(500, "boom", false), "a read changes nothing");
}
