//! The same component on hosts other than this crate's: Node.js through jco
//! (`jco transpile`, and `jco serve` for the HTTP service build) and the wasmtime
//! CLI (`wasmtime run --invoke`, `wasmtime serve`). Without a tool a test says
//! why and is skipped, except under `CI=true`, where it fails: `.ci/test`
//! installs every tool these tests need.

use std::process::Command;

use dixa_simulator::client::TEST_SERVICE_TOKEN;
use dixa_simulator::{DEFAULT_API_KEY, Simulator};

use crate::common;
use common::{node_recipe, run, workspace};

/// `component` written to `target/{path}`, where a host recipe expects it.
/// Each test writes its own path: another test's host may be reading one.
fn component_file(path: &str, component: &[u8]) -> String {
    let path = workspace().join("target").join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, component).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_runs_on_node_through_jco() {
    let Some(node) = node_recipe() else {
        return;
    };
    component_file("dixa_connector.wasm", dixa_host::EMBEDDED_COMPONENT);
    run(Command::new("npm")
        .args(["run", "--silent", "transpile"])
        .current_dir(&node));

    let simulator = Simulator::start().await.unwrap();
    let config =
        serde_json::json!({ "base-url": simulator.base_url(), "api-key": DEFAULT_API_KEY });
    let output = run(Command::new("npm")
        .args(["run", "--silent", "test"])
        .env("DIXA_CONFIG", config.to_string())
        .current_dir(&node));
    assert!(
        output.contains("node: all seven operations passed"),
        "{output}"
    );

    let requests = simulator.requests();
    let lines: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.header("authorization"),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "POST",
                "/v1/conversations/9456/notes",
                Some(DEFAULT_API_KEY)
            ),
            (
                "POST",
                "/v1/conversations/9456/messages",
                Some(DEFAULT_API_KEY)
            ),
            (
                "PUT",
                "/v1/conversations/9456/tags/not-a-uuid",
                Some(DEFAULT_API_KEY)
            ),
            (
                "PUT",
                "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741",
                Some(DEFAULT_API_KEY)
            ),
            ("GET", "/v1/conversations/9456/tags", Some(DEFAULT_API_KEY)),
            (
                "DELETE",
                "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741",
                Some(DEFAULT_API_KEY)
            ),
            ("GET", "/v1/conversations/9456/tags", Some(DEFAULT_API_KEY)),
            (
                "POST",
                "/v1/conversations/9456/notes/bulk",
                Some(DEFAULT_API_KEY)
            ),
            ("GET", "/v1/conversations/9456/notes", Some(DEFAULT_API_KEY)),
        ]
    );
}

/// The wasmtime CLI: $WASMTIME (which `.ci/test` sets) or `wasmtime` on PATH.
fn wasmtime_cli() -> Option<String> {
    common::tool("WASMTIME", "wasmtime")
}

/// `hosts/wasmtime-cli/run.sh` with the simulator's settings.
fn recipe(wasmtime: &str, simulator: &Simulator, args: &[&str]) -> Command {
    let mut command = Command::new(workspace().join("hosts/wasmtime-cli/run.sh"));
    command
        .args(args)
        .env("WASMTIME", wasmtime)
        .env("DIXA_BASE_URL", simulator.base_url())
        .env("DIXA_API_KEY", DEFAULT_API_KEY)
        .env("DIXA_SERVICE_TOKEN", TEST_SERVICE_TOKEN);
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_runs_on_the_wasmtime_cli() {
    let Some(wasmtime) = wasmtime_cli() else {
        return;
    };
    let component = component_file(
        "wasmtime-cli/dixa_connector.wasm",
        dixa_host::EMBEDDED_COMPONENT,
    );
    let simulator = Simulator::start().await.unwrap();
    let calls = [
        (
            r#"create-internal-note({conversation-id: "9456", message: "A sample note", agent-id: some("a53b25da-f676-4c52-acac-58c9280aa23d"), created-at: some("2021-12-01T12:46:36.581Z[GMT]")})"#,
            r#"ok({id: "00000000-0000-4000-8000-000000000001", author-id: "a53b25da-f676-4c52-acac-58c9280aa23d", created-at: "2021-12-01T12:46:36.581Z", message: "A sample note"})"#,
        ),
        (
            r#"add-message({conversation-id: "9456", content: "Hi", direction: outbound, agent-id: none})"#,
            r#"err(invalid-input({field: "agentId", reason: "is required for outbound messages"}))"#,
        ),
        (
            r#"tag-conversation({conversation-id: "9456", tag-id: "eb31acbb-13f9-4ce7-abd3-44dd86266741"})"#,
            "ok({success: true})",
        ),
    ];
    for (call, expected) in calls {
        let output = run(&mut recipe(
            &wasmtime,
            &simulator,
            &["invoke", &component, call],
        ));
        assert_eq!(output.trim(), expected, "{call}");
    }
    let seen: Vec<_> = simulator
        .requests()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path.clone(),
                r.header("authorization").map(str::to_owned),
            )
        })
        .collect();
    let key = Some(DEFAULT_API_KEY.to_owned());
    assert_eq!(
        seen,
        [
            (
                "POST".into(),
                "/v1/conversations/9456/notes".into(),
                key.clone()
            ),
            (
                "PUT".into(),
                "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741".into(),
                key
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_build_runs_on_wasmtime_serve() {
    let Some(wasmtime) = wasmtime_cli() else {
        return;
    };
    let component = component_file(
        "wasmtime-cli/dixa_connector_service.wasm",
        dixa_host::EMBEDDED_SERVICE_COMPONENT,
    );
    let simulator = Simulator::start().await.unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap();
    let server = common::Server::spawn(
        recipe(
            &wasmtime,
            &simulator,
            &["serve", &component, &addr.to_string()],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null()),
    );
    common::tag_through_server(server, addr, &simulator).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_build_runs_on_jco_serve() {
    let Some(node) = node_recipe() else {
        return;
    };
    component_file(
        "dixa_connector_service.wasm",
        dixa_host::EMBEDDED_SERVICE_COMPONENT,
    );
    let simulator = Simulator::start().await.unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap();
    let config = serde_json::json!({
        "base-url": simulator.base_url(),
        "api-key": DEFAULT_API_KEY,
        "service-token": TEST_SERVICE_TOKEN,
    });
    // jco serve runs the server as a child node process: the process group
    // takes both down.
    let server = common::Server::spawn(
        Command::new("node")
            .arg("node_modules/@bytecodealliance/jco/dist/jco.js")
            .args(["serve", "../../target/dixa_connector_service.wasm"])
            .args(["--host", "127.0.0.1", "--port", &addr.port().to_string()])
            .args(["--jco-dir", "out-service"])
            .args(["--jco-map", "wasi:config/store@0.2.0-rc.1=../config.js"])
            .env("DIXA_CONFIG", config.to_string())
            .current_dir(&node)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    common::tag_through_server(server, addr, &simulator).await;
}
