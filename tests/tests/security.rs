//! The API key is the host's: it replaces whatever the component sends, and the
//! component reads it only when the embedder opts in. (Denied origins and key
//! leaks are swept in `reliability.rs`.)

use dixa_host::demo::tag_example;
use dixa_tests::{DEFAULT_API_KEY, Harness};

#[tokio::test(flavor = "multi_thread")]
async fn the_host_key_replaces_whatever_the_guest_sends() {
    let harness = Harness::with(|builder| builder.config("api-key", "guest-chosen-key")).await;
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(result.map(|r| r.success), Ok(true));
    assert_eq!(
        harness.only_request().header("authorization"),
        Some(DEFAULT_API_KEY)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_never_sees_the_key_unless_the_embedder_opts_in() {
    let harness = Harness::start().await;
    let config = harness.connector.guest_config().to_vec();
    assert_eq!(
        config,
        vec![
            ("base-url".to_owned(), harness.simulator.base_url()),
            ("api-key-injected".to_owned(), "true".to_owned()),
        ]
    );

    let opted_in = Harness::with(|builder| builder.key_in_guest_config(true)).await;
    assert!(
        opted_in
            .connector
            .guest_config()
            .contains(&("api-key".to_owned(), DEFAULT_API_KEY.to_owned()))
    );
    assert_eq!(
        opted_in.connector.tag_conversation(tag_example()).await,
        Ok(dixa_host::TagResult { success: true })
    );
}
