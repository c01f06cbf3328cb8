//! `dixa mcp` driven by the official MCP TypeScript SDK
//! (`hosts/node/mcp-client.mjs`), over stdio and over streamable HTTP, against
//! the simulator: every tool, its schemas and annotations, and an error result.

use std::io::BufRead;
use std::process::{Command, Stdio};

use dixa_simulator::client::{TEST_SERVICE_TOKEN, send_with_headers};
use dixa_simulator::{DEFAULT_API_KEY, Simulator};

use crate::common;
use common::{Server, node_recipe, run};

const CACHE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-cache");

/// Every request Dixa saw carries the key, added by the host.
/// Every operation with its example input, as the client script reads them.
fn examples_json() -> String {
    let examples: Vec<serde_json::Value> = dixa_simulator::examples::examples()
        .into_iter()
        .map(|(operation, input)| serde_json::json!([operation.name, input]))
        .collect();
    serde_json::Value::Array(examples).to_string()
}

fn assert_all_operations_reached_dixa(simulator: &Simulator) {
    let requests = simulator.requests();
    assert_eq!(
        requests.len(),
        dixa_contract::OPERATIONS.len(),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(DEFAULT_API_KEY))
    );
}

/// `dixa mcp --http-port 0` against `simulator`, behind the test token: the
/// server, the rest of its stderr, and the address its banner gives.
fn mcp_over_http(
    simulator: &Simulator,
) -> (
    Server,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
    std::net::SocketAddr,
) {
    let mut server = Server::spawn(
        Command::new(env!("CARGO_BIN_EXE_dixa"))
            .args([
                "--base-url",
                &simulator.base_url(),
                "mcp",
                "--http-port",
                "0",
            ])
            .env("DIXA_API_KEY", DEFAULT_API_KEY)
            .env("DIXA_SERVE_TOKEN", TEST_SERVICE_TOKEN)
            .env("DIXA_CACHE_DIR", CACHE)
            .stderr(Stdio::piped()),
    );
    let mut stderr = std::io::BufReader::new(server.0.stderr.take().unwrap()).lines();
    let addr = common::served_address(&mut stderr, "MCP tools at /mcp");
    (server, stderr, addr)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_drives_every_tool_over_stdio() {
    let Some(node) = node_recipe() else {
        return;
    };
    let simulator = Simulator::start().await.unwrap();
    let output = run(Command::new("node")
        .args(["mcp-client.mjs", "stdio"])
        .env("DIXA_EXAMPLES", examples_json())
        .env("DIXA", env!("CARGO_BIN_EXE_dixa"))
        .env("DIXA_BASE_URL", simulator.base_url())
        .env("DIXA_API_KEY", DEFAULT_API_KEY)
        .env("DIXA_CACHE_DIR", CACHE)
        .current_dir(&node));
    assert!(
        output.contains(&format!(
            "mcp stdio: all {} tools passed",
            dixa_contract::OPERATIONS.len()
        )),
        "{output}"
    );
    assert!(!output.contains(DEFAULT_API_KEY), "{output}");
    assert_all_operations_reached_dixa(&simulator);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_drives_every_tool_over_http_behind_the_token() {
    let simulator = Simulator::start().await.unwrap();
    let (server, _stderr, addr) = mcp_over_http(&simulator);
    let host = addr.to_string();
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let json = ("accept", "application/json, text/event-stream");
    let no_token = send_with_headers(addr, "POST", "/mcp", &[("host", &host), json], initialize)
        .await
        .unwrap();
    assert_eq!(no_token.status, 401);
    let bearer = format!("Bearer {TEST_SERVICE_TOKEN}");
    let rebound = send_with_headers(
        addr,
        "POST",
        "/mcp",
        &[("host", "evil.example"), ("authorization", &bearer), json],
        initialize,
    )
    .await
    .unwrap();
    assert_eq!(rebound.status, 421);
    // A page on another site, as the MCP specification requires.
    let cross_site = send_with_headers(
        addr,
        "POST",
        "/mcp",
        &[
            ("host", &host),
            ("origin", "https://evil.example"),
            ("authorization", &bearer),
            ("content-type", "application/json"),
            json,
        ],
        initialize,
    )
    .await
    .unwrap();
    assert_eq!(cross_site.status, 403, "{cross_site:?}");
    assert_eq!(
        cross_site.body,
        r#"{"error":"forbidden-origin","message":"the Origin header names a site this server does not serve","dixaMayHaveActed":false}"#
    );
    assert_eq!(simulator.requests(), vec![], "refused before rmcp saw them");

    let Some(node) = node_recipe() else {
        return;
    };

    let output = run(Command::new("node")
        .args(["mcp-client.mjs", "http"])
        .env("DIXA_EXAMPLES", examples_json())
        .env("MCP_URL", format!("http://{addr}/mcp"))
        .env("MCP_TOKEN", TEST_SERVICE_TOKEN)
        .current_dir(&node));
    assert!(
        output.contains(&format!(
            "mcp http: all {} tools passed",
            dixa_contract::OPERATIONS.len()
        )),
        "{output}"
    );
    assert_all_operations_reached_dixa(&simulator);
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_call_in_flight_when_sigterm_arrives_still_gets_its_result() {
    let simulator = Simulator::start().await.unwrap();
    // Dixa holds the call while the server is told to stop.
    simulator.inject(dixa_simulator::Fault::Delay(
        std::time::Duration::from_millis(1500),
    ));
    let (mut server, stderr, addr) = mcp_over_http(&simulator);
    let call = tokio::spawn(async move {
        let host = addr.to_string();
        let bearer = format!("Bearer {TEST_SERVICE_TOKEN}");
        let headers = [
            ("host", host.as_str()),
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-06-18"),
        ];
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create-internal-note","arguments":{"conversationId":"9456","message":"in flight"}}}"#;
        send_with_headers(addr, "POST", "/mcp", &headers, body).await
    });
    let reply = common::terminate_during_call(&simulator, server.0.id(), call)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    assert_eq!(
        answer["result"]["structuredContent"]["message"],
        "in flight"
    );
    // Sent once: a client of 2025-06-18 reads the structured content.
    assert_eq!(answer["result"]["content"], serde_json::json!([]));
    assert_eq!(server.0.wait().unwrap().code(), Some(0));
    let rest: Vec<String> = stderr.map(Result::unwrap).collect();
    assert!(
        rest.iter()
            .any(|line| line == "Stopped: every call in flight has finished"),
        "{rest:?}"
    );
}
