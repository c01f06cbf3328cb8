//! `dixa_mcp::DixaTools` without a client in between: the tools mirror
//! the table of operations, outputs are redacted, failures are error results.
//! (`cli/tests/all/mcp.rs` drives `dixa mcp` with the official SDK.)

use std::sync::Arc;

use dixa_contract::OPERATIONS;
use dixa_mcp::DixaTools;
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

/// Serves `tools` over HTTP on 127.0.0.1 behind the test token; the address.
async fn serve_http(tools: DixaTools) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = dixa_tests::ServiceToken::new(dixa_tests::TEST_SERVICE_TOKEN).unwrap();
    tokio::spawn(dixa_mcp::serve_http(
        tools,
        listener,
        dixa_tests::ServeOptions::new(token),
        std::future::pending(),
    ));
    addr
}

/// Sends the raw HTTP/1.1 `request` to `addr`: the whole reply.
async fn exchange(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
}

#[tokio::test(flavor = "multi_thread")]
async fn the_output_is_sent_once_as_structured_content_or_as_text_to_older_clients() {
    let harness = Harness::start().await;
    let addr = serve_http(DixaTools::new(Arc::new(harness.connector))).await;
    let result = |reply: String| -> Value {
        let body = reply.split("\r\n\r\n").nth(1).unwrap();
        serde_json::from_str::<Value>(body).unwrap()["result"].clone()
    };
    let current = result(exchange(addr, &raw_call_of(addr, "now", "2025-06-18")).await);
    assert_eq!(current["content"], json!([]));
    assert_eq!(current["structuredContent"]["message"], "now");
    let older = result(exchange(addr, &raw_call_of(addr, "then", "2025-03-26")).await);
    assert!(older.get("structuredContent").is_none(), "{older}");
    let text: Value = serde_json::from_str(older["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["message"], "then");
}

/// A `tools/call` of `create-internal-note` with `message`, as raw HTTP/1.1
/// to `dixa mcp`'s endpoint at `addr`.
fn raw_call(addr: std::net::SocketAddr, message: &str) -> String {
    raw_call_of(addr, message, "2025-06-18")
}

/// [`raw_call`] from a client of protocol revision `revision`.
fn raw_call_of(addr: std::net::SocketAddr, message: &str, revision: &str) -> String {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "create-internal-note", "arguments": {"conversationId": "9456", "message": message}},
    })
    .to_string();
    format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: {revision}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        dixa_tests::TEST_SERVICE_TOKEN,
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_whose_callers_left_are_never_sent_and_pending_calls_are_bounded() {
    use tokio::io::AsyncWriteExt;
    let harness = Harness::with(|builder| builder.max_concurrent_calls(1)).await;
    // Dixa holds the first call while the others wait for its slot.
    harness
        .simulator
        .inject(Fault::Delay(std::time::Duration::from_secs(4)));
    let simulator = harness.simulator;
    let addr = serve_http(DixaTools::new(Arc::new(harness.connector)).max_pending_calls(4)).await;
    let answer = |message: String| async move { exchange(addr, &raw_call(addr, &message)).await };
    let held = tokio::spawn(answer("held".into()));
    while simulator.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // Ten callers leave while their calls wait for the slot.
    let left: Vec<_> = (0..10)
        .map(|i| {
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let call = raw_call(addr, &format!("left {i}"));
                stream.write_all(call.as_bytes()).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            })
        })
        .collect();
    for caller in left {
        caller.await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // Four calls may be pending: the held one and three more; a fifth is refused.
    let waiting: Vec<_> = (0..3)
        .map(|i| tokio::spawn(answer(format!("waits {i}"))))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refused = answer("one too many".into()).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.ends_with(
            r#"{"error":"overloaded","message":"too many tool calls are pending: try again later","dixaMayHaveActed":false}"#
        ),
        "{refused}"
    );
    assert!(held.await.unwrap().starts_with("HTTP/1.1 200"));
    for call in waiting {
        let reply = call.await.unwrap();
        assert!(reply.contains(r#""isError":false"#), "{reply}");
    }
    let mut sent: Vec<String> = simulator
        .requests()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["message"].to_string())
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [r#""held""#, r#""waits 0""#, r#""waits 1""#, r#""waits 2""#],
        "no call whose caller left reached Dixa"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_calls_past_the_bound_are_overloaded_error_results() {
    let harness = Harness::start().await;
    harness
        .simulator
        .inject(Fault::Delay(std::time::Duration::from_secs(1)));
    let tools = DixaTools::new(Arc::new(harness.connector)).max_pending_calls(1);
    let note = || arguments(json!({"conversationId": "9456", "message": "hi"}));
    let (first, second) = tokio::join!(tools.call("create-internal-note", note()), async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        tools.call("create-internal-note", note()).await
    });
    assert_eq!(serde_json::to_value(&first).unwrap()["isError"], false);
    assert_eq!(
        serde_json::to_value(&second).unwrap(),
        json!({
            "content": [{"type": "text", "text": r#"{"error":"overloaded","message":"too many tool calls are pending: try again later","dixaMayHaveActed":false}"#}],
            "isError": true,
            "resultType": "complete",
        })
    );
    assert_eq!(harness.simulator.requests().len(), 1);
}
