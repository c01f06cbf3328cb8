//! `dixa demo`: every operation, with the examples from Dixa's API reference,
//! run through the real component against the in-process simulator.

use dixa_host::exit_code;
use dixa_host::{ApiKey, BuildError, Connector};
use dixa_simulator::examples::examples;
use dixa_simulator::{RecordedRequest, Simulator};
use serde_json::Value;

use crate::failure::Failure;
use crate::output::print_line;

/// `dixa demo`: each step's input, the requests that reached the simulator
/// and the output, on stdout; exit 1 if a step failed.
pub async fn run() -> Result<u8, Failure> {
    let steps = steps()
        .await
        .map_err(|e| Failure::new(exit_code::FAILURE, "setup", e.to_string()))?;
    let mut code = exit_code::OK;
    for step in steps {
        let mut lines = vec![format!("== {} {}", step.operation, step.input)];
        for request in &step.requests {
            lines.push(format!(
                "-> {} {} {}",
                request.method,
                request.path,
                String::from_utf8_lossy(&request.body)
            ));
        }
        // A blank line after each step.
        lines.push(match step.result {
            Ok(output) => format!("<- {output}\n"),
            Err(error) => {
                code = exit_code::FAILURE;
                format!("<- error: {error}\n")
            }
        });
        for line in lines {
            if let Err(stopped) = print_line(&line) {
                return Ok(stopped);
            }
        }
    }
    Ok(code)
}

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
    /// The simulator's key is not a valid key.
    #[error(transparent)]
    Key(#[from] dixa_host::InvalidKey),
}

/// Starts a simulator, runs the examples through the embedded component,
/// and reports each step. Needs a tokio runtime; no network, no real key.
pub async fn steps() -> Result<Vec<Step>, DemoError> {
    let simulator = Simulator::start().await?;
    let connector = Connector::builder()
        .base_url(simulator.base_url())
        .api_key(ApiKey::new(dixa_simulator::DEFAULT_API_KEY)?)
        .build()?;

    // One example per operation, in the order of the table: a new operation
    // joins the demo with its examples.
    let script = examples();
    let mut steps = Vec::new();
    let mut seen = 0;
    for (operation, input) in script {
        let result = connector.call_json(operation.name, input.clone()).await;
        let requests = simulator.requests();
        steps.push(Step {
            operation: operation.name,
            input,
            requests: requests.get(seen..).unwrap_or_default().to_vec(),
            result,
        });
        seen = requests.len();
    }
    Ok(steps)
}
