//! The sandbox promise of docs/SECURITY.md, one test per promise: the key is
//! the host's and goes only to the connector's own Dixa routes, over https,
//! never into text; a hostile component cannot take more than its share of
//! the host; callers of `dixa serve` must authenticate.

use std::time::Duration;

use dixa_contract::{Method, OPERATIONS, path};
use dixa_host::{BuildError, CallLimits, ConnectorError, Error, TransportKind};
use dixa_simulator::client::{send, send_with_headers};
use dixa_simulator::examples::{note_example, tag_example};
use dixa_tests::{
    ApiKey, ComponentSource, Connector, DEFAULT_API_KEY, Fault, HOSTILE_COMPONENT, Harness,
    SPIN_COMPONENT, TEST_SERVICE_TOKEN, cache_dir, hostile_command, serve, serve_with,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    assert!(
        !config
            .iter()
            .any(|(key, value)| key == "api-key" || value == DEFAULT_API_KEY)
    );
    assert!(config.contains(&("api-key-injected".to_owned(), "true".to_owned())));

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

/// A connector running the hostile component against the simulator.
async fn hostile(limits: CallLimits) -> Harness {
    Harness::with(|builder| {
        builder
            .component(ComponentSource::Bytes(HOSTILE_COMPONENT.to_vec()))
            .limits(limits)
    })
    .await
}

/// The hostile component's report of a failed request (see `hostile-guest/`).
fn hostile_failure(message: &str) -> Error {
    Error::Connector(ConnectorError::Transport {
        kind: TransportKind::Other,
        message: message.into(),
        dixa_may_have_acted: false,
    })
}

/// How the host refuses a request the component makes, as the component sees it.
fn refused_by_host(reason: &str) -> Error {
    hostile_failure(&format!(
        "ErrorCode::InternalError(Some(\"denied by the host: {reason}\"))"
    ))
}

/// A spinning call stopped at its deadline of `millis`, before it sent anything.
fn deadline(millis: u64) -> Error {
    Error::Deadline {
        timeout: Duration::from_millis(millis),
        dixa_may_have_acted: false,
    }
}

fn not_an_operation() -> Error {
    refused_by_host("the request is none of the connector's operations")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_goes_only_to_the_operations_routes_and_nothing_else_reaches_dixa() {
    let harness = hostile(CallLimits::default()).await;
    let authority = harness.simulator.addr().to_string();
    let send = |method: &str, path: &str, headers: &str| {
        format!("send {method} http {authority} {path} {headers}")
            .trim_end()
            .to_owned()
    };
    // Derived from the table, so the cases follow new operations: every other
    // method on each operation's path, and the operation's own method with a
    // query, an extra segment, a dot segment or an absolute-form target.
    let mut denied = vec![
        send("POST", "/v1/webhooks", ""),
        send("GET", "/v1/agents", ""),
        send("POST", "/v1", ""),
    ];
    for operation in OPERATIONS {
        let ids = ["9456", "eb31acbb-13f9-4ce7-abd3-44dd86266741"];
        let route = path::fill(operation.dixa_path, &ids);
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS"] {
            let an_operation = OPERATIONS
                .iter()
                .any(|o| o.dixa_path == operation.dixa_path && o.method.as_str() == method);
            if !an_operation {
                denied.push(send(method, &route, ""));
            }
        }
        let method = operation.method.as_str();
        denied.push(send(
            method,
            &format!("{route}?callback=https://evil.example"),
            "",
        ));
        denied.push(send(method, &format!("{route}/extra"), ""));
        denied.push(send(method, &route.replace("9456", ".."), ""));
        denied.push(send(method, &route.replace("9456", "%2e%2e"), ""));
        denied.push(send(method, &format!("http://evil.example{route}"), ""));
    }
    for content in &denied {
        let result = hostile_command(&harness.connector, content.clone()).await;
        assert!(
            result == Err(not_an_operation()) || result == Err(hostile_failure("path refused")),
            "{content}: {result:?}"
        );
    }
    assert_eq!(harness.requests(), Vec::new(), "nothing reached Dixa");

    // An operation's own request goes out with the key and only the allowed
    // headers: a method override or a forwarding header is stripped.
    let note = path::fill(OPERATIONS[0].dixa_path, &["9456"]);
    assert_eq!(OPERATIONS[0].method, Method::Post);
    let result = hostile_command(
        &harness.connector,
        send(
            "POST",
            &note,
            "x-http-method-override=DELETE x-forwarded-host=evil.example authorization=guest-key accept=application/json",
        ),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    let request = harness.only_request();
    let mut names: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["accept", "authorization", "content-length", "host"]);
    assert_eq!(request.header("authorization"), Some(DEFAULT_API_KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_component_cannot_take_more_host_memory_than_its_limits() {
    let limits = CallLimits {
        resources: 256,
        requests_in_flight: 2,
        request_body_bytes: 64 << 10,
        request_bytes_per_call: 128 << 10,
        header_bytes: 8 << 10,
    };
    let harness = hostile(limits).await;
    let authority = harness.simulator.addr().to_string();
    for _ in 0..2 {
        harness
            .simulator
            .inject(Fault::Delay(Duration::from_millis(500)));
    }
    let tag = "/v1/conversations/1/tags/t";

    let in_flight = hostile_command(
        &harness.connector,
        format!("in-flight http {authority} {tag} 5"),
    )
    .await;
    assert_eq!(
        in_flight,
        Err(refused_by_host(
            "at most 2 requests may be in flight per call"
        ))
    );
    let body = hostile_command(
        &harness.connector,
        format!(
            "body http {authority} /v1/conversations/1/notes {}",
            100 << 10
        ),
    )
    .await;
    assert_eq!(
        body,
        Err(refused_by_host(
            "at most 65536 body bytes may be sent per request and 131072 per call"
        ))
    );
    let header = hostile_command(&harness.connector, format!("header {}", 16 << 10)).await;
    assert!(
        matches!(&header, Err(Error::Component { message, .. }) if message.ends_with("total size of fields exceeds limit")),
        "{header:?}"
    );
    let resources = hostile_command(&harness.connector, "resources".into()).await;
    assert!(
        matches!(&resources, Err(Error::Component { message, .. }) if message.contains("resource table")),
        "{resources:?}"
    );
    // The connector is still fine after each of them.
    let ok = hostile_command(
        &harness.connector,
        format!("send PUT http {authority} {tag}"),
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_spinning_component_yields_its_thread_and_the_wait_for_a_slot_counts_in_the_deadline() {
    let harness = Harness::with(|builder| {
        builder
            .component(ComponentSource::Bytes(HOSTILE_COMPONENT.to_vec()))
            .call_timeout(Duration::from_millis(1500))
            .max_concurrent_calls(1)
    })
    .await;
    let spin = || {
        let mut input = note_example();
        input.message = "spin".into();
        harness.connector.create_internal_note(input)
    };
    // One thread: the timer below fires only if the spinning guest yields.
    let ticked = std::sync::atomic::AtomicBool::new(false);
    let (spun, ()) = tokio::join!(spin(), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        ticked.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    assert_eq!(spun, Err(deadline(1500)));
    assert!(ticked.load(std::sync::atomic::Ordering::SeqCst));

    // Two calls, one slot: the second waits, and its wait counts.
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(spin(), spin());
    assert_eq!(first, Err(deadline(1500)));
    assert_eq!(second, Err(deadline(1500)));
    assert!(
        started.elapsed() < Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_importing_sockets_or_files_is_refused_at_load() {
    for interface in ["wasi:sockets/tcp@0.2.0", "wasi:filesystem/types@0.2.0"] {
        let mut component = wasm_encoder::Component::new();
        let mut types = wasm_encoder::ComponentTypeSection::new();
        types.instance(&wasm_encoder::InstanceType::new());
        component.section(&types);
        let mut imports = wasm_encoder::ComponentImportSection::new();
        imports.import(interface, wasm_encoder::ComponentTypeRef::Instance(0));
        component.section(&imports);
        let built = Connector::builder()
            .component(ComponentSource::Bytes(component.finish()))
            .build();
        match built {
            Err(BuildError::UnsupportedImport(name)) => assert_eq!(name, interface),
            other => panic!("{interface}: {:?}", other.map(|_| ())),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_goes_over_https_only_except_to_loopback() {
    let key = || ApiKey::new(DEFAULT_API_KEY).unwrap();
    let insecure = Connector::builder()
        .base_url("http://dixa.example.com")
        .api_key(key())
        .build();
    assert!(
        matches!(&insecure, Err(BuildError::InsecureBaseUrl(origin)) if origin == "http://dixa.example.com:80"),
        "{:?}",
        insecure.as_ref().map(|_| ())
    );
    for allowed in [
        Connector::builder()
            .base_url("http://127.0.0.1:9")
            .api_key(key()),
        Connector::builder()
            .base_url("http://localhost:9")
            .api_key(key()),
        Connector::builder()
            .base_url("http://[::1]:9")
            .api_key(key()),
        Connector::builder()
            .base_url("http://dixa.example.com")
            .api_key(key())
            .insecure_http(true),
        Connector::builder().base_url("http://dixa.example.com"),
    ] {
        assert!(allowed.cache_dir(cache_dir()).build().is_ok());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_echoes_the_key_never_gets_it_printed() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::EchoAuthorization);
    let error = harness
        .connector
        .tag_conversation(tag_example())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        Error::Connector(ConnectorError::Api {
            status: 400,
            message: "bad request with Authorization: <redacted> (see /errors?auth=<redacted>)"
                .into(),
            dixa_may_have_acted: false,
        })
    );
    assert!(!error.to_string().contains(DEFAULT_API_KEY));
    assert!(!error.to_body().to_json().contains(DEFAULT_API_KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_fronts_redact_an_echoed_key_whoever_holds_it() {
    // The host holds the key (`dixa serve`), or the component does (Spin).
    for (component, holds_key_itself) in [
        (ComponentSource::EmbeddedService, false),
        (ComponentSource::Bytes(SPIN_COMPONENT.to_vec()), true),
    ] {
        let harness = if holds_key_itself {
            Harness::without_key(|builder| {
                builder
                    .component(component)
                    .config("api_key", DEFAULT_API_KEY)
            })
            .await
        } else {
            Harness::with(|builder| builder.component(component)).await
        };
        harness.simulator.inject(Fault::EchoAuthorization);
        let simulator_addr = harness.simulator.addr();
        let addr = serve(harness.connector).await;
        let reply = send(addr, "PUT", "/conversations/9456/tags/t", "")
            .await
            .unwrap();
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (
                400,
                r#"{"error":"api","message":"Dixa answered 400: bad request with Authorization: <redacted> (see /errors?auth=<redacted>)","dixaMayHaveActed":false,"status":400}"#
            ),
            "{simulator_addr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dixa_serve_redacts_a_hostile_components_headers_bytes_and_error_text() {
    let harness = hostile(CallLimits::default()).await;
    let addr = serve(harness.connector).await;
    let echo = send(addr, "GET", &format!("/echo/{DEFAULT_API_KEY}"), "")
        .await
        .unwrap();
    assert_eq!(echo.status, 200);
    assert_eq!(echo.header("x-echo"), Some("<redacted>"));
    assert_eq!(
        echo.body, "<redacted>\u{fffd}",
        "the bytes after the key survive"
    );
    let fail = send(addr, "GET", &format!("/fail/{DEFAULT_API_KEY}"), "")
        .await
        .unwrap();
    assert_eq!(
        (fail.status, fail.body.as_str()),
        (
            500,
            r#"{"error":"component","message":"component failure: the component answered with the HTTP error ErrorCode::InternalError(Some(\"<redacted>\"))","dixaMayHaveActed":false}"#
        )
    );
}

/// The status of an HTTP front's reply and the `error` kind of its JSON body.
fn status_and_kind(reply: &dixa_simulator::client::Response) -> (u16, String) {
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    (
        reply.status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn dixa_serve_refuses_callers_without_the_token_a_foreign_host_or_origin_or_a_non_json_body()
{
    let harness =
        Harness::with(|builder| builder.component(ComponentSource::EmbeddedService)).await;
    let simulator = harness.simulator;
    let addr = serve(harness.connector).await;
    let host = addr.to_string();
    let bearer = format!("Bearer {TEST_SERVICE_TOKEN}");
    let note = r#"{"message":"hi"}"#;
    let path = "/conversations/9456/notes";
    // What a web page the operator visits can send, and what DNS rebinding does.
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case; 8] = [
        (
            &[
                ("host", "evil.example"),
                ("origin", "https://evil.example"),
                ("content-type", "text/plain"),
                ("authorization", &bearer),
            ],
            421,
            "forbidden-host",
        ),
        (
            &[("host", &host), ("content-type", "application/json")],
            401,
            "unauthenticated",
        ),
        (
            &[
                ("host", &host),
                ("content-type", "application/json"),
                ("authorization", "Bearer wrong-token-0123456789"),
            ],
            401,
            "unauthenticated",
        ),
        (
            &[
                ("host", &host),
                ("content-type", "application/json"),
                ("authorization", &format!("Basic {TEST_SERVICE_TOKEN}")),
            ],
            401,
            "unauthenticated",
        ),
        (
            &[
                ("host", &host),
                ("content-type", "application/json"),
                ("authorization", &bearer),
                ("origin", "https://evil.example"),
            ],
            403,
            "forbidden-origin",
        ),
        (
            &[
                ("host", &host),
                ("content-type", "application/json"),
                ("authorization", &bearer),
                ("origin", "null"),
            ],
            403,
            "forbidden-origin",
        ),
        (
            &[
                ("host", &host),
                ("content-type", "text/plain"),
                ("authorization", &bearer),
            ],
            415,
            "invalid-input",
        ),
        (
            &[("host", &host), ("authorization", &bearer)],
            415,
            "invalid-input",
        ),
    ];
    for (headers, status, kind) in cases {
        let reply = send_with_headers(addr, "POST", path, headers, note)
            .await
            .unwrap();
        assert_eq!(
            status_and_kind(&reply),
            (status, kind.to_owned()),
            "{headers:?}"
        );
    }
    assert_eq!(simulator.requests(), Vec::new(), "nothing was sent");

    for host in [host.as_str(), &format!("localhost:{}", addr.port())] {
        let same_origin = format!("http://{host}");
        let headers = [
            ("host", host),
            ("origin", same_origin.as_str()),
            ("authorization", bearer.as_str()),
            ("content-type", "application/json; charset=utf-8"),
        ];
        let reply = send_with_headers(addr, "POST", path, &headers, note)
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{host}: {reply:?}");
    }
    assert_eq!(simulator.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_build_checks_the_token_itself_and_refuses_to_run_without_one() {
    // As under `wasmtime serve` or Spin, where no host checks in front: here
    // the host's check passes, and the component's own decides.
    for (config, status, kind) in [
        (Some("another-token-0123456789"), 401, "unauthenticated"),
        (None, 503, "configuration"),
    ] {
        let harness = Harness::with(|builder| {
            let builder = builder.component(ComponentSource::EmbeddedService);
            match config {
                Some(token) => builder.config("service-token", token),
                None => builder.config("service-token", ""),
            }
        })
        .await;
        let simulator = harness.simulator;
        let addr = serve(harness.connector).await;
        let reply = send(addr, "PUT", "/conversations/9456/tags/t", "")
            .await
            .unwrap();
        assert_eq!(
            status_and_kind(&reply),
            (status, kind.to_owned()),
            "{config:?}"
        );
        assert_eq!(simulator.requests(), Vec::new());
    }
}

/// What a web page can send to the service build through a proxy that
/// authenticates callers by cookie (`allow-unauthenticated`): the component
/// refuses it itself, as it does on `wasmtime serve`, jco or Spin.
#[tokio::test(flavor = "multi_thread")]
async fn the_service_build_refuses_cross_site_requests_even_without_a_token() {
    let simulator = dixa_tests::Simulator::start().await.unwrap();
    // No service token at all: the harness would configure one.
    let connector = dixa_tests::builder()
        .base_url(simulator.base_url())
        .api_key(ApiKey::new(DEFAULT_API_KEY).unwrap())
        .component(ComponentSource::EmbeddedService)
        .config("allow-unauthenticated", "true")
        .build()
        .unwrap();
    let call = |headers: &[(&str, &str)]| {
        let mut request = hyper::Request::builder()
            .method("POST")
            .uri("http://svc.example/conversations/9456/notes");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                br#"{"message":"hi"}"#,
            )))
            .unwrap();
        let connector = &connector;
        async move {
            let response = connector.handle_http(request).await.unwrap();
            let status = response.status().as_u16();
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let refusals = [
        (
            call(&[("content-type", "text/plain")]).await,
            415,
            "the request body must be sent as Content-Type: application/json",
        ),
        (
            call(&[]).await,
            415,
            "the request body must be sent as Content-Type: application/json",
        ),
        (
            call(&[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ])
            .await,
            403,
            "the Origin header names a site this service does not serve",
        ),
    ];
    for ((status, body), expected_status, message) in refusals {
        assert_eq!(status, expected_status, "{body}");
        assert!(body.contains(message), "{body}");
    }
    assert_eq!(simulator.requests(), Vec::new(), "nothing was sent");
    let (status, body) = call(&[
        ("content-type", "application/json"),
        ("origin", "https://svc.example"),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(simulator.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn dixa_serve_cannot_be_starved_by_slow_or_many_connections() {
    let harness = Harness::with(|builder| {
        builder
            .component(ComponentSource::EmbeddedService)
            .max_concurrent_calls(1)
    })
    .await;
    let addr = serve_with(harness.connector, |mut options| {
        options.header_read_timeout = Duration::from_secs(1);
        options.body_timeout = Duration::from_secs(1);
        options.max_connections = 2;
        options
    })
    .await;
    let closed_within = |mut stream: tokio::net::TcpStream, limit: Duration| async move {
        let mut rest = Vec::new();
        tokio::time::timeout(limit, stream.read_to_end(&mut rest))
            .await
            .map(|_| String::from_utf8_lossy(&rest).into_owned())
    };

    // Half a request line: the connection is closed after the header timeout.
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"PUT /conversations/9456/ta").await.unwrap();
    assert!(
        closed_within(half, Duration::from_secs(10)).await.is_ok(),
        "still open"
    );

    // An idle keep-alive connection is closed after the same timeout.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "PUT /conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741 HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TEST_SERVICE_TOKEN}\r\n\r\n"
    );
    idle.write_all(request.as_bytes()).await.unwrap();
    let answered = closed_within(idle, Duration::from_secs(10)).await.unwrap();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // A body that never arrives holds no call slot (there is one): another
    // caller is served meanwhile, and the slow one gets 408.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /conversations/9456/notes HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TEST_SERVICE_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"mess"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let tag = "/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";
    let served = send(addr, "PUT", tag, "").await.unwrap();
    assert_eq!(served.status, 200, "{served:?}");
    let answer = closed_within(slow, Duration::from_secs(10)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Past the connection cap: 503 at once, while the held ones stay open.
    let _held = [
        tokio::net::TcpStream::connect(addr).await.unwrap(),
        tokio::net::TcpStream::connect(addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let over = tokio::net::TcpStream::connect(addr).await.unwrap();
    let answer = closed_within(over, Duration::from_secs(5)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains(r#""error":"overloaded""#), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_cannot_hide_a_write_that_went_out_so_a_batch_never_resends_it() {
    let harness = hostile(CallLimits::default()).await;
    let authority = harness.simulator.addr().to_string();
    let lie = |kind: &str, conversation: &str| {
        format!(
            "lie {kind} POST http {authority} /v1/conversations/{conversation}/notes {{\"message\":\"x\"}}"
        )
    };
    // Dixa created the note; the component says nothing went out.
    assert_eq!(
        hostile_command(&harness.connector, lie("transport", "1")).await,
        Err(Error::Connector(ConnectorError::Transport {
            kind: TransportKind::Other,
            message: "nothing was sent, it claims".into(),
            dixa_may_have_acted: true,
        }))
    );
    assert_eq!(
        hostile_command(&harness.connector, lie("invalid", "2")).await,
        Err(Error::Component {
            message: "the component said Dixa did not act (invalid input: content: nothing \
                      was sent, it claims), but a request that changes something went out \
                      and Dixa did not refuse it"
                .into(),
            dixa_may_have_acted: true,
        })
    );
    // Dixa refused the write (no such conversation): it did not act, as the
    // component says.
    assert_eq!(
        hostile_command(&harness.connector, lie("transport", "1000000")).await,
        Err(hostile_failure("nothing was sent, it claims"))
    );
    assert_eq!(harness.requests().len(), 3);

    // A batch line whose POST reached Dixa is never sent again on a re-run.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let connector = std::sync::Arc::new(harness.connector);
    let line = serde_json::json!({
        "op": "add-message",
        "conversationId": "3",
        "direction": "inbound",
        "content": lie("transport", "3"),
    })
    .to_string();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let mut results = Vec::new();
        dixa_host::batch::run(
            std::sync::Arc::clone(&connector),
            line.as_bytes(),
            dixa_host::batch::Report::open(&report).unwrap(),
            &dixa_host::batch::BatchOptions::default(),
            |result| {
                results.push(serde_json::to_value(result).unwrap());
                Ok(())
            },
        )
        .await
        .unwrap();
        statuses.push((
            results[0]["status"].clone(),
            results[0]["error"]["dixaMayHaveActed"].clone(),
        ));
    }
    assert_eq!(
        statuses,
        [
            (serde_json::json!("failed"), serde_json::json!(true)),
            (
                serde_json::json!("outcome-unknown"),
                serde_json::json!(true)
            ),
        ]
    );
    let posts = harness
        .simulator
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/conversations/3/notes")
        .count();
    assert_eq!(posts, 1, "the write was not sent again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_that_stops_reading_its_reply_loses_the_connection() {
    let harness = hostile(CallLimits::default()).await;
    let addr = serve_with(harness.connector, |mut options| {
        options.write_timeout = Duration::from_secs(1);
        options
    })
    .await;
    // 15 MiB: more than the sockets' buffers hold, less than the reply cap.
    let size = 15 << 20;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /big/{size} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {TEST_SERVICE_TOKEN}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Reads nothing while the server's writes stall, then everything it got.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
        .await
        .expect("the server closed the connection");
    // The connection ends early: a reset, or an end before the whole body.
    if read.is_ok() {
        assert!(received.len() < size, "the whole reply arrived");
    }
    let head = String::from_utf8_lossy(received.get(..64).unwrap_or_default()).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // A caller that reads gets the whole reply.
    let mut reader = tokio::net::TcpStream::connect(addr).await.unwrap();
    reader.write_all(request.as_bytes()).await.unwrap();
    let mut whole = Vec::new();
    let mut chunk = vec![0; 1 << 16];
    while !whole.ends_with(b"xxxx") || whole.len() < size {
        let n = reader.read(&mut chunk).await.unwrap();
        assert_ne!(n, 0, "closed after {} bytes", whole.len());
        whole.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_with_many_requests_in_line_does_not_starve_another() {
    const TAG: &str = "eb31acbb-13f9-4ce7-abd3-44dd86266741";
    // One call slot, 5 requests a second: 60 requests of one caller take 12 s.
    let harness = Harness::with(|builder| {
        builder
            .component(ComponentSource::EmbeddedService)
            .max_concurrent_calls(1)
            .rate_limit(dixa_tests::RateLimit::per_second(
                std::num::NonZeroU32::new(5).unwrap(),
            ))
    })
    .await;
    let simulator = harness.simulator;
    let served = serve_with(harness.connector, |options| options).await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], served.port()));
    let from = |last: u8, conversation: u32| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, last], 0)))
            .unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::builder()
            .method("PUT")
            .uri(format!("/conversations/{conversation}/tags/{TAG}"))
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {TEST_SERVICE_TOKEN}"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        sender
            .send_request(request)
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let flood: Vec<_> = (1..=60).map(|c| tokio::spawn(from(2, c))).collect();
    while simulator.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = simulator.requests().len();
    let started = std::time::Instant::now();
    let other = from(3, 1000).await;
    let waited = started.elapsed();
    assert_eq!(other, 200);
    // It waited for the call in flight and at most one more of the flood's,
    // not for all of them.
    let paths: Vec<String> = simulator.requests().into_iter().map(|r| r.path).collect();
    let position = paths
        .iter()
        .position(|p| *p == format!("/v1/conversations/1000/tags/{TAG}"))
        .unwrap();
    assert!(position <= before + 2, "sent after {before}: {paths:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    for call in flood {
        assert_eq!(call.await.unwrap(), 200);
    }
}
