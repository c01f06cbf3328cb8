//! `dixa_host::mcp::DixaTools` without a client in between: the tools mirror
//! the table of operations, outputs are redacted, failures are error results.
//! (`cli/tests/mcp.rs` drives `dixa mcp` with the official SDK.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use dixa_contract::OPERATIONS;
use dixa_host::mcp::DixaTools;
use dixa_tests::{DEFAULT_API_KEY, Fault, Harness};
use serde_json::{Value, json};

fn tools(harness: Harness) -> (DixaTools, dixa_tests::Simulator) {
    (
        DixaTools::new(Arc::new(harness.connector)),
        harness.simulator,
    )
}

fn arguments(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("arguments must be an object"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tools_are_the_table_of_operations_with_schemas_and_annotations() {
    let (tools, _simulator) = tools(Harness::start().await);
    let listed: Vec<Value> = tools
        .tools()
        .iter()
        .map(|tool| serde_json::to_value(tool).unwrap())
        .collect();
    assert_eq!(listed.len(), OPERATIONS.len(), "every operation is a tool");
    for (tool, operation) in listed.iter().zip(OPERATIONS) {
        assert_eq!(tool["name"], operation.name);
        assert_eq!(tool["description"], operation.description);
        assert_eq!(tool["inputSchema"]["type"], "object");
        assert_eq!(
            tool["inputSchema"]["additionalProperties"], false,
            "{}",
            operation.name
        );
        assert!(tool["inputSchema"].get("$schema").is_none());
        assert_eq!(tool["outputSchema"]["type"], "object");
        assert_eq!(
            tool["annotations"],
            json!({
                "readOnlyHint": operation.read_only,
                "destructiveHint": operation.destructive,
                "idempotentHint": operation.idempotent,
                "openWorldHint": true,
            }),
            "{}",
            operation.name
        );
    }
    let message = &listed[1]["inputSchema"];
    assert_eq!(
        message["required"],
        json!(["conversationId", "content", "direction"])
    );
    assert_eq!(
        message["properties"]["direction"]["enum"],
        json!(["inbound", "outbound"])
    );
    // Limits are described, not enforced by the schema: the component's error says more.
    assert!(message["properties"]["content"].get("maxLength").is_none());
    let description = message["properties"]["content"]["description"]
        .as_str()
        .unwrap();
    assert!(description.contains("65536 bytes"), "{description}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_that_echoes_the_key_is_redacted() {
    let harness = Harness::start().await;
    harness.simulator.inject(Fault::Body(format!(
        r#"{{"data":{{"id":"n","authorId":"a","createdAt":"2021-12-01T12:46:36.581Z","csid":1,"message":"echo {DEFAULT_API_KEY}"}}}}"#
    )));
    let (tools, _simulator) = tools(harness);
    let result = tools
        .call(
            "create-internal-note",
            arguments(json!({"conversationId": "9456", "message": "hi"})),
        )
        .await;
    let result = serde_json::to_value(&result).unwrap();
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"]["message"], "echo <redacted>");
    assert!(!result.to_string().contains(DEFAULT_API_KEY), "{result}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_error_results_carrying_the_error_json() {
    let harness = Harness::start().await;
    harness
        .simulator
        .inject(Fault::status(404, "Conversation not found"));
    let (tools, simulator) = tools(harness);
    let refused = tools
        .call(
            "add-message",
            arguments(json!({"conversationId": "9456", "content": "Hi", "direction": "outbound"})),
        )
        .await;
    let refused = serde_json::to_value(&refused).unwrap();
    assert_eq!(refused["isError"], true);
    assert!(refused.get("structuredContent").is_none());
    let error: Value =
        serde_json::from_str(refused["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        error,
        json!({"error": "invalid-input", "message": "invalid input: agentId: is required for outbound messages", "dixaMayHaveActed": false, "field": "agentId"})
    );
    assert_eq!(simulator.requests().len(), 0);

    let missing = tools
        .call(
            "list-internal-notes",
            arguments(json!({"conversationId": "9456"})),
        )
        .await;
    let missing = serde_json::to_value(&missing).unwrap();
    assert_eq!(missing["isError"], true);
    let error: Value =
        serde_json::from_str(missing["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(error["error"], "not-found");
    assert_eq!(error["dixaMayHaveActed"], false);
}
