//! Failures around Dixa's answers that the fault matrix in `reliability.rs` does
//! not cover: mixed faults before a success, the call deadline, credentials, and
//! a server that is not there.

use std::time::Duration;

use dixa_host::demo::{note_example, tag_example};
use dixa_host::{ApiKey, Connector, Error};
use dixa_tests::{Fault, Harness, cache_dir};

fn api(status: u16, message: &str) -> Error {
    Error::Api {
        status,
        message: message.into(),
    }
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
    assert_eq!(result, Err(api(500, "boom")));
    assert_eq!(harness.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_past_its_deadline_is_stopped() {
    let harness = Harness::with(|builder| builder.call_timeout(Duration::from_millis(300))).await;
    harness
        .simulator
        .inject(Fault::Delay(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(result, Err(Error::Deadline(Duration::from_millis(300))));
    assert!(started.elapsed() < Duration::from_secs(5));
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
    let harness = Harness::with(|builder| builder.api_key(ApiKey::new("not-the-key").ok())).await;
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(
        result,
        Err(Error::Unauthorized("Invalid or missing API token".into()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_key_anywhere_is_missing_credentials() {
    let harness = Harness::with(|builder| builder.api_key(None)).await;
    let result = harness.connector.create_internal_note(note_example()).await;
    assert_eq!(result, Err(Error::MissingCredentials));
    assert_eq!(harness.only_request().header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_connection_is_a_transport_error_retried_only_for_put() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let connector = Connector::builder()
        .base_url(format!("http://127.0.0.1:{closed_port}"))
        .api_key(ApiKey::new("k").ok())
        .cache_dir(Some(cache_dir()))
        .build()
        .unwrap();
    assert_eq!(
        connector.create_internal_note(note_example()).await,
        Err(Error::Transport("connection refused".into()))
    );
    let started = std::time::Instant::now();
    assert_eq!(
        connector.tag_conversation(tag_example()).await,
        Err(Error::Transport("connection refused".into()))
    );
    // Two backoffs (250 ms + 500 ms) show the PUT was tried three times.
    assert!(started.elapsed() >= Duration::from_millis(750));
}
