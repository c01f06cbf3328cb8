//! Dixa's error answers and network failures become the documented typed errors,
//! with the documented retries: 429 for every operation, 5xx and transport
//! failures only for the idempotent tag PUT.

use std::time::Duration;

use dixa_host::demo::{message_example, note_example, tag_example};
use dixa_host::{ApiKey, Connector, Error, Timeouts};
use dixa_tests::{Fault, Harness, cache_dir};

fn api(status: u16, message: &str) -> Error {
    Error::Api {
        status,
        message: message.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_status_maps_to_its_case_without_retry() {
    let cases = [
        (400, api(400, "Decoding failure in request")),
        (
            401,
            Error::Unauthorized("Decoding failure in request".into()),
        ),
        (
            403,
            Error::Unauthorized("Decoding failure in request".into()),
        ),
        (404, Error::NotFound("Decoding failure in request".into())),
        (409, api(409, "Decoding failure in request")),
        (422, api(422, "Decoding failure in request")),
        (500, api(500, "Decoding failure in request")),
        (502, api(502, "Decoding failure in request")),
        (503, api(503, "Decoding failure in request")),
    ];
    for (status, expected) in cases {
        let harness = Harness::start().await;
        harness
            .simulator
            .inject(Fault::status(status, "Decoding failure in request"));
        let result = harness.connector.create_internal_note(note_example()).await;
        assert_eq!(result, Err(expected), "status {status}");
        assert_eq!(harness.requests().len(), 1, "POST sent once for {status}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_post_is_retried_and_succeeds() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::Status {
        status: 429,
        message: "Too many requests".into(),
        retry_after: Some("0".into()),
    });
    let message = harness
        .connector
        .add_message(message_example())
        .await
        .unwrap();
    let requests = harness.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(message.message_id, "00000000-0000-4000-8000-000000000002");
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_rate_limit_ends_after_three_attempts_with_the_wait() {
    let harness = Harness::start().await;
    for _ in 0..3 {
        harness.simulator.inject(Fault::Status {
            status: 429,
            message: "Too many requests".into(),
            retry_after: Some("0".into()),
        });
    }
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(
        result,
        Err(Error::RateLimited {
            retry_after_seconds: Some(0)
        })
    );
    assert_eq!(harness.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_asking_for_too_long_a_wait_is_returned_at_once() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::Status {
        status: 429,
        message: "Too many requests".into(),
        retry_after: Some("120".into()),
    });
    let result = harness.connector.create_internal_note(note_example()).await;
    assert_eq!(
        result,
        Err(Error::RateLimited {
            retry_after_seconds: Some(120)
        })
    );
    assert_eq!(harness.requests().len(), 1);
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
async fn post_is_never_repeated_after_a_dropped_connection() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::DropConnection);
    let result = harness.connector.add_message(message_example()).await;
    assert!(
        matches!(&result, Err(Error::Transport(_))),
        "expected a transport error, got {result:?}"
    );
    assert_eq!(harness.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_success_body_is_an_invalid_response() {
    let harness = Harness::start().await;
    harness
        .simulator
        .inject(Fault::Body(r#"{"data":{"id":"only-an-id"}}"#.into()));
    let result = harness.connector.create_internal_note(note_example()).await;
    assert_eq!(
        result,
        Err(Error::InvalidResponse(
            "missing field `authorId` at line 1 column 27".into()
        ))
    );
    assert_eq!(harness.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_first_byte_hits_the_host_timeout() {
    let harness = Harness::with(|builder| {
        builder.timeouts(Timeouts {
            first_byte: Duration::from_millis(200),
            ..Timeouts::default()
        })
    })
    .await;
    harness
        .simulator
        .inject(Fault::Delay(Duration::from_secs(5)));
    let result = harness.connector.create_internal_note(note_example()).await;
    assert_eq!(
        result,
        Err(Error::Transport(
            "timed out waiting for the response".into()
        ))
    );
    assert_eq!(harness.requests().len(), 1);
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
    let harness = Harness::with(|builder| builder.api_key(ApiKey::new("not-the-key"))).await;
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
        .api_key(ApiKey::new("k"))
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
