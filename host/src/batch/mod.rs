//! Batch mode: many operations from JSON Lines, streamed with bounded
//! concurrency, each recorded in a [`Report`] so that a re-run never sends a
//! line twice that succeeded or may have succeeded.
//!
//! Each input line is one operation: `{"op": "add-message", "id"?: "...", ...the input...}`.
//!
//! - A line's identity is its `id`, else the SHA-256 of the RFC 8785 (JCS)
//!   canonical JSON of the line without `id`: never its position, so
//!   inserting, deleting or reordering lines changes nothing for the others.
//! - Before a line's request may go out, a `started` record is synced to the
//!   report; after it, the outcome. On a re-run, a line that succeeded is
//!   skipped; one that failed before Dixa could act runs again; one whose
//!   outcome is unknown (started but never finished, or failed after Dixa may
//!   have acted) runs again only if its operation is idempotent. A POST is
//!   then reported as `outcome-unknown` until the user checks Dixa and says
//!   [`ResendUnknown`] or [`Report::mark_done`].
//! - Memory stays bounded: at most `concurrency` lines run at once, and
//!   results wait for in-order output in a window of fixed size.

mod report;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use dixa_contract::{OPERATIONS, Operation};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::task::JoinSet;

use report::Record;
pub use report::{LineState, Report, ReportError};

use crate::per_core::PerCore;
use crate::{Connector, ConnectorError, Error, ErrorBody};

/// Longest input line, in bytes; a longer one fails without being kept in
/// memory. The largest input of any operation, plus the line's `id` and `op`
/// (escaped, at most six bytes per byte), so a line refuses nothing the
/// library takes.
pub const MAX_LINE_BYTES: usize =
    dixa_contract::operations::MAX_INPUT_BYTES + 6 * MAX_ID_BYTES + 1024;
/// Longest `id`, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Times a line that ended rate-limited (or at its deadline before anything
/// was sent) is queued again before it counts as failed.
pub const MAX_REQUEUES: u32 = 5;
/// Most lines in flight at once.
pub const MAX_CONCURRENCY: usize = 256;
/// Finished lines that may wait for an earlier one, per line in flight.
const WINDOW_PER_WORKER: usize = 16;

/// What runs a line's operation: the [`Connector`], or a stand-in in tests.
pub trait Operations: Send + Sync + 'static {
    /// Runs `operation` on its camelCase JSON input.
    fn call(
        &self,
        operation: &'static Operation,
        input: Value,
    ) -> impl Future<Output = Result<Value, Error>> + Send;

    /// Waits until a rate-limit pause is over, before a line is tried again.
    fn until_rate_limit_resumed(&self) -> impl Future<Output = ()> + Send;

    /// `text` with any secret removed, before it is written to the report.
    fn redact<'t>(&self, text: &'t str) -> Cow<'t, str>;
}

impl Operations for Connector {
    async fn call(&self, operation: &'static Operation, input: Value) -> Result<Value, Error> {
        self.call_json(operation.name, input).await
    }

    async fn until_rate_limit_resumed(&self) {
        Connector::until_rate_limit_resumed(self).await;
    }

    fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        Connector::redact(self, text)
    }
}

/// Which outcome-unknown POST lines to send again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ResendUnknown {
    /// None: they are reported as `outcome-unknown` (the default).
    #[default]
    None,
    /// All of them.
    All,
    /// The lines with these identities.
    Only(HashSet<String>),
}

impl ResendUnknown {
    fn includes(&self, id: &str) -> bool {
        match self {
            ResendUnknown::None => false,
            ResendUnknown::All => true,
            ResendUnknown::Only(ids) => ids.contains(id),
        }
    }
}

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Lines in flight at once (the connector's rate limit paces them).
    pub concurrency: usize,
    /// Outcome-unknown POST lines to send again.
    pub resend_unknown: ResendUnknown,
    /// Runs each line's call on one of these current-thread runtimes instead
    /// of the caller's (see [`PerCore`]).
    pub per_core: Option<Arc<PerCore>>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            concurrency: 4,
            resend_unknown: ResendUnknown::None,
            per_core: None,
        }
    }
}

/// How one line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineStatus {
    /// The operation succeeded now.
    Succeeded,
    /// An earlier run did it (or the user confirmed it): not sent again.
    Skipped,
    /// The operation or the line failed.
    Failed,
    /// An earlier run may have done it; not sent again until the user decides.
    OutcomeUnknown,
}

/// The outcome of one input line, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineResult {
    /// 1-based line number in this run's input.
    pub line: u64,
    /// The line's identity, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The operation, when the line named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// How it ended.
    pub status: LineStatus,
    /// The operation's output, when it succeeded now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Why it failed, or why its outcome is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// Counts of a batch's lines by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Non-blank input lines.
    pub lines: u64,
    /// Lines whose operation succeeded in this run.
    pub succeeded: u64,
    /// Lines an earlier run did (or the user marked done): not sent again.
    pub skipped: u64,
    /// Lines that failed, and may be run again.
    pub failed: u64,
    /// Lines whose outcome is unknown: a `POST` Dixa may have carried out.
    pub outcome_unknown: u64,
}

impl Summary {
    /// Whether every line is done (succeeded now or earlier).
    pub fn all_done(&self) -> bool {
        self.failed == 0 && self.outcome_unknown == 0
    }

    fn count(&mut self, status: LineStatus) {
        self.lines += 1;
        match status {
            LineStatus::Succeeded => self.succeeded += 1,
            LineStatus::Skipped => self.skipped += 1,
            LineStatus::Failed => self.failed += 1,
            LineStatus::OutcomeUnknown => self.outcome_unknown += 1,
        }
    }
}

/// Why a batch stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The report could not be written: no further line is sent.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The input could not be read.
    #[error("reading the input: {0}")]
    Input(std::io::Error),
    /// The output callback failed.
    #[error("writing a result: {0}")]
    Output(std::io::Error),
    /// A line's task failed.
    #[error("a line's task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs every line of `input` through `operations`, recording each in
/// `report`, and hands the results to `on_result` in input order.
///
/// Input is read while lines run, so a producer that waits for results is
/// served. On a fatal error (the report, the input, the output) no further
/// line starts, the lines in flight finish and record their outcome, and the
/// first error is returned.
pub async fn run<O: Operations, R: AsyncBufRead + Unpin>(
    operations: Arc<O>,
    input: R,
    report: Report,
    options: &BatchOptions,
    mut on_result: impl FnMut(&LineResult) -> std::io::Result<()>,
) -> Result<Summary, BatchError> {
    let concurrency = options.concurrency.clamp(1, MAX_CONCURRENCY);
    let window = (concurrency * WINDOW_PER_WORKER) as u64;
    let report = Arc::new(Mutex::new(report));
    let mut lines = LineReader::new(input);
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut tasks = JoinSet::new();
    // Finished lines waiting for an earlier one; `None` for a blank line.
    let mut finished: BTreeMap<u64, Option<LineResult>> = BTreeMap::new();
    let (mut next_in, mut next_out, mut at_end) = (1u64, 1u64, false);
    let mut summary = Summary::default();
    let mut fatal: Option<BatchError> = None;
    loop {
        while fatal.is_none()
            && let Some(result) = finished.remove(&next_out)
        {
            if let Some(result) = result {
                summary.count(result.status);
                if let Err(e) = on_result(&result) {
                    fatal = Some(BatchError::Output(e));
                }
            }
            next_out += 1;
        }
        let may_read =
            fatal.is_none() && !at_end && tasks.len() < concurrency && next_in - next_out < window;
        if !may_read && tasks.is_empty() {
            match fatal {
                Some(error) => return Err(error),
                None if at_end && finished.is_empty() => return Ok(summary),
                // The window is full of finished lines: output them first.
                None => continue,
            }
        }
        tokio::select! {
            read = lines.next(), if may_read => match read {
                Err(e) => fatal = Some(BatchError::Input(e)),
                Ok(None) => at_end = true,
                Ok(Some(raw)) => {
                    let line = next_in;
                    next_in += 1;
                    let plan = {
                        let report = report.lock().unwrap_or_else(PoisonError::into_inner);
                        plan(line, raw, &mut seen, &report, &options.resend_unknown)
                    };
                    match plan {
                        Plan::Blank => {
                            finished.insert(line, None);
                        }
                        Plan::Done(result) => {
                            finished.insert(line, Some(*result));
                        }
                        Plan::Run(job) => {
                            let operations = Arc::clone(&operations);
                            let run = run_line(operations, Arc::clone(&report), job);
                            match &options.per_core {
                                None => tasks.spawn(run),
                                Some(cores) => {
                                    let on_core = cores.spawn(run);
                                    tasks.spawn(async move { on_core.await? })
                                }
                            };
                        }
                    }
                }
            },
            Some(joined) = tasks.join_next() => match joined.map_err(BatchError::from).and_then(|r| r) {
                Ok(result) => {
                    finished.insert(result.line, Some(result));
                }
                Err(error) => {
                    fatal.get_or_insert(error);
                }
            },
        }
    }
}

/// A line that is to be sent.
struct Job {
    line: u64,
    id: String,
    /// SHA-256 of the line's canonical JSON without `id`.
    digest: String,
    operation: &'static Operation,
    input: Value,
}

/// What to do with one input line.
enum Plan {
    Blank,
    /// Nothing to send: the result is known.
    Done(Box<LineResult>),
    Run(Job),
}

/// Decides what to do with input line `line`, registering its identity in `seen`.
fn plan(
    line: u64,
    raw: Result<Vec<u8>, LineTooLong>,
    seen: &mut HashMap<String, u64>,
    report: &Report,
    resend_unknown: &ResendUnknown,
) -> Plan {
    let failed = |id: Option<String>, op: Option<&str>, error: ConnectorError| {
        Plan::Done(Box::new(LineResult {
            line,
            id,
            op: op.map(str::to_owned),
            status: LineStatus::Failed,
            output: None,
            error: Some(error.to_body()),
        }))
    };
    let text = match raw {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                return failed(
                    None,
                    None,
                    ConnectorError::invalid("input", "the line is not valid UTF-8"),
                );
            }
        },
        Err(LineTooLong) => {
            let reason = format!("the line is longer than {MAX_LINE_BYTES} bytes");
            return failed(None, None, ConnectorError::invalid("input", reason));
        }
    };
    if text.trim().is_empty() {
        return Plan::Blank;
    }
    let mut fields = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => {
            return failed(
                None,
                None,
                ConnectorError::invalid("input", "the line must be a JSON object"),
            );
        }
        Err(e) => return failed(None, None, ConnectorError::invalid("input", e)),
    };
    let (id, digest) = match identity(&mut fields) {
        Ok(identity) => identity,
        Err(error) => return failed(None, None, error),
    };
    let op_name = fields.get("op").and_then(Value::as_str).map(str::to_owned);
    if let Some(first) = seen.get(&id) {
        let reason =
            format!("duplicate of line {first}: give the lines different ids to send both");
        return failed(
            Some(id),
            op_name.as_deref(),
            ConnectorError::invalid("id", reason),
        );
    }
    seen.insert(id.clone(), line);
    if report.digest(&id).is_some_and(|earlier| earlier != digest) {
        let reason = "an earlier run used this id for other content: give this line a new id";
        return failed(
            Some(id),
            op_name.as_deref(),
            ConnectorError::invalid("id", reason),
        );
    }
    let operation = match fields.remove("op") {
        Some(Value::String(name)) => match OPERATIONS.iter().find(|o| o.name == name) {
            Some(operation) => operation,
            None => {
                let reason = format!(
                    "unknown operation {name:?}; expected one of {}",
                    operation_names()
                );
                return failed(Some(id), Some(&name), ConnectorError::invalid("op", reason));
            }
        },
        _ => {
            let reason = format!("must name the operation, one of {}", operation_names());
            return failed(Some(id), None, ConnectorError::invalid("op", reason));
        }
    };
    let known = |status, error| {
        Plan::Done(Box::new(LineResult {
            line,
            id: Some(id.clone()),
            op: Some(operation.name.to_owned()),
            status,
            output: None,
            error,
        }))
    };
    match report.state(&id) {
        Some(LineState::Done) => return known(LineStatus::Skipped, None),
        Some(LineState::Unknown) if !operation.idempotent && !resend_unknown.includes(&id) => {
            let message = format!(
                "an earlier run sent this line and cannot tell whether Dixa acted: check the \
                 conversation in Dixa, then re-run with --mark-done {id} if it is there or \
                 --resend-unknown={id} if it is not"
            );
            let error = ErrorBody::new("outcome-unknown", message, true);
            return known(LineStatus::OutcomeUnknown, Some(error));
        }
        _ => {}
    }
    Plan::Run(Job {
        line,
        id,
        digest,
        operation,
        input: Value::Object(fields),
    })
}

/// The line's identity and the digest of its content: the SHA-256 of the
/// RFC 8785 canonical JSON of the line without `id` (removed from `fields`),
/// which is also the identity unless the line gives an `id`.
fn identity(fields: &mut Map<String, Value>) -> Result<(String, String), ConnectorError> {
    let id = fields.remove("id");
    let canonical = serde_json_canonicalizer::to_vec(&*fields)
        .map_err(|e| ConnectorError::invalid("input", e))?;
    let digest = hex::encode(Sha256::digest(canonical));
    match id {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= MAX_ID_BYTES => Ok((id, digest)),
        Some(_) => Err(ConnectorError::invalid(
            "id",
            format!("must be a non-empty string of at most {MAX_ID_BYTES} bytes"),
        )),
        None => Ok((digest.clone(), digest)),
    }
}

fn operation_names() -> String {
    dixa_contract::operations::names().join(", ")
}

/// Runs one line: `started` synced to the report first, the outcome after.
/// A line that ends rate-limited is queued again once the connector's pause
/// (Dixa's `Retry-After`, kept for every caller) is over: Dixa did not act.
async fn run_line<O: Operations>(
    operations: Arc<O>,
    report: Arc<Mutex<Report>>,
    job: Job,
) -> Result<LineResult, BatchError> {
    let Job {
        line,
        id,
        digest,
        operation,
        input,
    } = job;
    let op = operation.name.to_owned();
    let started = Record::Started {
        id: id.clone(),
        digest,
        line,
        op: op.clone(),
    };
    append(&report, started).await?;
    let mut requeues = 0;
    let outcome = loop {
        // A 429 pause is waited out here, not inside the call's deadline.
        operations.until_rate_limit_resumed().await;
        match operations.call(operation, input.clone()).await {
            Err(error) if is_requeued(&error) && requeues < MAX_REQUEUES => requeues += 1,
            outcome => break outcome,
        }
    };
    let (record, result) = match outcome {
        Ok(output) => {
            // The report holds customer text; the key never goes into it.
            let output = crate::connector::redact_json(output, |text| operations.redact(text));
            let record = Record::Succeeded {
                id: id.clone(),
                line,
                op: op.clone(),
                output: output.clone(),
            };
            (record, (LineStatus::Succeeded, Some(output), None))
        }
        Err(error) => {
            let mut error = error.to_body();
            error.message = operations.redact(&error.message).into_owned();
            let record = Record::Failed {
                id: id.clone(),
                line,
                op: op.clone(),
                error: error.clone(),
            };
            (record, (LineStatus::Failed, None, Some(error)))
        }
    };
    append(&report, record).await?;
    let (status, output, error) = result;
    Ok(LineResult {
        line,
        id: Some(id),
        op: Some(op),
        status,
        output,
        error,
    })
}

/// Whether a line that ended with `error` goes back in the queue: Dixa's
/// rate limit, or a deadline spent before anything went to Dixa (waiting for
/// the rate limit or a call slot). Dixa did not act in either case.
fn is_requeued(error: &Error) -> bool {
    match error {
        Error::Connector(ConnectorError::RateLimited { .. }) => true,
        Error::Deadline {
            dixa_may_have_acted,
            ..
        } => !dixa_may_have_acted,
        _ => false,
    }
}

/// Appends `record` to the report and syncs it, off the async threads.
async fn append(report: &Arc<Mutex<Report>>, record: Record) -> Result<(), BatchError> {
    let report = Arc::clone(report);
    tokio::task::spawn_blocking(move || {
        report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(&record)
    })
    .await??;
    Ok(())
}

/// A line longer than [`MAX_LINE_BYTES`].
struct LineTooLong;

/// Reads input lines one at a time, never holding more than
/// [`MAX_LINE_BYTES`] of one. Cancel-safe: a partly read line is kept in the
/// reader, so [`LineReader::next`] can race other work in a `select!`.
struct LineReader<R> {
    input: R,
    line: Vec<u8>,
    started: bool,
    too_long: bool,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    fn new(input: R) -> Self {
        LineReader {
            input,
            line: Vec::new(),
            started: false,
            too_long: false,
        }
    }

    /// The next line without its `\n` (or `\r\n`); `None` at the end.
    async fn next(&mut self) -> std::io::Result<Option<Result<Vec<u8>, LineTooLong>>> {
        loop {
            let available = self.input.fill_buf().await?;
            if available.is_empty() {
                break;
            }
            self.started = true;
            let (chunk, used, done) = match available.iter().position(|b| *b == b'\n') {
                Some(end) => (available.get(..end).unwrap_or_default(), end + 1, true),
                None => (available, available.len(), false),
            };
            if !self.too_long && self.line.len() + chunk.len() <= MAX_LINE_BYTES {
                self.line.extend_from_slice(chunk);
            } else {
                self.too_long = true;
                self.line = Vec::new();
            }
            self.input.consume(used);
            if done {
                break;
            }
        }
        if !std::mem::take(&mut self.started) {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.too_long) {
            return Ok(Some(Err(LineTooLong)));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(Ok(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::time::Duration;

    type Answer = Box<dyn Fn(&Value, usize) -> (Duration, Result<Value, Error>) + Send + Sync>;

    /// Operations that record each call and answer from `answer(input, call index)`.
    struct Fake {
        answer: Answer,
        calls: Mutex<Vec<(String, Value)>>,
        in_flight: AtomicUsize,
        peak_in_flight: AtomicUsize,
        /// Waits for the end of a rate-limit pause.
        resumed: AtomicUsize,
    }

    impl Fake {
        fn new(answer: Answer) -> Arc<Self> {
            Arc::new(Fake {
                answer,
                calls: Mutex::new(Vec::new()),
                in_flight: AtomicUsize::new(0),
                peak_in_flight: AtomicUsize::new(0),
                resumed: AtomicUsize::new(0),
            })
        }

        fn ok() -> Arc<Self> {
            Fake::new(Box::new(|_, _| {
                (Duration::ZERO, Ok(serde_json::json!({"success": true})))
            }))
        }

        /// The conversation ids of the calls so far, sorted: lines run
        /// concurrently, so only which calls were made, and how often, is fixed.
        fn called(&self) -> Vec<String> {
            let calls = self.calls.lock().unwrap();
            let mut called: Vec<String> = calls
                .iter()
                .map(|(_, input)| input["conversationId"].as_str().unwrap().to_owned())
                .collect();
            called.sort();
            called
        }
    }

    impl Operations for Fake {
        async fn call(&self, operation: &'static Operation, input: Value) -> Result<Value, Error> {
            let index = {
                let mut calls = self.calls.lock().unwrap();
                calls.push((operation.name.to_owned(), input.clone()));
                calls.len() - 1
            };
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
            let (delay, result) = (self.answer)(&input, index);
            tokio::time::sleep(delay).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            result
        }

        async fn until_rate_limit_resumed(&self) {
            self.resumed.fetch_add(1, Ordering::SeqCst);
        }

        fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
            Cow::Owned(text.replace("SECRET", "<redacted>"))
        }
    }

    fn note(conversation: &str) -> String {
        format!(
            r#"{{"op":"create-internal-note","conversationId":"{conversation}","message":"hi"}}"#
        )
    }

    fn tag(conversation: &str) -> String {
        format!(r#"{{"op":"tag-conversation","conversationId":"{conversation}","tagId":"t"}}"#)
    }

    struct Run {
        results: Vec<LineResult>,
        summary: Summary,
    }

    async fn run_batch(
        fake: &Arc<Fake>,
        input: &[u8],
        report: &std::path::Path,
        options: &BatchOptions,
    ) -> Run {
        let mut results = Vec::new();
        let summary = run(
            Arc::clone(fake),
            input,
            Report::open(report).unwrap(),
            options,
            |result| {
                results.push(result.clone());
                Ok(())
            },
        )
        .await
        .unwrap();
        Run { results, summary }
    }

    fn statuses(run: &Run) -> Vec<(u64, LineStatus)> {
        run.results.iter().map(|r| (r.line, r.status)).collect()
    }

    #[tokio::test]
    async fn inserting_or_reordering_lines_never_resends_one_that_succeeded() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.jsonl");
        let fake = Fake::ok();
        let first = format!("{}\n{}\n{}\n", note("1"), note("2"), tag("3"));
        let run1 = run_batch(&fake, first.as_bytes(), &report, &BatchOptions::default()).await;
        assert_eq!(run1.summary.succeeded, 3);
        assert_eq!(fake.called(), ["1", "2", "3"]);

        // A new line on top, the old ones reordered, one with its keys reordered.
        let reordered = r#"{"message":"hi","conversationId":"1","op":"create-internal-note"}"#;
        let second = format!(
            "{}\n{}\n\n{}\n{reordered}\n",
            note("0"),
            tag("3"),
            note("2")
        );
        let run2 = run_batch(&fake, second.as_bytes(), &report, &BatchOptions::default()).await;
        assert_eq!(
            statuses(&run2),
            [
                (1, LineStatus::Succeeded),
                (2, LineStatus::Skipped),
                (4, LineStatus::Skipped),
                (5, LineStatus::Skipped),
            ]
        );
        assert_eq!(fake.called(), ["0", "1", "2", "3"]);
        assert_eq!(run2.summary.lines, 4, "the blank line is not counted");
    }

    #[tokio::test]
    async fn a_line_is_identified_by_its_id_else_by_its_canonical_json() {
        let mut fields: Map<String, Value> =
            serde_json::from_str(r#"{"op":"x","b":1.0,"a":"é"}"#).unwrap();
        let (hashed, digest) = identity(&mut fields).unwrap();
        assert_eq!(hashed, digest);
        // SHA-256 of the JCS form {"a":"é","b":1,"op":"x"}.
        assert_eq!(
            hashed,
            hex::encode(Sha256::digest(r#"{"a":"é","b":1,"op":"x"}"#.as_bytes()))
        );
        let mut with_id: Map<String, Value> =
            serde_json::from_str(r#"{"id":"order-17","op":"x"}"#).unwrap();
        let (id, digest) = identity(&mut with_id).unwrap();
        assert_eq!(id, "order-17");
        assert_eq!(
            digest,
            hex::encode(Sha256::digest(r#"{"op":"x"}"#.as_bytes()))
        );
        assert!(
            !with_id.contains_key("id"),
            "the id is not part of the input"
        );
        for bad in [r#"{"id":""}"#, r#"{"id":17}"#] {
            let mut fields: Map<String, Value> = serde_json::from_str(bad).unwrap();
            assert_eq!(
                identity(&mut fields)
                    .unwrap_err()
                    .to_body()
                    .field
                    .as_deref(),
                Some("id")
            );
        }
    }

    #[tokio::test]
    async fn the_same_line_twice_is_refused_unless_the_ids_differ() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake::ok();
        let with_id = |id: &str| {
            format!(
                r#"{{"id":"{id}","op":"create-internal-note","conversationId":"1","message":"hi"}}"#
            )
        };
        let input = format!(
            "{}\n{}\n{}\n{}\n",
            note("1"),
            note("1"),
            with_id("a"),
            with_id("b")
        );
        let run = run_batch(
            &fake,
            input.as_bytes(),
            &dir.path().join("r"),
            &BatchOptions::default(),
        )
        .await;
        assert_eq!(
            statuses(&run),
            [
                (1, LineStatus::Succeeded),
                (2, LineStatus::Failed),
                (3, LineStatus::Succeeded),
                (4, LineStatus::Succeeded),
            ]
        );
        let error = run.results[1].error.as_ref().unwrap();
        assert_eq!(
            (
                error.error.as_str(),
                error.field.as_deref(),
                error.message.as_str()
            ),
            (
                "invalid-input",
                Some("id"),
                "invalid input: id: duplicate of line 1: give the lines different ids to send both"
            )
        );
        assert_eq!(fake.called(), ["1", "1", "1"]);
    }

    #[tokio::test]
    async fn each_line_is_decoded_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake::ok();
        let mut input = Vec::new();
        input.extend_from_slice(b"\xff\xfe not utf-8\n");
        input.extend_from_slice(b"{not json\n");
        input.extend_from_slice(b"[1]\n");
        input.extend_from_slice(b"{\"op\":\"reboot-dixa\",\"conversationId\":\"1\"}\n");
        input.extend_from_slice(format!("{}\r\n", note("5")).as_bytes());
        input.extend_from_slice(&vec![b'x'; MAX_LINE_BYTES + 1]);
        input.extend_from_slice(format!("\n{}", note("7")).as_bytes());
        let run = run_batch(
            &fake,
            &input,
            &dir.path().join("r"),
            &BatchOptions::default(),
        )
        .await;
        let errors: Vec<(u64, Option<String>, String)> = run
            .results
            .iter()
            .filter_map(|r| {
                let e = r.error.as_ref()?;
                Some((r.line, e.field.clone(), e.message.clone()))
            })
            .collect();
        assert_eq!(
            errors,
            [
                (1, Some("input".into()), "invalid input: input: the line is not valid UTF-8".into()),
                (2, Some("input".into()), "invalid input: input: key must be a string at line 1 column 2".into()),
                (3, Some("input".into()), "invalid input: input: the line must be a JSON object".into()),
                (
                    4,
                    Some("op".into()),
                    "invalid input: op: unknown operation \"reboot-dixa\"; expected one of create-internal-note, add-message, tag-conversation, untag-conversation, list-conversation-tags, list-internal-notes, create-internal-notes".into()
                ),
                (6, Some("input".into()), format!("invalid input: input: the line is longer than {MAX_LINE_BYTES} bytes")),
            ]
        );
        assert_eq!(fake.called(), ["5", "7"]);
        assert_eq!((run.summary.succeeded, run.summary.failed), (2, 5));
    }

    #[tokio::test]
    async fn a_post_whose_outcome_is_unknown_is_not_sent_again_until_the_user_says() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.jsonl");
        // Line "1": the connection broke after sending; "2": refused before
        // sending; "3": a tag PUT that broke after sending.
        let fake = Fake::new(Box::new(|input, _| {
            let lost =
                ConnectorError::transport(crate::TransportKind::ConnectionLost, "lost", true);
            let refused = ConnectorError::transport(crate::TransportKind::Connect, "refused", true);
            let result = match input["conversationId"].as_str() {
                Some("1" | "3") => Err(lost.into()),
                Some("2") => Err(refused.into()),
                _ => Ok(Value::Null),
            };
            (Duration::ZERO, result)
        }));
        let input = format!("{}\n{}\n{}\n", note("1"), note("2"), tag("3"));
        let first = run_batch(&fake, input.as_bytes(), &report, &BatchOptions::default()).await;
        assert_eq!(first.summary.failed, 3);
        assert_eq!(fake.called(), ["1", "2", "3"]);

        // Resume: the POST that may have acted is not sent; the one that was
        // refused before sending is, and so is the idempotent PUT.
        let second = run_batch(&fake, input.as_bytes(), &report, &BatchOptions::default()).await;
        assert_eq!(
            statuses(&second),
            [
                (1, LineStatus::OutcomeUnknown),
                (2, LineStatus::Failed),
                (3, LineStatus::Failed),
            ]
        );
        let unknown = second.results[0].error.as_ref().unwrap();
        assert_eq!(unknown.error, "outcome-unknown");
        assert!(unknown.dixa_may_have_acted);
        assert!(
            unknown.message.contains("--mark-done")
                && unknown.message.ends_with(&format!(
                    "--resend-unknown={} if it is not",
                    first.results[0].id.as_deref().unwrap()
                )),
            "{}",
            unknown.message
        );
        assert_eq!(fake.called(), ["1", "2", "2", "3", "3"]);
        assert_eq!(
            (second.summary.outcome_unknown, second.summary.all_done()),
            (1, false)
        );

        // A process killed after `started`: its POST is unknown too.
        let mut report_file = Report::open(&report).unwrap();
        let started_only = note("9");
        let mut fields = serde_json::from_str::<Value>(&started_only).unwrap();
        let (id, _) = identity(fields.as_object_mut().unwrap()).unwrap();
        report_file
            .append(&Record::Started {
                id: id.clone(),
                digest: id.clone(),
                line: 1,
                op: "create-internal-note".into(),
            })
            .unwrap();
        drop(report_file);
        let killed = run_batch(
            &fake,
            started_only.as_bytes(),
            &report,
            &BatchOptions::default(),
        )
        .await;
        assert_eq!(statuses(&killed), [(1, LineStatus::OutcomeUnknown)]);

        // The user checked Dixa: line 9 is there, line 1 is not.
        let mut report_file = Report::open(&report).unwrap();
        report_file.mark_done(&[id]).unwrap();
        drop(report_file);
        let resend = BatchOptions {
            resend_unknown: ResendUnknown::Only(
                [first.results[0].id.clone().unwrap()].into_iter().collect(),
            ),
            ..BatchOptions::default()
        };
        let input = format!("{}\n{}\n", note("1"), note("9"));
        let third = run_batch(&fake, input.as_bytes(), &report, &resend).await;
        assert_eq!(
            statuses(&third),
            [(1, LineStatus::Failed), (2, LineStatus::Skipped)]
        );
        assert_eq!(fake.called(), ["1", "1", "2", "2", "3", "3"]);
    }

    #[tokio::test]
    async fn a_rate_limited_line_is_queued_again_not_failed() {
        let dir = tempfile::tempdir().unwrap();
        let limited = || {
            Err(ConnectorError::RateLimited {
                retry_after_seconds: Some(1),
            }
            .into())
        };
        let fake = Fake::new(Box::new(move |input, index| {
            let result = match (input["conversationId"].as_str(), index) {
                (Some("1"), 0 | 1) => limited(),
                (Some("2"), _) => limited(),
                _ => Ok(Value::Null),
            };
            (Duration::ZERO, result)
        }));
        let options = BatchOptions {
            concurrency: 1,
            ..BatchOptions::default()
        };
        let input = format!("{}\n{}\n", note("1"), note("2"));
        let run = run_batch(&fake, input.as_bytes(), &dir.path().join("r"), &options).await;
        assert_eq!(
            statuses(&run),
            [(1, LineStatus::Succeeded), (2, LineStatus::Failed)]
        );
        let tries = |id: &str| fake.called().iter().filter(|c| *c == id).count();
        assert_eq!(tries("1"), 3);
        assert_eq!(tries("2"), 1 + MAX_REQUEUES as usize);
        assert_eq!(
            fake.resumed.load(Ordering::SeqCst),
            tries("1") + tries("2"),
            "each attempt waits for a pause to end first"
        );
    }

    #[tokio::test]
    async fn the_report_is_written_ahead_and_never_holds_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.jsonl");
        let fake = Fake::new(Box::new(|_, _| {
            (Duration::ZERO, Ok(serde_json::json!({"echo": "SECRET"})))
        }));
        let run = run_batch(
            &fake,
            note("1").as_bytes(),
            &report,
            &BatchOptions::default(),
        )
        .await;
        let id = run.results[0].id.clone().unwrap();
        assert_eq!(
            run.results[0].output,
            Some(serde_json::json!({"echo": "<redacted>"}))
        );
        let text = std::fs::read_to_string(&report).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"record":"header","format":"dixa-batch-report","version":3}"#.to_owned(),
                format!(
                    r#"{{"record":"started","id":"{id}","digest":"{id}","line":1,"op":"create-internal-note"}}"#
                ),
                format!(
                    r#"{{"record":"succeeded","id":"{id}","line":1,"op":"create-internal-note","output":{{"echo":"<redacted>"}}}}"#
                ),
            ]
        );
    }

    #[tokio::test]
    async fn an_id_reused_for_other_content_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r");
        let fake = Fake::ok();
        let line = |message: &str| {
            format!(
                r#"{{"id":"x","op":"create-internal-note","conversationId":"1","message":"{message}"}}"#
            )
        };
        run_batch(
            &fake,
            line("first").as_bytes(),
            &report,
            &BatchOptions::default(),
        )
        .await;
        let run = run_batch(
            &fake,
            line("second").as_bytes(),
            &report,
            &BatchOptions::default(),
        )
        .await;
        assert_eq!(statuses(&run), [(1, LineStatus::Failed)]);
        assert_eq!(
            run.results[0].error.as_ref().unwrap().message,
            "invalid input: id: an earlier run used this id for other content: give this line a new id"
        );
        assert_eq!(fake.called(), ["1"]);
    }

    #[tokio::test]
    async fn a_deadline_spent_before_sending_requeues_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let deadline = |acted| Error::Deadline {
            timeout: Duration::from_secs(1),
            dixa_may_have_acted: acted,
        };
        let fake = Fake::new(Box::new(move |input, index| {
            let result = match (input["conversationId"].as_str(), index) {
                (Some("1"), 0) => Err(deadline(false)),
                (Some("2"), _) => Err(deadline(true)),
                _ => Ok(Value::Null),
            };
            (Duration::ZERO, result)
        }));
        let options = BatchOptions {
            concurrency: 1,
            ..BatchOptions::default()
        };
        let input = format!("{}\n{}\n", note("1"), note("2"));
        let run = run_batch(&fake, input.as_bytes(), &dir.path().join("r"), &options).await;
        assert_eq!(
            statuses(&run),
            [(1, LineStatus::Succeeded), (2, LineStatus::Failed)]
        );
        assert_eq!(
            fake.called(),
            ["1", "1", "2"],
            "a deadline after sending is final"
        );
    }

    #[tokio::test]
    async fn a_producer_that_waits_for_each_result_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Fake::ok();
        let (reader, mut writer) = tokio::io::duplex(1024);
        let (results, mut received) = tokio::sync::mpsc::unbounded_channel();
        let producer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for i in 1..=5 {
                writer
                    .write_all(format!("{}\n", note(&i.to_string())).as_bytes())
                    .await
                    .unwrap();
                let line: u64 = received.recv().await.unwrap();
                assert_eq!(line, i);
            }
        });
        let report = Report::open(&dir.path().join("r")).unwrap();
        let options = BatchOptions {
            concurrency: 4,
            ..BatchOptions::default()
        };
        let summary = tokio::time::timeout(
            Duration::from_secs(30),
            run(
                Arc::clone(&fake),
                tokio::io::BufReader::new(reader),
                report,
                &options,
                |r| {
                    let _ = results.send(r.line);
                    Ok(())
                },
            ),
        )
        .await
        .expect("the batch answered each line before the next arrived")
        .unwrap();
        assert_eq!(summary.succeeded, 5);
        producer.await.unwrap();
    }

    #[tokio::test]
    async fn a_failing_output_stops_new_lines_but_lets_those_in_flight_record_their_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let report_path = dir.path().join("r");
        let fake = Fake::new(Box::new(|input, _| {
            let slow = input["conversationId"] != "1";
            let delay = if slow {
                Duration::from_millis(100)
            } else {
                Duration::ZERO
            };
            (delay, Ok(Value::Null))
        }));
        let input: String = (1..=20)
            .map(|i| format!("{}\n", note(&i.to_string())))
            .collect();
        let options = BatchOptions {
            concurrency: 4,
            ..BatchOptions::default()
        };
        let error = run(
            Arc::clone(&fake),
            input.as_bytes(),
            Report::open(&report_path).unwrap(),
            &options,
            |_| Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, BatchError::Output(_)), "{error}");
        let called = fake.called().len();
        assert!(called < 20, "no new line after the failure: {called}");
        // Every line that started has its outcome in the report.
        let report = Report::open(&report_path).unwrap();
        for id in fake.called() {
            let line = note(&id);
            let mut fields = serde_json::from_str::<Value>(&line).unwrap();
            let (id, _) = identity(fields.as_object_mut().unwrap()).unwrap();
            assert_eq!(report.state(&id), Some(LineState::Done), "{line}");
        }
    }

    /// Input of `lines` notes, made as it is read, that counts the bytes read.
    struct Generated {
        next: u64,
        lines: u64,
        buffer: Vec<u8>,
        position: usize,
        consumed: Arc<AtomicU64>,
    }

    /// Every generated line has this length, newline included.
    const GENERATED_LINE: usize = 90;

    impl tokio::io::AsyncRead for Generated {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Err(std::io::Error::other("read through AsyncBufRead")))
        }
    }

    impl AsyncBufRead for Generated {
        fn poll_fill_buf(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<&[u8]>> {
            let this = self.get_mut();
            if this.position == this.buffer.len() && this.next < this.lines {
                this.next += 1;
                let line = format!("{:<89}\n", note(&format!("{:08}", this.next)));
                assert_eq!(line.len(), GENERATED_LINE);
                this.buffer = line.into_bytes();
                this.position = 0;
            }
            std::task::Poll::Ready(Ok(&this.buffer[this.position..]))
        }

        fn consume(self: std::pin::Pin<&mut Self>, amount: usize) {
            let this = self.get_mut();
            this.position += amount;
            this.consumed.fetch_add(amount as u64, Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_stays_bounded_by_the_concurrency_and_the_window() {
        const LINES: u64 = 3_000;
        let dir = tempfile::tempdir().unwrap();
        let consumed = Arc::new(AtomicU64::new(0));
        let input = Generated {
            next: 0,
            lines: LINES,
            buffer: Vec::new(),
            position: 0,
            consumed: Arc::clone(&consumed),
        };
        // Line 1 is slow: everything after it must wait in the window.
        let fake = Fake::new(Box::new(|input, _| {
            let slow = input["conversationId"] == "00000001";
            let delay = if slow {
                Duration::from_millis(200)
            } else {
                Duration::ZERO
            };
            (delay, Ok(Value::Null))
        }));
        let options = BatchOptions {
            concurrency: 8,
            ..BatchOptions::default()
        };
        let window = (options.concurrency * WINDOW_PER_WORKER) as u64;
        let mut max_ahead = 0;
        let mut next = 1;
        let summary = run(
            Arc::clone(&fake),
            input,
            Report::open(&dir.path().join("r")).unwrap(),
            &options,
            |result| {
                assert_eq!(result.line, next, "in input order");
                next += 1;
                let read = consumed.load(Ordering::SeqCst) / GENERATED_LINE as u64;
                max_ahead = max_ahead.max(read - result.line);
                Ok(())
            },
        )
        .await
        .unwrap();
        assert_eq!(summary.succeeded, LINES);
        assert!(
            max_ahead <= window,
            "read {max_ahead} lines ahead of the output"
        );
        assert!(
            max_ahead >= window - 1,
            "the slow line filled the window: {max_ahead}"
        );
        assert!(fake.peak_in_flight.load(Ordering::SeqCst) <= options.concurrency);
    }
}
