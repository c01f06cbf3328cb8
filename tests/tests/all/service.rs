//! The HTTP front end to end: the `connector-service` and Spin builds of the
//! component serve their routes through the host on loopback; what the caller
//! gets back and what reaches Dixa.

use std::time::Duration;

use dixa_simulator::client::{Response, send};
use dixa_tests::{
    ComponentSource, DEFAULT_API_KEY, Fault, Harness, SPIN_COMPONENT, Simulator, serve,
};
use serde_json::{Value, json};

const NOTE: &str = r#"{"message":"A sample note","agentId":"a53b25da-f676-4c52-acac-58c9280aa23d","createdAt":"2021-12-01T12:46:36.581Z[GMT]"}"#;
const MESSAGE: &str = r#"{"content":"Ok, I can help you!","direction":"outbound","agentId":"bac5a02c-15b3-44da-ae1e-ab7b9db4aa89"}"#;
const TAG_PATH: &str = "/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";

/// The simulator, and the address of `component`'s routes served against it.
async fn service(
    component: ComponentSource,
    configure: impl FnOnce(dixa_tests::ConnectorBuilder) -> dixa_tests::ConnectorBuilder,
) -> (Simulator, std::net::SocketAddr) {
    let Harness {
        simulator,
        connector,
    } = Harness::with(|builder| configure(builder.component(component))).await;
    assert!(connector.serves_http());
    (simulator, serve(connector).await)
}

fn json_of(response: &Response) -> Value {
    serde_json::from_str(&response.body).unwrap()
}

/// Runs the spec examples through every route at `addr` and checks the
/// replies and the requests Dixa saw.
async fn every_route_works(simulator: &Simulator, addr: std::net::SocketAddr) {
    let note = send(addr, "POST", "/conversations/9456/notes", NOTE)
        .await
        .unwrap();
    assert_eq!(
        (note.status, note.header("content-type"), note.body.as_str()),
        (
            200,
            Some("application/json"),
            r#"{"id":"00000000-0000-4000-8000-000000000001","authorId":"a53b25da-f676-4c52-acac-58c9280aa23d","createdAt":"2021-12-01T12:46:36.581Z","message":"A sample note"}"#
        )
    );

    let message = send(addr, "POST", "/conversations/9456/messages", MESSAGE)
        .await
        .unwrap();
    assert_eq!(message.status, 200, "{message:?}");
    let mut output = json_of(&message);
    let created_at = output["createdAt"].take();
    assert_eq!(
        output,
        json!({
            "messageId": "00000000-0000-4000-8000-000000000002",
            "authorId": "bac5a02c-15b3-44da-ae1e-ab7b9db4aa89",
            "createdAt": null,
            "direction": "outbound",
            "content": {"value": "Ok, I can help you!", "type": "Text"}
        })
    );
    assert_eq!(
        created_at.as_str().map(str::len),
        Some("2021-06-09T08:18:37.284Z".len())
    );

    let tag = send(addr, "PUT", TAG_PATH, "").await.unwrap();
    assert_eq!(
        (tag.status, tag.body.as_str()),
        (200, r#"{"success":true}"#)
    );

    let seen: Vec<_> = simulator
        .requests()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path.clone(),
                String::from_utf8_lossy(&r.body).into_owned(),
                r.header("authorization").map(str::to_owned),
            )
        })
        .collect();
    let key = Some(DEFAULT_API_KEY.to_owned());
    assert_eq!(
        seen,
        vec![
            (
                "POST".into(),
                "/v1/conversations/9456/notes".into(),
                NOTE.into(),
                key.clone()
            ),
            (
                "POST".into(),
                "/v1/conversations/9456/messages".into(),
                r#"{"_type":"Outbound","content":{"_type":"Text","value":"Ok, I can help you!"},"agentId":"bac5a02c-15b3-44da-ae1e-ab7b9db4aa89"}"#.into(),
                key.clone()
            ),
            (
                "PUT".into(),
                "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741".into(),
                String::new(),
                key
            ),
        ]
    );

    let tags = send(addr, "GET", "/conversations/9456/tags", "")
        .await
        .unwrap();
    assert_eq!(
        (tags.status, json_of(&tags)),
        (
            200,
            json!({"tags": [{"id": "eb31acbb-13f9-4ce7-abd3-44dd86266741", "name": "Tag eb31acbb", "color": "#1E90FF", "state": "active"}]})
        )
    );
    let untag = send(addr, "DELETE", TAG_PATH, "").await.unwrap();
    assert_eq!(
        (untag.status, untag.body.as_str()),
        (200, r#"{"success":true}"#)
    );
    let bulk = send(
        addr,
        "POST",
        "/conversations/9456/notes/bulk",
        r#"{"notes":[{"message":"Bulk one"},{"message":"Bulk two","agentId":"nobody"}]}"#,
    )
    .await
    .unwrap();
    let bulk_json = json_of(&bulk);
    assert_eq!(
        bulk.status, 200,
        "a partial success is a success of the call"
    );
    assert_eq!(bulk_json["results"][0]["outcome"], "created");
    assert_eq!(
        bulk_json["results"][1],
        json!({"outcome": "failed", "message": "An agent with id:nobody cannot be found in org."})
    );
    let notes = send(addr, "GET", "/conversations/9456/notes", "")
        .await
        .unwrap();
    let messages: Vec<Value> = json_of(&notes)["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["message"].clone())
        .collect();
    assert_eq!(messages, [json!("A sample note"), json!("Bulk one")]);
    let methods: Vec<(String, String)> = simulator.requests()[3..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        methods,
        [
            ("GET".to_owned(), "/v1/conversations/9456/tags".to_owned()),
            ("DELETE".into(), format!("/v1{TAG_PATH}")),
            ("POST".into(), "/v1/conversations/9456/notes/bulk".into()),
            ("GET".into(), "/v1/conversations/9456/notes".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_build_answers_the_spec_outputs_and_sends_dixa_the_exact_requests() {
    let (simulator, addr) = service(ComponentSource::EmbeddedService, |b| b).await;
    every_route_works(&simulator, addr).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spin_build_reads_spins_config_draft_and_snake_case_keys() {
    // As under Spin: the component reads the key itself from `api_key`
    // and sends it; the host injects nothing.
    let Harness {
        simulator,
        connector,
    } = Harness::without_key(|builder| {
        builder
            .component(ComponentSource::Bytes(SPIN_COMPONENT.to_vec()))
            .config("api_key", DEFAULT_API_KEY)
    })
    .await;
    let addr = serve(connector).await;
    every_route_works(&simulator, addr).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_json_with_the_status_of_their_case_and_bad_requests_send_nothing() {
    let (simulator, addr) = service(ComponentSource::EmbeddedService, |b| b).await;

    let bad = [
        (
            "POST",
            "/conversations/9456/messages",
            r#"{"content":"hi","direction":"outbound"}"#,
            400,
            r#"{"error":"invalid-input","message":"invalid input: agentId: is required for outbound messages","dixaMayHaveActed":false,"field":"agentId"}"#,
        ),
        (
            "POST",
            "/conversations/..%2F1/notes",
            r#"{"message":"x"}"#,
            400,
            r#"{"error":"invalid-input","message":"invalid input: conversationId: must not contain '/'","dixaMayHaveActed":false,"field":"conversationId"}"#,
        ),
        (
            "POST",
            "/conversations/9456/notes",
            "not json",
            400,
            r#"{"error":"invalid-input","message":"invalid input: input: the request body must be a JSON object","dixaMayHaveActed":false,"field":"input"}"#,
        ),
        (
            "PATCH",
            "/conversations/9456/notes",
            "",
            405,
            r#"{"error":"method-not-allowed","message":"/conversations/9456/notes takes POST or GET, not PATCH","dixaMayHaveActed":false}"#,
        ),
        (
            "GET",
            "/",
            "",
            404,
            r#"{"error":"no-route","message":"no operation at /: use EVERY_ROUTE","dixaMayHaveActed":false}"#,
        ),
    ];
    let every_route: Vec<String> = dixa_contract::OPERATIONS
        .iter()
        .map(|o| format!("{} {}", o.service_method.as_str(), o.service_path))
        .collect();
    for (method, path, body, status, expected) in bad {
        let reply = send(addr, method, path, body).await.unwrap();
        assert_eq!(
            (reply.status, reply.body),
            (
                status,
                expected.replace("EVERY_ROUTE", &every_route.join(", "))
            ),
            "{method} {path}"
        );
    }
    let cap = dixa_contract::operations::CREATE_INTERNAL_NOTE.max_input_bytes();
    let too_large = format!(r#"{{"message":"{}"}}"#, "x".repeat(cap));
    let reply = send(addr, "POST", "/conversations/9456/notes", &too_large)
        .await
        .unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            413,
            format!(r#"{{"error":"invalid-input","message":"invalid input: input: the request body is larger than {cap} bytes","dixaMayHaveActed":false,"field":"input"}}"#).as_str()
        )
    );
    assert_eq!(simulator.requests(), vec![], "nothing reached Dixa");

    simulator.inject(Fault::status(404, "Conversation 9456 not found"));
    let reply = send(addr, "PUT", TAG_PATH, "").await.unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            404,
            r#"{"error":"not-found","message":"not found: Conversation 9456 not found","dixaMayHaveActed":false}"#
        )
    );

    let post_note = || async {
        send(
            addr,
            "POST",
            "/conversations/9456/notes",
            r#"{"message":"x"}"#,
        )
        .await
        .unwrap()
    };
    for _ in 0..3 {
        simulator.inject(Fault::Status {
            status: 429,
            message: "Too many requests".into(),
            retry_after: Some("0".into()),
        });
    }
    let reply = post_note().await;
    assert_eq!(
        (
            reply.status,
            reply.header("retry-after"),
            reply.body.as_str()
        ),
        (
            429,
            Some("0"),
            r#"{"error":"rate-limited","message":"rate limited by Dixa: retry in 0 s","dixaMayHaveActed":false,"retryAfterSeconds":0}"#
        )
    );

    simulator.inject(Fault::status(503, "Down for maintenance"));
    let reply = post_note().await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            502,
            r#"{"error":"api","message":"Dixa answered 503: Down for maintenance","dixaMayHaveActed":true,"status":503}"#
        )
    );
    // 1 tag + 3 rate-limited notes + 1 note that got a 503: never retried.
    assert_eq!(simulator.requests().len(), 5);
    assert_eq!(
        simulator
            .requests()
            .last()
            .map(|r| (r.path.clone(), r.header("authorization").map(str::to_owned))),
        Some((
            "/v1/conversations/9456/notes".into(),
            Some(DEFAULT_API_KEY.into())
        ))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_stopped_by_the_host_is_a_504_and_the_service_keeps_serving() {
    let (simulator, addr) = service(ComponentSource::EmbeddedService, |b| {
        b.call_timeout(Duration::from_millis(500))
    })
    .await;
    simulator.inject(Fault::StallBody);
    let reply = send(addr, "PUT", TAG_PATH, "").await.unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            504,
            r#"{"error":"deadline","message":"the call exceeded its 0.5s deadline and was stopped","dixaMayHaveActed":true}"#
        )
    );
    let reply = send(addr, "PUT", TAG_PATH, "").await.unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"success":true}"#)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_plain_build_has_no_routes() {
    let harness = Harness::start().await;
    assert!(!harness.connector.serves_http());
}

/// Spin cannot be installed here; this keeps `hosts/spin/spin.toml` pointing at
/// the build the tests above run, made the way its build command makes it.
#[test]
fn the_spin_manifest_runs_the_tested_build() {
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hosts/spin");
    let manifest = std::fs::read_to_string(manifest_dir.join("spin.toml")).unwrap();
    let value = |key: &str| {
        manifest
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key} = \"")))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("spin.toml has no {key}"))
            .to_owned()
    };
    assert_eq!(
        std::fs::read(manifest_dir.join(value("source"))).unwrap(),
        SPIN_COMPONENT
    );
    assert_eq!(
        value("command"),
        "cargo build --package dixa-guest --features spin --target wasm32-wasip2 \
         --profile guest --target-dir target/guest-spin"
    );
    assert!(manifest.contains(r#"allowed_outbound_hosts = ["https://dev.dixa.io"]"#));
    assert!(manifest.contains("dixa_api_key = { required = true, secret = true }"));
    assert!(manifest.contains("service_token = { required = true, secret = true }"));
    assert!(manifest.contains(r#"service_token = "{{ service_token }}""#));
}

/// The import and export names each build carries, as the README lists them.
#[test]
fn each_build_imports_and_exports_what_the_readme_says() {
    let names = |component: &[u8]| {
        [
            "wasi:config/store@0.2.0-rc.1",
            "wasi:config/store@0.2.0-draft-2024-09-27",
            "wasi:http/outgoing-handler@0.2.4",
            "wasi:io/streams@0.2.4",
            "wasi:io/streams@0.2.6",
            "wasi:http/incoming-handler@0.2.2",
            "dixa:connector/conversations@0.2.0",
        ]
        .into_iter()
        .filter(|name| {
            component
                .windows(name.len())
                .any(|window| window == name.as_bytes())
        })
        .collect::<Vec<_>>()
    };
    let common = [
        "wasi:http/outgoing-handler@0.2.4",
        "dixa:connector/conversations@0.2.0",
    ];
    let with = |extra: &[&'static str]| {
        let mut all: Vec<&str> = extra.to_vec();
        all.extend(common);
        all.sort();
        all
    };
    let sorted = |mut v: Vec<&'static str>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(names(dixa_host::EMBEDDED_COMPONENT)),
        with(&["wasi:config/store@0.2.0-rc.1", "wasi:io/streams@0.2.4"])
    );
    assert_eq!(
        sorted(names(dixa_host::EMBEDDED_SERVICE_COMPONENT)),
        with(&[
            "wasi:config/store@0.2.0-rc.1",
            "wasi:io/streams@0.2.4",
            "wasi:http/incoming-handler@0.2.2"
        ])
    );
    assert_eq!(
        sorted(names(SPIN_COMPONENT)),
        // Built by rustc's linker alone (as `spin build` does): see the README.
        with(&[
            "wasi:config/store@0.2.0-draft-2024-09-27",
            "wasi:io/streams@0.2.6",
            "wasi:http/incoming-handler@0.2.2"
        ])
    );
}
