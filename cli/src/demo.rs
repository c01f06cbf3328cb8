//! `dixa demo`: the three operations with the examples from Dixa's API
//! reference, run through the real component against the in-process simulator.

use dixa_host::{ApiKey, BuildError, Connector};
use dixa_simulator::examples::{message_example, note_example, tag_example};
use dixa_simulator::{RecordedRequest, Simulator};
use serde_json::Value;

/// One operation of the demo.
#[derive(Debug)]
pub struct Step {
    /// WIT name of the operation.
    pub operation: &'static str,
    /// The input, as the CLI would take it.
    pub input: Value,
    /// What reached the simulator.
    pub requests: Vec<RecordedRequest>,
    /// The output as the CLI prints it, or the error.
    pub result: Result<Value, dixa_host::Error>,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The simulator could not listen on loopback.
    #[error("cannot start the simulator: {0}")]
    Simulator(#[from] std::io::Error),
    /// The connector could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Starts a simulator, runs the three examples through the embedded component,
/// and reports each step. Needs a tokio runtime; no network, no real key.
pub async fn run() -> Result<Vec<Step>, DemoError> {
    let simulator = Simulator::start().await?;
    let connector = Connector::builder()
        .base_url(simulator.base_url())
        .api_key(ApiKey::new(dixa_simulator::DEFAULT_API_KEY).ok())
        .build()?;

    let mut steps = Vec::new();
    let mut seen = 0;
    let mut record = |operation, input: Value, result: Result<Value, dixa_host::Error>| {
        let requests = simulator.requests();
        steps.push(Step {
            operation,
            input,
            requests: requests.get(seen..).unwrap_or_default().to_vec(),
            result,
        });
        seen = requests.len();
    };

    let result = connector.create_internal_note(note_example()).await;
    record(
        "create-internal-note",
        json(&note_example()),
        result.map(|o| json(&o)),
    );
    let result = connector.add_message(message_example()).await;
    record(
        "add-message",
        json(&message_example()),
        result.map(|o| json(&o)),
    );
    let result = connector.tag_conversation(tag_example()).await;
    record(
        "tag-conversation",
        json(&tag_example()),
        result.map(|o| json(&o)),
    );
    Ok(steps)
}

fn json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
