//! Every front takes exactly what the operation takes: each operation's
//! largest input (`dixa_simulator::examples::largest_inputs`), written with
//! every character escaped, goes through the library, `dixa serve` (the host's
//! guard and the component's HTTP front) and MCP over HTTP, and reaches Dixa
//! once through each. (`cli/tests/all/cli.rs` sends the same through the CLI
//! and `batch`.)

use std::sync::Arc;

use dixa_contract::Operation;
use dixa_contract::path;
use dixa_mcp::DixaTools;
use dixa_simulator::client::send_with_headers;
use dixa_simulator::examples::{escaped_json, largest_inputs};
use dixa_tests::{Harness, TEST_SERVICE_TOKEN, connector_for, serve};
use serde_json::Value;

/// The ids of `input` that `operation`'s HTTP route takes in its path.
fn route_path(operation: &Operation, input: &Value) -> String {
    let ids: Vec<String> = path::placeholders(operation.service_path)
        .map(|field| input[field].as_str().unwrap_or_default().to_owned())
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    path::fill(operation.service_path, &ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_input_of_each_operation_passes_every_front() {
    let harness = Harness::start().await;
    let simulator = harness.simulator;
    let connector = Arc::new(harness.connector);
    let service = serve(connector_for(&simulator, |builder| {
        builder.component(dixa_tests::ComponentSource::EmbeddedService)
    }))
    .await;
    let mcp = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let token = dixa_tests::ServiceToken::new(TEST_SERVICE_TOKEN).unwrap();
        tokio::spawn(dixa_mcp::serve_http(
            DixaTools::new(Arc::clone(&connector)),
            listener,
            dixa_tests::ServeOptions::new(token),
            std::future::pending(),
        ));
        addr
    };
    let authorization = format!("Bearer {TEST_SERVICE_TOKEN}");

    let mut failures = Vec::new();
    for (operation, input) in largest_inputs() {
        let escaped = escaped_json(&input);
        let before = simulator.requests().len();

        let library = connector
            .call_json(operation.name, serde_json::from_str(&escaped).unwrap())
            .await;
        if let Err(error) = library {
            failures.push(format!("{} through the library: {error}", operation.name));
        }

        let host = service.to_string();
        let reply = send_with_headers(
            service,
            operation.service_method.as_str(),
            &route_path(operation, &input),
            &[
                ("host", &host),
                ("authorization", &authorization),
                ("content-type", "application/json"),
            ],
            &escaped,
        )
        .await
        .unwrap();
        if reply.status != 200 {
            let body: String = reply.body.chars().take(300).collect();
            failures.push(format!(
                "{} through dixa serve: {} {body}",
                operation.name, reply.status
            ));
        }

        let envelope = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{}","arguments":{escaped}}}}}"#,
            operation.name
        );
        let host = mcp.to_string();
        let reply = send_with_headers(
            mcp,
            "POST",
            "/mcp",
            &[
                ("host", &host),
                ("authorization", &authorization),
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("mcp-protocol-version", "2025-06-18"),
            ],
            &envelope,
        )
        .await
        .unwrap();
        let result: Value = serde_json::from_str(&reply.body).unwrap_or_default();
        if reply.status != 200 || result["result"]["isError"] != Value::Bool(false) {
            let body: String = reply.body.chars().take(300).collect();
            failures.push(format!(
                "{} through MCP: {} {body}",
                operation.name, reply.status
            ));
        }

        let sent = simulator.requests().len() - before;
        if sent != 3 {
            failures.push(format!(
                "{}: {sent} requests reached Dixa, not 3",
                operation.name
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
