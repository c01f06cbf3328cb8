//! Batch mode: many operations from JSON Lines, run with bounded concurrency
//! under Dixa's rate limit, with a report that lets a re-run skip what succeeded.
//!
//! Each input line is one operation: `{"op": "add-message", ...the input...}`.
//! A re-run with the same report skips the lines that already succeeded, so an
//! interrupted batch can be resumed without sending a POST twice.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc};

use crate::{Connector, Error, parse_input};

/// Dixa's documented limit: 10 requests per second per API token.
pub const DIXA_REQUESTS_PER_SECOND: u32 = 10;

/// How a batch runs.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Operations in flight at once.
    pub concurrency: usize,
    /// Operations started per second at most.
    pub per_second: u32,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            concurrency: 4,
            per_second: DIXA_REQUESTS_PER_SECOND,
        }
    }
}

/// The outcome of one input line, as printed and as kept in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineResult {
    /// 1-based line number in the input.
    pub line: usize,
    /// SHA-256 of the line's text, so a report only matches the same input.
    pub hash: String,
    /// The operation, when the line named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// The operation's output on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error kind and message on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LineError>,
    /// True when an earlier run already did this line (from the report).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// Why a line failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// The error case, e.g. `invalid-input`.
    pub kind: String,
    /// What happened.
    pub message: String,
}

impl LineResult {
    /// Whether the line's operation succeeded (now or in an earlier run).
    pub fn succeeded(&self) -> bool {
        self.output.is_some()
    }
}

/// Successful lines of earlier runs, by line number, from a report file.
pub fn load_report(path: &Path) -> std::io::Result<HashMap<usize, LineResult>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<LineResult>(line).ok())
        .filter(LineResult::succeeded)
        .map(|result| (result.line, result))
        .collect())
}

/// Runs every line of `input`; results arrive on the returned channel as each
/// line completes (not in input order). Lines in `done` with the same text are
/// not run again: they come back with `skipped` set.
pub fn run(
    connector: Arc<Connector>,
    input: Vec<String>,
    done: HashMap<usize, LineResult>,
    options: BatchOptions,
) -> mpsc::UnboundedReceiver<LineResult> {
    let (results, receiver) = mpsc::unbounded_channel();
    let lines = Arc::new(Mutex::new(input.into_iter().enumerate()));
    let pace = Arc::new(Mutex::new(tokio::time::interval(
        Duration::from_secs(1) / options.per_second.max(1),
    )));
    let done = Arc::new(done);
    for _ in 0..options.concurrency.max(1) {
        let (connector, lines, pace, done, results) = (
            Arc::clone(&connector),
            Arc::clone(&lines),
            Arc::clone(&pace),
            Arc::clone(&done),
            results.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Some((index, text)) = lines.lock().await.next() else {
                    break;
                };
                let line = index + 1;
                let hash = hex_sha256(&text);
                let result = match done.get(&line) {
                    Some(earlier) if earlier.hash == hash => LineResult {
                        skipped: true,
                        ..earlier.clone()
                    },
                    _ => {
                        pace.lock().await.tick().await;
                        run_line(&connector, line, hash, &text).await
                    }
                };
                if results.send(result).is_err() {
                    break;
                }
            }
        });
    }
    receiver
}

/// The JSON of one line: the operation name plus its input fields.
#[derive(Deserialize)]
struct Line {
    op: String,
    #[serde(flatten)]
    input: serde_json::Map<String, Value>,
}

async fn run_line(connector: &Connector, line: usize, hash: String, text: &str) -> LineResult {
    let parsed = serde_json::from_str::<Line>(text)
        .map_err(|e| Error::InvalidInput(format!("line JSON: {e}")));
    let op = parsed.as_ref().ok().map(|l| l.op.clone());
    let outcome = match parsed {
        Ok(Line { op, input }) => dispatch(connector, &op, &Value::Object(input).to_string()).await,
        Err(e) => Err(e),
    };
    LineResult {
        line,
        hash,
        op,
        output: outcome.as_ref().ok().cloned(),
        error: outcome.err().map(|e| LineError {
            kind: e.kind().to_owned(),
            message: e.to_string(),
        }),
        skipped: false,
    }
}

/// Runs operation `op` with its input JSON.
async fn dispatch(connector: &Connector, op: &str, input: &str) -> Result<Value, Error> {
    match op {
        "create-internal-note" => output(connector.create_internal_note(parse_input(input)?).await),
        "add-message" => output(connector.add_message(parse_input(input)?).await),
        "tag-conversation" => output(connector.tag_conversation(parse_input(input)?).await),
        other => Err(Error::InvalidInput(format!(
            "op: unknown operation {other:?}; expected create-internal-note, add-message or tag-conversation"
        ))),
    }
}

fn output(result: Result<impl Serialize, Error>) -> Result<Value, Error> {
    let output = result?;
    serde_json::to_value(output).map_err(|e| Error::Component(format!("rendering the output: {e}")))
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Opens `path` for appending, creating it readable by this user only (0600):
/// it holds customer text.
pub fn open_report(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Appends `result` to the report as one JSON line with the key redacted,
/// flushed, so a crash loses nothing done.
pub fn append_to_report(
    report: &mut std::fs::File,
    result: &LineResult,
    connector: &Connector,
) -> std::io::Result<()> {
    let line = serde_json::to_string(result)?;
    let mut line = connector.redact(&line).into_owned().into_bytes();
    line.push(b'\n');
    report.write_all(&line)?;
    report.flush()
}
