//! The reliability matrix: hostile input, faults from Dixa, the sandbox's limits,
//! the API key, and load. Each section is its own test, which asserts every
//! case and renders what was tried, how often and with what outcome as its
//! section of `docs/RELIABILITY.md`. A test whose section differs from the
//! committed file rewrites that section and fails: commit the file then.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dixa_host::{
    ApiKey, ComponentSource, Connector, ConnectorError, Direction, Error, MessageInput, NoteInput,
    TagInput, Timeouts, TransportKind,
};
use dixa_simulator::examples::{message_example, note_example, tag_example};
use dixa_tests::{Fault, HOSTILE_COMPONENT, Harness, Simulator};

/// One line of a section.
struct Row {
    case: String,
    count: usize,
    outcome: String,
}

/// The section's Markdown: its heading, intro, totals and table.
fn section_markdown(title: &str, intro: &str, rows: &[Row]) -> String {
    let total: usize = rows.iter().map(|r| r.count).sum();
    let mut md = format!(
        "## {title}\n\n{intro}\n\n{} cases, {total} runs.\n\n| case | runs | outcome |\n|---|---|---|\n",
        rows.len()
    );
    for row in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            row.case.replace('|', "\\|"),
            row.count,
            row.outcome.replace('|', "\\|")
        );
    }
    md
}

/// One section at a time: the load test would otherwise skew the timing bounds
/// the others assert on two cores.
static ONE_SECTION_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Compares the section `title` of `docs/RELIABILITY.md` with what this run
/// asserted; when it differs, rewrites it (one test at a time) and fails.
fn check_section(title: &str, intro: &str, rows: &[Row]) {
    static FILE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = FILE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/RELIABILITY.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let heading = format!("## {title}\n");
    let start = text
        .find(&heading)
        .unwrap_or_else(|| panic!("no section {title:?}"));
    let end = text[start + heading.len()..]
        .find("\n## ")
        .map_or(text.len(), |at| start + heading.len() + at + 1);
    let mut expected = section_markdown(title, intro, rows);
    if end < text.len() {
        // A blank line before the next section's heading.
        expected.push('\n');
    }
    if text[start..end] != expected {
        let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        panic!("docs/RELIABILITY.md, section {title:?}, was out of date: rewritten, commit it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_before_anything_is_sent() {
    let _serial = ONE_SECTION_AT_A_TIME.lock().await;
    check_section(
        "Hostile input",
        "Inputs a caller or attacker may send, through the library and the CLI's JSON \
         parsing (`dixa_contract::input`, every front's one path). Each is refused with the exact `invalid-input` \
         shown, and the simulator saw zero requests.",
        &hostile_input().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_from_dixa_end_in_the_typed_error_and_no_post_twice() {
    let _serial = ONE_SECTION_AT_A_TIME.lock().await;
    check_section(
        "Faults from Dixa",
        "Each fault injected for each operation (POSTs: note, message; PUT: tag), with \
         timeouts of 300 ms. Asserted: the typed error, the number of attempts Dixa saw, \
         that no POST reached Dixa twice unless a 429 refused it, and the wall-clock bound \
         implied by the timeouts and backoff.",
        &faults().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_stops_hostile_components_and_keeps_serving() {
    let _serial = ONE_SECTION_AT_A_TIME.lock().await;
    check_section(
        "Sandbox limits",
        "A hostile component (`tests/hostile-guest`) and outbound requests the policy must \
         refuse. After each failure the same connector serves a normal call.",
        &sandbox().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_goes_nowhere_but_to_dixa() {
    let _serial = ONE_SECTION_AT_A_TIME.lock().await;
    check_section(
        "The API key",
        "The key reaches only the Dixa origin, as `Authorization`, added by the host. \
         Searched for it: the component's config, every output and error (Display and \
         Debug) of the cases below, and every log line at debug level.",
        &api_key().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_of_twenty_thousand_calls_answers_each_once() {
    let _serial = ONE_SECTION_AT_A_TIME.lock().await;
    check_section(
        "Load",
        "10,000 calls (a third of each operation, each with unique content) through one \
         `Connector` at concurrency 64, with 429s and 500s injected as they run, twice.",
        &load().await,
    );
}

// ---------------------------------------------------------------- hostile input

/// An operation with its input, either typed or as CLI JSON.
enum Call {
    Note(NoteInput),
    Message(MessageInput),
    Tag(TagInput),
    NoteJson(&'static str),
    MessageJson(&'static str),
}

impl Call {
    async fn run(self, connector: &Connector) -> Result<(), Error> {
        match self {
            Call::Note(input) => connector.create_internal_note(input).await.map(drop),
            Call::Message(input) => connector.add_message(input).await.map(drop),
            Call::Tag(input) => connector.tag_conversation(input).await.map(drop),
            Call::NoteJson(json) => {
                let input: NoteInput = dixa_contract::input::from_json(json.as_bytes())?;
                connector.create_internal_note(input).await.map(drop)
            }
            Call::MessageJson(json) => {
                let input: MessageInput = dixa_contract::input::from_json(json.as_bytes())?;
                connector.add_message(input).await.map(drop)
            }
        }
    }
}

fn note(
    conversation_id: &str,
    message: &str,
    agent_id: Option<&str>,
    created_at: Option<&str>,
) -> Call {
    Call::Note(NoteInput {
        conversation_id: conversation_id.into(),
        message: message.into(),
        agent_id: agent_id.map(Into::into),
        created_at: created_at.map(Into::into),
    })
}

fn message(direction: Direction, content: &str, agent_id: Option<&str>) -> Call {
    Call::Message(MessageInput {
        conversation_id: "9456".into(),
        content: content.into(),
        direction,
        agent_id: agent_id.map(Into::into),
    })
}

fn tag(conversation_id: &str, tag_id: &str) -> Call {
    Call::Tag(TagInput {
        conversation_id: conversation_id.into(),
        tag_id: tag_id.into(),
    })
}

const AGENT: &str = "a53b25da-f676-4c52-acac-58c9280aa23d";
const PRINTABLE: &str = "must be printable ASCII without spaces, found";
const RFC3339: &str =
    "expected an RFC 3339 date-time with an offset, like 2021-12-01T12:46:36.581Z";

async fn hostile_input() -> Vec<Row> {
    let big = "x".repeat(64 * 1024 + 1);
    let huge = "x".repeat(10 << 20);
    let long_id = "1".repeat(10 * 1024);
    let deep = format!(
        "{{\"conversationId\":{}\"1\"{}}}",
        "[".repeat(500),
        "]".repeat(500)
    );
    let deep: &'static str = Box::leak(deep.into_boxed_str());
    let cases: Vec<(&str, Call, String)> = vec![
        ("note: empty conversationId", note("", "hi", None, None), "conversationId: must not be empty".into()),
        ("note: whitespace conversationId", note(" ", "hi", None, None), format!("conversationId: {PRINTABLE} \\u{{20}}")),
        ("note: empty message", note("9456", "", None, None), "message: must not be empty or only whitespace".into()),
        ("note: whitespace-only message", note("9456", " \t\n", None, None), "message: must not be empty or only whitespace".into()),
        ("note: message of 64 KiB + 1", note("9456", &big, None, None), "message: must be at most 65536 bytes of UTF-8, got 65537".into()),
        ("note: message of 10 MiB", note("9456", &huge, None, None), "message: must be at most 65536 bytes of UTF-8, got 10485760".into()),
        ("note: empty agentId", note("9456", "hi", Some(""), None), "agentId: must not be empty".into()),
        ("note: agentId with '/'", note("9456", "hi", Some("a/b"), None), "agentId: must not contain '/'".into()),
        ("note: createdAt 'yesterday'", note("9456", "hi", None, Some("yesterday")), format!("createdAt: {RFC3339}")),
        ("note: createdAt without offset", note("9456", "hi", None, Some("2021-12-01T12:46:36")), "createdAt: missing offset: end with Z or ±hh:mm".into()),
        ("note: createdAt on 30 February", note("9456", "hi", None, Some("2021-02-30T12:46:36Z")), "createdAt: day 30 does not exist in 2021-02".into()),
        ("note: createdAt month 13", note("9456", "hi", None, Some("2021-13-01T12:46:36Z")), "createdAt: month 13 is out of range".into()),
        ("note: createdAt offset without colon", note("9456", "hi", None, Some("2021-12-01T12:46:36+0100")), format!("createdAt: {RFC3339}")),
        ("note: createdAt date only", note("9456", "hi", None, Some("2021-12-01")), format!("createdAt: {RFC3339}")),
        ("message: outbound without agentId", message(Direction::Outbound, "hi", None), "agentId: is required for outbound messages".into()),
        ("message: inbound with agentId", message(Direction::Inbound, "hi", Some(AGENT)), "agentId: is only allowed for outbound messages (inbound messages are authored by the end user)".into()),
        ("message: empty content", message(Direction::Inbound, "", None), "content: must not be empty or only whitespace".into()),
        ("message: whitespace-only content", message(Direction::Inbound, "\n \u{3000}", None), "content: must not be empty or only whitespace".into()),
        ("message: content of 64 KiB + 1", message(Direction::Inbound, &big, None), "content: must be at most 65536 bytes of UTF-8, got 65537".into()),
        ("message: agentId with a space", message(Direction::Outbound, "hi", Some("agent 1")), format!("agentId: {PRINTABLE} \\u{{20}}")),
        ("id: ../9456", tag("../9456", AGENT), "conversationId: must not contain '/'".into()),
        ("id: ..", tag("..", AGENT), "conversationId: must not be '.' or contain '..'".into()),
        ("id: .", tag(".", AGENT), "conversationId: must not be '.' or contain '..'".into()),
        ("id: a..b", tag("a..b", AGENT), "conversationId: must not be '.' or contain '..'".into()),
        ("id: %2e%2e", tag("%2e%2e", AGENT), "conversationId: must not contain '%'".into()),
        ("id: query ?admin=1", tag("9456?admin=1", AGENT), "conversationId: must not contain '?'".into()),
        ("id: fragment #x", tag("9456#x", AGENT), "conversationId: must not contain '#'".into()),
        ("id: backslash", tag("94\\56", AGENT), "conversationId: must not contain '\\'".into()),
        ("id: CRLF header injection", tag("9456\r\nX-Injected: 1", AGENT), format!("conversationId: {PRINTABLE} \\u{{d}}")),
        ("id: NUL", tag("9456\0", AGENT), format!("conversationId: {PRINTABLE} \\u{{0}}")),
        ("id: tab", tag("94\t56", AGENT), format!("conversationId: {PRINTABLE} \\u{{9}}")),
        ("id: fullwidth digits (look-alike)", tag("９４５６", AGENT), format!("conversationId: {PRINTABLE} \\u{{ff19}}")),
        ("id: division slash (look-alike of /)", tag("94\u{2215}56", AGENT), format!("conversationId: {PRINTABLE} \\u{{2215}}")),
        ("id: 10 KB", tag(&long_id, AGENT), "conversationId: must be at most 128 bytes, got 10240".into()),
        ("tagId: empty", tag("9456", ""), "tagId: must not be empty".into()),
        ("tagId: ../x", tag("9456", "../x"), "tagId: must not contain '/'".into()),
        ("JSON: missing conversationId", Call::NoteJson(r#"{"message":"m"}"#), "conversationId: missing field `conversationId`".into()),
        ("JSON: conversationId as a number", Call::NoteJson(r#"{"conversationId":9456,"message":"m"}"#), "conversationId: invalid type: integer `9456`, expected a string".into()),
        ("JSON: message null", Call::NoteJson(r#"{"conversationId":"1","message":null}"#), "message: invalid type: null, expected a string".into()),
        ("JSON: agentId as an object", Call::NoteJson(r#"{"conversationId":"1","message":"m","agentId":{"id":"a"}}"#), "agentId: invalid type: map, expected a string".into()),
        ("JSON: unknown field (typo agentID) is rejected", Call::NoteJson(r#"{"conversationId":"1","message":"m","agentID":"a"}"#), "agentID: unknown field `agentID`, expected one of `conversationId`, `message`, `agentId`, `createdAt`".into()),
        ("JSON: direction in Dixa's casing", Call::MessageJson(r#"{"conversationId":"1","content":"c","direction":"Outbound","agentId":"a"}"#), "direction: unknown variant `Outbound`, expected `inbound` or `outbound`".into()),
        ("JSON: unknown direction", Call::MessageJson(r#"{"conversationId":"1","content":"c","direction":"sideways"}"#), "direction: unknown variant `sideways`, expected `inbound` or `outbound`".into()),
        ("JSON: missing direction", Call::MessageJson(r#"{"conversationId":"1","content":"c"}"#), "direction: missing field `direction`".into()),
        ("JSON: truncated", Call::NoteJson(r#"{"conversationId":"1""#), "input: EOF while parsing an object at line 1 column 21".into()),
        ("JSON: empty", Call::NoteJson(""), "input: EOF while parsing a value at line 1 column 0".into()),
        ("JSON: positional array", Call::NoteJson(r#"["9456","m"]"#), "input: expected a JSON object such as {\"conversationId\": \"9456\", ...}".into()),
        ("JSON: 500 levels of nesting", Call::NoteJson(deep), "input: recursion limit exceeded at line 1 column 145".into()),
    ];
    assert!(cases.len() >= 40);
    let harness = Harness::start().await;
    let mut rows = Vec::new();
    for (case, call, expected) in cases {
        let result = call.run(&harness.connector).await;
        let (field, reason) = expected.split_once(": ").unwrap();
        assert_eq!(
            result,
            Err(ConnectorError::invalid(field, reason).into()),
            "{case}"
        );
        assert_eq!(harness.requests(), vec![], "{case}: nothing may be sent");
        rows.push(Row {
            case: case.into(),
            count: 1,
            outcome: format!("invalid-input: {expected}; 0 requests"),
        });
    }
    rows
}

// ---------------------------------------------------------------------- faults

/// Which operation a fault case runs.
#[derive(Clone, Copy, Debug)]
enum Op {
    Note,
    Message,
    Tag,
}

impl Op {
    const ALL: [Op; 3] = [Op::Note, Op::Message, Op::Tag];

    fn name(self) -> &'static str {
        match self {
            Op::Note => "note",
            Op::Message => "message",
            Op::Tag => "tag",
        }
    }

    fn is_put(self) -> bool {
        matches!(self, Op::Tag)
    }

    async fn call(self, connector: &Connector) -> Result<(), Error> {
        match self {
            Op::Note => connector
                .create_internal_note(note_example())
                .await
                .map(drop),
            Op::Message => connector.add_message(message_example()).await.map(drop),
            Op::Tag => connector.tag_conversation(tag_example()).await.map(drop),
        }
    }
}

const TIMEOUT: Duration = Duration::from_millis(300);

/// What a fault case expects for one operation.
struct Expect {
    result: Result<(), Error>,
    attempts: usize,
}

fn expect(result: Result<(), Error>, attempts: usize) -> Expect {
    Expect { result, attempts }
}

/// An error status from Dixa; every operation here changes something, so
/// Dixa may have acted unless it refused with a 4xx.
fn api(status: u16, message: &str) -> Error {
    Error::Connector(ConnectorError::Api {
        status,
        message: message.into(),
        dixa_may_have_acted: !(400..500).contains(&status),
    })
}

fn connector(error: ConnectorError) -> Error {
    Error::Connector(error)
}

fn invalid_response(message: impl Into<String>, dixa_may_have_acted: bool) -> Error {
    connector(ConnectorError::InvalidResponse {
        message: message.into(),
        dixa_may_have_acted,
    })
}

/// Backoff before the 2nd and 3rd attempt of a retried PUT.
const PUT_BACKOFF: Duration = Duration::from_millis(750);

async fn faults() -> Vec<Row> {
    type Case = (
        &'static str,
        Vec<Fault>,
        Box<dyn Fn(Op) -> Expect + Send + Sync>,
    );
    let repeat = |fault: Fault| vec![fault.clone(), fault.clone(), fault];
    let status = |s: u16| repeat(Fault::status(s, "from Dixa"));
    let once = |e: Error| -> Box<dyn Fn(Op) -> Expect + Send + Sync> {
        Box::new(move |_| expect(Err(e.clone()), 1))
    };
    let server_error = |s: u16| -> Box<dyn Fn(Op) -> Expect + Send + Sync> {
        Box::new(move |op: Op| expect(Err(api(s, "from Dixa")), if op.is_put() { 3 } else { 1 }))
    };
    // After the request went out: Dixa may have acted, so only the PUT is retried.
    let transport =
        |kind: TransportKind, message: &'static str| -> Box<dyn Fn(Op) -> Expect + Send + Sync> {
            Box::new(move |op: Op| {
                expect(
                    Err(connector(ConnectorError::transport(kind, message, true))),
                    if op.is_put() { 3 } else { 1 },
                )
            })
        };
    let past = "Thu, 01 Jan 1970 00:00:00 GMT".to_owned();
    let limited = |retry_after: Option<&str>| Fault::Status {
        status: 429,
        message: "Too many requests".into(),
        retry_after: retry_after.map(Into::into),
    };
    let malformed: Box<dyn Fn(Op) -> Expect + Send + Sync> = Box::new(|op: Op| match op {
        Op::Tag => expect(Ok(()), 1),
        _ => expect(
            Err(invalid_response("expected ident at line 1 column 2", true)),
            1,
        ),
    });
    let missing: Box<dyn Fn(Op) -> Expect + Send + Sync> = Box::new(|op: Op| match op {
        Op::Tag => expect(Ok(()), 1),
        _ => expect(
            Err(invalid_response(
                format!(
                    "missing field `{}` at line 1 column 27",
                    if matches!(op, Op::Note) {
                        "authorId"
                    } else {
                        "messageId"
                    }
                ),
                true,
            )),
            1,
        ),
    });
    let cases: Vec<Case> = vec![
        ("400 Bad Request", status(400), once(api(400, "from Dixa"))),
        (
            "401 Unauthorized",
            status(401),
            once(connector(ConnectorError::Unauthorized("from Dixa".into()))),
        ),
        (
            "403 Forbidden",
            status(403),
            once(connector(ConnectorError::Unauthorized("from Dixa".into()))),
        ),
        (
            "404 Not Found",
            status(404),
            once(connector(ConnectorError::NotFound("from Dixa".into()))),
        ),
        ("409 Conflict", status(409), once(api(409, "from Dixa"))),
        (
            "422 Unprocessable",
            status(422),
            once(api(422, "from Dixa")),
        ),
        (
            "429 once, Retry-After: 0",
            vec![limited(Some("0"))],
            Box::new(|_| expect(Ok(()), 2)),
        ),
        (
            "429 once, no Retry-After (1 s backoff)",
            vec![limited(None)],
            Box::new(|_| expect(Ok(()), 2)),
        ),
        (
            "429 always, Retry-After as a past HTTP date",
            repeat(limited(Some(&past))),
            Box::new(|_| {
                expect(
                    Err(connector(ConnectorError::RateLimited {
                        retry_after_seconds: Some(0),
                    })),
                    3,
                )
            }),
        ),
        (
            "429, Retry-After: 120 (beyond the 10 s cap)",
            vec![limited(Some("120"))],
            Box::new(|_| {
                expect(
                    Err(connector(ConnectorError::RateLimited {
                        retry_after_seconds: Some(120),
                    })),
                    1,
                )
            }),
        ),
        ("500 Internal Server Error", status(500), server_error(500)),
        ("502 Bad Gateway", status(502), server_error(502)),
        ("503 Service Unavailable", status(503), server_error(503)),
        (
            "200 with malformed JSON",
            vec![Fault::Body("not json".into())],
            malformed,
        ),
        (
            "200 with fields missing",
            vec![Fault::Body(r#"{"data":{"id":"only-an-id"}}"#.into())],
            missing,
        ),
        (
            "200 with a 50 MB body",
            vec![Fault::HugeBody(50_000_000)],
            Box::new(|_| {
                expect(
                    Err(invalid_response("body larger than 1048576 bytes", true)),
                    1,
                )
            }),
        ),
        (
            "accepts, never answers",
            repeat(Fault::Delay(Duration::from_secs(30))),
            transport(TransportKind::Timeout, "timed out waiting for the response"),
        ),
        (
            "answers headers, then stalls",
            repeat(Fault::StallBody),
            transport(
                TransportKind::ConnectionLost,
                "the connection failed while reading the response",
            ),
        ),
        (
            "resets the connection mid-body",
            repeat(Fault::ResetMidBody),
            transport(
                TransportKind::ConnectionLost,
                "the connection failed while reading the response",
            ),
        ),
        (
            "closes the connection without answering",
            repeat(Fault::DropConnection),
            transport(
                TransportKind::ConnectionLost,
                "the connection closed before the response was complete",
            ),
        ),
        (
            "302 redirect to another host",
            vec![Fault::Redirect("https://evil.example/steal".into())],
            once(api(302, "Found")),
        ),
    ];
    let mut rows = Vec::new();
    for (name, faults, expected) in &cases {
        let runs = Op::ALL.map(|op| {
            let faults = faults.clone();
            let expected = expected(op);
            async move {
                let harness = Harness::with(|builder| {
                    builder.timeouts(Timeouts {
                        connect: TIMEOUT,
                        first_byte: TIMEOUT,
                        between_bytes: TIMEOUT,
                    })
                })
                .await;
                for fault in faults {
                    harness.simulator.inject(fault);
                }
                let started = Instant::now();
                let result = op.call(&harness.connector).await;
                let elapsed = started.elapsed();
                let requests = harness.requests();
                assert_eq!(result, expected.result, "{name} / {}", op.name());
                assert_eq!(
                    requests.len(),
                    expected.attempts,
                    "{name} / {}: attempts",
                    op.name()
                );
                if !op.is_put() {
                    let effective = requests.iter().filter(|r| r.status != Some(429)).count();
                    assert!(
                        effective <= 1,
                        "{name} / {}: POST reached Dixa {effective} times",
                        op.name()
                    );
                }
                // Each attempt waits at most one timeout; retries add their backoff.
                let waits = match (expected.attempts, op.is_put()) {
                    (1, _) => Duration::ZERO,
                    (_, true)
                        if expected.result.is_err()
                            || requests.iter().any(|r| r.status != Some(429)) =>
                    {
                        PUT_BACKOFF
                    }
                    (n, _) => Duration::from_secs(1) * u32::try_from(n - 1).unwrap(),
                };
                let bound = TIMEOUT * u32::try_from(expected.attempts).unwrap()
                    + waits
                    + Duration::from_secs(2);
                assert!(
                    elapsed < bound,
                    "{name} / {}: took {elapsed:?}, bound {bound:?}",
                    op.name()
                );
                (op, expected, bound)
            }
        });
        let [note_run, message_run, tag_run] = runs;
        let (note_run, message_run, tag_run) = tokio::join!(note_run, message_run, tag_run);
        for (op, expected, bound) in [note_run, message_run, tag_run] {
            rows.push(Row {
                case: format!("{name}: {}", op.name()),
                count: 1,
                outcome: format!(
                    "{}; {} attempt{}; under {:.1} s",
                    match &expected.result {
                        Ok(()) => "ok".to_owned(),
                        Err(e) => format!("[{}] {e}", e.kind()),
                    },
                    expected.attempts,
                    if expected.attempts == 1 { "" } else { "s" },
                    bound.as_secs_f64()
                ),
            });
        }
    }
    rows
}

// --------------------------------------------------------------------- sandbox

async fn sandbox() -> Vec<Row> {
    let mut rows = Vec::new();
    let hostile = dixa_tests::builder()
        .component(ComponentSource::Bytes(HOSTILE_COMPONENT.to_vec()))
        .memory_limit(16 << 20)
        .call_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let hostile_note = |message: &str| NoteInput {
        conversation_id: "1".into(),
        message: message.into(),
        agent_id: None,
        created_at: None,
    };
    for (case, message, expected) in [
        (
            "component allocates without bound (16 MiB limit)",
            "allocate",
            Error::MemoryLimit {
                limit_bytes: 16 << 20,
                dixa_may_have_acted: false,
            },
        ),
        (
            "component loops forever (500 ms deadline)",
            "spin",
            Error::Deadline {
                timeout: Duration::from_millis(500),
                dixa_may_have_acted: false,
            },
        ),
    ] {
        let started = Instant::now();
        let result = hostile.create_internal_note(hostile_note(message)).await;
        assert_eq!(result, Err(expected.clone()), "{case}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{case}: stopped in time"
        );
        let after = hostile.create_internal_note(hostile_note("hello")).await;
        assert_eq!(
            after.map(|n| n.message),
            Ok("hello".to_owned()),
            "{case}: keeps serving"
        );
        rows.push(Row {
            case: case.into(),
            count: 1,
            outcome: format!("[{}] {expected}; the next call succeeds", expected.kind()),
        });
    }

    let denied = "the host's outbound policy denied the request (destination not allowed)";
    let simulator = Simulator::start().await.unwrap();
    let port = simulator.addr().port();
    let other = Simulator::start().await.unwrap();
    for (case, base_url) in [
        ("other host", other.base_url()),
        (
            "same host, other port",
            format!("http://127.0.0.1:{}", other.addr().port()),
        ),
        (
            "same host and port, https instead of http",
            format!("https://127.0.0.1:{port}"),
        ),
        (
            "IP literal for the same machine",
            format!("http://127.0.0.2:{port}"),
        ),
        (
            "host name for the same machine",
            format!("http://localhost:{port}"),
        ),
        ("public IP literal", "http://93.184.216.34".to_owned()),
    ] {
        let harness = Harness::with(|builder| builder.config("base-url", base_url.clone())).await;
        for op in Op::ALL {
            assert_eq!(
                op.call(&harness.connector).await,
                Err(connector(ConnectorError::transport(
                    TransportKind::Denied,
                    denied,
                    true
                ))),
                "{case}"
            );
        }
        assert_eq!(harness.requests(), vec![], "{case}");
        assert_eq!(other.requests(), vec![], "{case}");
        rows.push(Row {
            case: format!("component sends to {case}"),
            count: 3,
            outcome: format!("transport: {denied}; 0 requests left the host; not retried"),
        });
    }
    for (case, base_url) in [
        (
            "user info in the host's base URL",
            "https://user:pw@dev.dixa.io",
        ),
        (
            "user info hiding another host",
            "https://dev.dixa.io@evil.example",
        ),
        ("non-http scheme", "ftp://dev.dixa.io"),
    ] {
        let built = Connector::builder().base_url(base_url).build();
        assert!(
            matches!(built, Err(dixa_host::BuildError::InvalidUrl(_))),
            "{case}"
        );
        rows.push(Row {
            case: format!("connector built with {case}"),
            count: 1,
            outcome: "refused when building the connector".into(),
        });
    }
    let harness =
        Harness::with(|builder| builder.config("base-url", "https://dev.dixa.io@evil.example"))
            .await;
    assert_eq!(
        harness.connector.tag_conversation(tag_example()).await,
        Err(connector(ConnectorError::Configuration(
            "base-url: must name a host, without user info".into()
        )))
    );
    rows.push(Row {
        case: "component configured with user info hiding another host".into(),
        count: 1,
        outcome: "configuration error from the component; 0 requests".into(),
    });
    rows
}

// --------------------------------------------------------------------- api key

/// Every log line of this test process, at debug level.
fn captured_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    Arc::clone(LOGS.get_or_init(|| {
        let logs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    }))
}

struct LogWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn api_key() -> Vec<Row> {
    let logs = captured_logs();
    let key = "reliability-secret-key-4711";
    let simulator = Simulator::start_on(0, key).await.unwrap();
    let proxy = Simulator::start().await.unwrap();
    let connector = dixa_tests::builder()
        .base_url(simulator.base_url())
        .allow_host(proxy.base_url())
        .api_key(ApiKey::new(key).unwrap())
        .build()
        .unwrap();
    let mut seen = vec![format!("{:?}", connector.guest_config())];
    let faults = [
        None,
        Some(Fault::status(400, "bad")),
        Some(Fault::status(401, "no")),
        Some(Fault::status(500, "boom")),
        Some(Fault::DropConnection),
        Some(Fault::Body("garbage".into())),
        Some(Fault::ResetMidBody),
    ];
    let mut calls = 0;
    for fault in faults {
        for op in Op::ALL {
            if let Some(fault) = fault.clone() {
                simulator.inject(fault);
            }
            let result = op.call(&connector).await;
            calls += 1;
            seen.push(format!("{result:?}"));
            if let Err(error) = result {
                seen.push(error.to_string());
            }
        }
    }
    let to_proxy = dixa_tests::builder()
        .base_url(simulator.base_url())
        .allow_host(proxy.base_url())
        .config("base-url", proxy.base_url())
        .api_key(ApiKey::new(key).unwrap())
        .build()
        .unwrap();
    seen.push(format!(
        "{:?}",
        to_proxy.tag_conversation(tag_example()).await
    ));
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("sending"), "debug logs were captured");
    for text in seen.iter().chain([&logged]) {
        assert!(!text.contains(key), "the key leaked: {text}");
    }
    assert!(!connector.guest_config().iter().any(|(_, v)| v == key));
    assert!(
        simulator
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(key))
    );
    assert_eq!(proxy.requests().len(), 1);
    assert_eq!(proxy.requests()[0].header("authorization"), None);
    assert_eq!(proxy.requests()[0].header("Authorization"), None);
    vec![
        Row {
            case: "config the component can read".into(),
            count: 1,
            outcome: "base-url and api-key-injected only; no key".into(),
        },
        Row {
            case: "outputs and errors under 7 answers (ok, 400, 401, 500, dropped, garbage, reset) × 3 operations".into(),
            count: calls,
            outcome: "key absent from Display and Debug".into(),
        },
        Row {
            case: "debug-level logs of all of the above".into(),
            count: 1,
            outcome: "key absent".into(),
        },
        Row {
            case: "requests to Dixa".into(),
            count: simulator.requests().len(),
            outcome: "every one carries the key as Authorization".into(),
        },
        Row {
            case: "request to another allowed origin".into(),
            count: 1,
            outcome: "no Authorization header".into(),
        },
    ]
}

// ------------------------------------------------------------------------ load

const LOAD_CALLS: usize = 10_000;
const LOAD_CONCURRENCY: usize = 64;

/// The unique request each load call makes, to find it in the simulator's log.
fn load_call(i: usize) -> (Op, String) {
    match i % 3 {
        0 => (Op::Note, format!("load note {i}")),
        1 => (Op::Message, format!("load message {i}")),
        _ => (Op::Tag, format!("00000000-0000-4000-8000-{i:012x}")),
    }
}

async fn run_load(connector: &Arc<Connector>) -> Vec<Result<(), Error>> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results = Arc::new(std::sync::Mutex::new(vec![None; LOAD_CALLS]));
    let workers: Vec<_> = (0..LOAD_CONCURRENCY)
        .map(|_| {
            let (connector, next, results) = (
                Arc::clone(connector),
                Arc::clone(&next),
                Arc::clone(&results),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= LOAD_CALLS {
                        break;
                    }
                    let (op, unique) = load_call(i);
                    let result = match op {
                        Op::Note => connector
                            .create_internal_note(NoteInput {
                                message: unique,
                                ..note_example()
                            })
                            .await
                            .map(drop),
                        Op::Message => connector
                            .add_message(MessageInput {
                                content: unique,
                                ..message_example()
                            })
                            .await
                            .map(drop),
                        Op::Tag => connector
                            .tag_conversation(TagInput {
                                tag_id: unique,
                                ..tag_example()
                            })
                            .await
                            .map(drop),
                    };
                    results.lock().unwrap()[i] = Some(result);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let results = results.lock().unwrap().clone();
    results
        .into_iter()
        .map(|r| r.expect("every call has a result"))
        .collect()
}

/// This process's resident memory, from `/proc`, which only Linux has: off
/// Linux the load test skips its memory check (and says so; under `CI=true`
/// it fails instead) but keeps the rest.
fn rss_bytes() -> Option<u64> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        let why = "/proc/self/status exists on Linux only";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{why}, and CI=true: the memory check must run in CI"
        );
        eprintln!("skipped the memory check: {why}");
        return None;
    };
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    Some(kb * 1024)
}

async fn load() -> Vec<Row> {
    let harness =
        Harness::with(|builder| builder.max_concurrent_calls(LOAD_CONCURRENCY as u32)).await;
    let connector = Arc::new(harness.connector);
    let simulator = Arc::new(harness.simulator);
    let mut rows = Vec::new();
    let mut rss_after = Vec::new();
    for round in 1..=2 {
        let injecting = {
            let simulator = Arc::clone(&simulator);
            tokio::spawn(async move {
                for n in 0.. {
                    simulator.inject(if n % 2 == 0 {
                        Fault::Status {
                            status: 429,
                            message: "slow down".into(),
                            retry_after: Some("0".into()),
                        }
                    } else {
                        Fault::status(500, "boom")
                    });
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        };
        let logged_before = simulator.requests().len();
        let results = run_load(&connector).await;
        injecting.abort();
        let log: Vec<_> = simulator
            .requests()
            .into_iter()
            .skip(logged_before)
            .collect();

        // Group the log by call: the unique content or tag id.
        let mut by_call: BTreeMap<usize, Vec<Option<u16>>> = BTreeMap::new();
        let index: std::collections::HashMap<String, usize> =
            (0..LOAD_CALLS).map(|i| (load_call(i).1, i)).collect();
        for request in &log {
            let key = if request.method == "PUT" {
                request
                    .path
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            } else {
                let body = request.json();
                body.get("message")
                    .or_else(|| body.get("content").and_then(|c| c.get("value")))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let call = index
                .get(&key)
                .unwrap_or_else(|| panic!("request from no call: {request:?}"));
            by_call.entry(*call).or_default().push(request.status);
        }
        assert_eq!(
            by_call.len(),
            LOAD_CALLS,
            "every call reached the simulator"
        );
        let (mut ok, mut failed, mut retried_429, mut retried_5xx) = (0, 0, 0, 0);
        for (i, statuses) in &by_call {
            let (op, _) = load_call(*i);
            let result = &results[*i];
            let effective: Vec<_> = statuses.iter().filter(|s| **s != Some(429)).collect();
            if !op.is_put() {
                assert!(
                    effective.len() <= 1,
                    "call {i}: POST took effect {} times",
                    effective.len()
                );
            }
            retried_429 += usize::from(statuses.contains(&Some(429)) && statuses.len() > 1);
            retried_5xx +=
                usize::from(op.is_put() && statuses.contains(&Some(500)) && statuses.len() > 1);
            let last = statuses.last().copied().flatten();
            match result {
                Ok(()) => {
                    ok += 1;
                    assert!(
                        matches!(last, Some(200 | 204)),
                        "call {i}: ok but Dixa answered {last:?}"
                    );
                }
                Err(Error::Connector(ConnectorError::Api { status: 500, .. })) => {
                    failed += 1;
                    assert_eq!(last, Some(500), "call {i}");
                }
                Err(Error::Connector(ConnectorError::RateLimited { .. })) => {
                    failed += 1;
                    assert_eq!((statuses.len(), last), (3, Some(429)), "call {i}");
                }
                Err(other) => panic!("call {i}: unexpected {other:?}"),
            }
        }
        assert_eq!(ok + failed, LOAD_CALLS);
        // The pool may race a new connection against one being returned, so a
        // few more than the concurrency can open; they must not pile up.
        let open = simulator.open_connections();
        assert!(
            open <= 2 * LOAD_CONCURRENCY,
            "{open} connections open after round {round}"
        );
        rss_after.push(rss_bytes());
        rows.push(Row {
            case: format!("round {round}: 10,000 calls, concurrency 64, 429s and 500s injected"),
            count: LOAD_CALLS,
            outcome: format!(
                "every call answered once and found in Dixa's log; no POST took effect twice; \
                 {} 429s retried, {} 500s on tags retried; ≤ {} connections open",
                if retried_429 > 0 { "some" } else { "no" },
                if retried_5xx > 0 { "some" } else { "no" },
                2 * LOAD_CONCURRENCY,
            ),
        });
    }
    if let [Some(first), Some(second)] = rss_after[..] {
        let growth = second.saturating_sub(first);
        assert!(
            growth < 64 << 20,
            "resident memory grew {growth} bytes in round 2"
        );
    }
    drop(connector);
    let closed = Instant::now();
    while simulator.open_connections() > 0 && closed.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        simulator.open_connections(),
        0,
        "connections closed with the connector"
    );
    rows.push(Row {
        case: "resources after the rounds".into(),
        count: 1,
        outcome: "resident memory grew < 64 MiB from round 1 to round 2; all connections closed once the connector was dropped".into(),
    });
    rows
}
