//! `dixa mcp` driven by the official MCP TypeScript SDK
//! (`hosts/node/mcp-client.mjs`), over stdio and over streamable HTTP, against
//! the simulator: every tool, its schemas and annotations, and an error result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::BufRead;
use std::process::{Command, Stdio};

use dixa_simulator::client::{TEST_SERVICE_TOKEN, send_with_headers};
use dixa_simulator::{DEFAULT_API_KEY, Simulator};

mod common;
use common::{Server, node_recipe, run};

const CACHE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-cache");

/// Every request Dixa saw carries the key, added by the host.
fn assert_all_operations_reached_dixa(simulator: &Simulator) {
    let requests = simulator.requests();
    assert_eq!(requests.len(), 7, "{requests:#?}");
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(DEFAULT_API_KEY))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_drives_every_tool_over_stdio() {
    let Some(node) = node_recipe() else {
        return;
    };
    let simulator = Simulator::start().await.unwrap();
    let output = run(Command::new("node")
        .args(["mcp-client.mjs", "stdio"])
        .env("DIXA", env!("CARGO_BIN_EXE_dixa"))
        .env("DIXA_BASE_URL", simulator.base_url())
        .env("DIXA_API_KEY", DEFAULT_API_KEY)
        .env("DIXA_CACHE_DIR", CACHE)
        .current_dir(&node));
    assert!(
        output.contains("mcp stdio: all seven tools passed"),
        "{output}"
    );
    assert!(!output.contains(DEFAULT_API_KEY), "{output}");
    assert_all_operations_reached_dixa(&simulator);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_drives_every_tool_over_http_behind_the_token() {
    let simulator = Simulator::start().await.unwrap();
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
    let stderr = std::io::BufReader::new(server.0.stderr.take().unwrap());
    let banner = stderr
        .lines()
        .map(Result::unwrap)
        .find(|line| line.starts_with("Serving"))
        .unwrap();
    let addr: std::net::SocketAddr = banner
        .strip_prefix("Serving MCP tools at /mcp on http://")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
        .parse()
        .unwrap();
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
    assert_eq!(simulator.requests(), vec![], "refused before rmcp saw them");

    let Some(node) = node_recipe() else {
        return;
    };

    let output = run(Command::new("node")
        .args(["mcp-client.mjs", "http"])
        .env("MCP_URL", format!("http://{addr}/mcp"))
        .env("MCP_TOKEN", TEST_SERVICE_TOKEN)
        .current_dir(&node));
    assert!(
        output.contains("mcp http: all seven tools passed"),
        "{output}"
    );
    assert_all_operations_reached_dixa(&simulator);
    drop(server);
}
