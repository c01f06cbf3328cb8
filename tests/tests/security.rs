//! The host's policy: the component reaches only allowed origins, and the API
//! key goes only to Dixa, added by the host, never shown to the component.

use dixa_host::demo::{note_example, tag_example};
use dixa_host::{ApiKey, Error};
use dixa_tests::{DEFAULT_API_KEY, Fault, Harness, Simulator};

const DENIED: &str = "the host's outbound policy denied the request (destination not allowed)";

#[tokio::test(flavor = "multi_thread")]
async fn requests_to_an_origin_outside_the_allow_list_are_denied() {
    let elsewhere = Simulator::start().await.unwrap();
    let harness = Harness::with(|builder| builder.config("base-url", elsewhere.base_url())).await;

    let post = harness.connector.create_internal_note(note_example()).await;
    assert_eq!(post, Err(Error::Transport(DENIED.into())));
    let put = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(
        put,
        Err(Error::Transport(DENIED.into())),
        "denials are not retried"
    );
    assert_eq!(elsewhere.requests(), vec![]);
    assert_eq!(harness.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extra_allowed_origin_is_reached_without_the_key() {
    let proxy = Simulator::start().await.unwrap();
    let harness = Harness::with(|builder| {
        builder
            .allow_host(proxy.base_url())
            .config("base-url", proxy.base_url())
    })
    .await;
    let result = harness.connector.tag_conversation(tag_example()).await;
    assert_eq!(
        result,
        Err(Error::Unauthorized("Invalid or missing API token".into()))
    );
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("authorization"), None);
}

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

#[tokio::test(flavor = "multi_thread")]
async fn the_key_appears_in_no_output_or_error() {
    let harness = Harness::start().await;
    let mut seen = vec![format!(
        "{:?}",
        harness.connector.create_internal_note(note_example()).await
    )];
    for fault in [
        Fault::status(400, "bad"),
        Fault::status(401, "no"),
        Fault::DropConnection,
        Fault::Body("garbage".into()),
    ] {
        harness.simulator.inject(fault);
        let result = harness.connector.create_internal_note(note_example()).await;
        seen.push(format!("{result:?}"));
        if let Err(error) = result {
            seen.push(error.to_string());
        }
    }
    for text in &seen {
        assert!(!text.contains(DEFAULT_API_KEY), "key leaked in {text}");
    }
    let key = ApiKey::new(DEFAULT_API_KEY).unwrap();
    assert!(!format!("{key:?} {key}").contains(DEFAULT_API_KEY));
}
