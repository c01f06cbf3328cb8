//! The `dixa` binary: input from argument, @file and stdin; JSON out; exit codes;
//! and the key never in its output, even with --verbose.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use dixa_simulator::{DEFAULT_API_KEY, Fault, Simulator};

use crate::common;
use serde_json::{Value, json};

/// Runs `dixa` against `base_url` with `key` in the environment and `stdin` piped in.
fn dixa(base_url: &str, key: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dixa"));
    command
        .args(["--base-url", base_url])
        .args(args)
        .env_remove("DIXA_API_KEY")
        .env_remove("DIXA_BASE_URL")
        .env(
            "DIXA_CACHE_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-cache"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = key {
        command.env("DIXA_API_KEY", key);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Starts `dixa` against `base_url` with the simulator's key, output discarded.
fn spawn_dixa(base_url: &str, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dixa"))
        .args(["--base-url", base_url])
        .args(args)
        .env("DIXA_API_KEY", DEFAULT_API_KEY)
        .env(
            "DIXA_CACHE_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-cache"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The JSON of the last line of `bytes` (stderr starts with a note on the
/// base URL when it is not Dixa's).
fn json_of(bytes: &[u8]) -> Value {
    let bytes = bytes
        .trim_ascii_end()
        .rsplit(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

const TAG: &str = r#"{"conversationId":"9456","tagId":"eb31acbb-13f9-4ce7-abd3-44dd86266741"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn input_from_argument_file_and_stdin_gives_json_on_stdout() {
    let simulator = Simulator::start().await.unwrap();
    let url = simulator.base_url();
    let file = std::env::temp_dir().join(format!("dixa-cli-note-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"conversationId":"9456","message":"From a file"}"#,
    )
    .unwrap();
    let at_file = format!("@{}", file.display());

    let from_arg = dixa(&url, Some(DEFAULT_API_KEY), &["tag-conversation", TAG], "");
    let from_file = dixa(
        &url,
        Some(DEFAULT_API_KEY),
        &["create-internal-note", &at_file],
        "",
    );
    let from_stdin = dixa(
        &url,
        Some(DEFAULT_API_KEY),
        &["add-message", "-"],
        r#"{"conversationId":"9456","content":"Hi","direction":"inbound"}"#,
    );
    std::fs::remove_file(&file).unwrap();

    assert_eq!(from_arg.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(from_arg.stdout).unwrap(),
        "{\"success\":true}\n"
    );
    assert_eq!(from_file.status.code(), Some(0), "{from_file:?}");
    let note = json_of(&from_file.stdout);
    assert_eq!(note["message"], "From a file");
    assert_eq!(
        note.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "authorId", "createdAt", "message"]
    );
    assert_eq!(from_stdin.status.code(), Some(0), "{from_stdin:?}");
    let message = json_of(&from_stdin.stdout);
    assert_eq!(message["direction"], "inbound");
    assert_eq!(message["content"], json!({"value": "Hi", "type": "Text"}));
    assert_eq!(simulator.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_json_on_stderr_with_documented_exit_codes() {
    let simulator = Simulator::start().await.unwrap();
    let url = simulator.base_url();
    let run = |key: Option<&str>, args: &[&str]| {
        let output = dixa(&url, key, args, "");
        assert!(output.stdout.is_empty(), "{output:?}");
        (output.status.code(), json_of(&output.stderr))
    };

    let (code, error) = run(
        Some(DEFAULT_API_KEY),
        &["tag-conversation", r#"{"conversationId":"9456"}"#],
    );
    assert_eq!(code, Some(2));
    assert_eq!(error["error"], "invalid-input");
    assert_eq!(
        error,
        json!({"error": "invalid-input", "message": "invalid input: tagId: missing field `tagId`", "dixaMayHaveActed": false, "field": "tagId"})
    );

    let (code, error) = run(
        Some(DEFAULT_API_KEY),
        &[
            "tag-conversation",
            r#"{"conversationId":"9456","tagId":"t","extra":1}"#,
        ],
    );
    assert_eq!(code, Some(2), "unknown fields are rejected");
    assert_eq!(error["error"], "invalid-input");

    let (code, error) = run(Some(DEFAULT_API_KEY), &["tag-conversation", "{not json"]);
    assert_eq!(
        (code, error["error"].as_str()),
        (Some(2), Some("invalid-input"))
    );

    let (code, error) = run(
        Some(DEFAULT_API_KEY),
        &[
            "add-message",
            r#"{"conversationId":"9456","content":"x","direction":"outbound"}"#,
        ],
    );
    assert_eq!(code, Some(2));
    assert_eq!(
        error,
        json!({"error": "invalid-input", "message": "invalid input: agentId: is required for outbound messages", "dixaMayHaveActed": false, "field": "agentId"})
    );

    let (code, error) = run(None, &["tag-conversation", TAG]);
    assert_eq!(code, Some(5));
    assert_eq!(error["error"], "missing-credentials");

    let (code, error) = run(Some("wrong"), &["tag-conversation", TAG]);
    assert_eq!(code, Some(5));
    assert_eq!(error["error"], "unauthorized");

    simulator.inject(Fault::status(404, "Conversation not found"));
    let (code, error) = run(Some(DEFAULT_API_KEY), &["tag-conversation", TAG]);
    assert_eq!(code, Some(3));
    assert_eq!(
        error,
        json!({"error": "not-found", "message": "not found: Conversation not found", "dixaMayHaveActed": false})
    );

    simulator.inject(Fault::status(500, "boom"));
    let (code, error) = run(
        Some(DEFAULT_API_KEY),
        &[
            "create-internal-note",
            r#"{"conversationId":"1","message":"m"}"#,
        ],
    );
    // A POST that may have acted: not "try again" (4) but "check first" (6).
    assert_eq!(code, Some(6));
    assert_eq!(
        error,
        json!({"error": "api", "message": "Dixa answered 500: boom", "dixaMayHaveActed": true, "status": 500})
    );

    // The tag PUT may have acted too, but running it again is safe: 4.
    for _ in 0..3 {
        simulator.inject(Fault::status(503, "down"));
    }
    let (code, error) = run(Some(DEFAULT_API_KEY), &["tag-conversation", TAG]);
    assert_eq!((code, &error["dixaMayHaveActed"]), (Some(4), &json!(true)));

    for _ in 0..3 {
        simulator.inject(Fault::Status {
            status: 429,
            message: "slow down".into(),
            retry_after: Some("0".into()),
        });
    }
    let (code, error) = run(Some(DEFAULT_API_KEY), &["tag-conversation", TAG]);
    assert_eq!(code, Some(4));
    assert_eq!(error["error"], "rate-limited");
    assert_eq!(error["retryAfterSeconds"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_is_read_from_a_file_and_never_printed_even_verbose() {
    let key = "file-only-secret-key";
    let simulator = Simulator::start_on(0, key).await.unwrap();
    let file = std::env::temp_dir().join(format!("dixa-cli-key-{}", std::process::id()));
    std::fs::write(&file, format!("{key}\n")).unwrap();
    let file_arg = file.display().to_string();

    let ok = dixa(
        &simulator.base_url(),
        None,
        &[
            "--verbose",
            "--api-key-file",
            &file_arg,
            "tag-conversation",
            TAG,
        ],
        "",
    );
    simulator.inject(Fault::status(401, "rejected"));
    let failed = dixa(
        &simulator.base_url(),
        None,
        &["-v", "--api-key-file", &file_arg, "tag-conversation", TAG],
        "",
    );
    // A source that would leak: the key as the conversation id puts it in the
    // path of the `sending` and `answered` lines.
    let as_id = format!(r#"{{"conversationId":"{key}","tagId":"t"}}"#);
    let id_is_key = dixa(
        &simulator.base_url(),
        None,
        &[
            "-v",
            "--api-key-file",
            &file_arg,
            "tag-conversation",
            &as_id,
        ],
        "",
    );
    std::fs::remove_file(&file).unwrap();
    let id_stderr = String::from_utf8_lossy(&id_is_key.stderr);
    for line in ["sending", "answered"] {
        assert!(
            id_stderr.lines().any(|l| l.contains(line)
                && l.contains("path=/v1/conversations/<redacted>/tags/t")),
            "{line}: {id_stderr}"
        );
    }

    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert_eq!(simulator.requests()[0].header("authorization"), Some(key));
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(
        stderr.contains("sending"),
        "verbose logs requests: {stderr}"
    );
    assert_eq!(failed.status.code(), Some(5));
    for output in [&ok, &failed, &id_is_key] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains(key), "key printed: {all}");
    }
}

#[test]
fn demo_runs_offline_and_shows_each_request() {
    let output = Command::new(env!("CARGO_BIN_EXE_dixa"))
        .arg("demo")
        .env_remove("DIXA_API_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "-> POST /v1/conversations/9456/notes {\"message\":\"A sample note\"",
        "-> POST /v1/conversations/9456/messages {\"_type\":\"Outbound\"",
        "-> PUT /v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741",
        "<- {\"success\":true}",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn usage_errors_exit_with_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_dixa"))
        .arg("no-such-command")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn instances_are_fresh_or_warm_and_nothing_else() {
    let refused = Command::new(env!("CARGO_BIN_EXE_dixa"))
        .args(["--instances", "lukewarm", "demo"])
        .env_remove("DIXA_INSTANCES")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("fresh or warm"), "{stderr}");
    // `.ci/test` runs this suite again with DIXA_INSTANCES=fresh.
}

/// The JSON lines of `bytes`.
fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|line| json_of(line.as_bytes()))
        .collect()
}

/// A batch input file in a fresh directory: the directory and the file's path.
fn batch_input(lines: &[String]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ops.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    (dir, input.display().to_string())
}

fn note_line(conversation: u32, message: &str) -> String {
    format!(
        r#"{{"op":"create-internal-note","conversationId":"{conversation}","message":"{message}"}}"#
    )
}

/// The POSTs the simulator received for `conversation`.
fn posts_to(simulator: &Simulator, conversation: u32) -> usize {
    let path = format!("/v1/conversations/{conversation}/notes");
    simulator
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_runs_lines_in_order_and_a_rerun_skips_what_succeeded() {
    let simulator = Simulator::start().await.unwrap();
    let mut lines = vec![
        note_line(9456, "first"),
        r#"{"op":"add-message","conversationId":"9456","content":"hi","direction":"outbound"}"#
            .to_owned(),
        r#"{"op":"fly","conversationId":"9456"}"#.to_owned(),
    ];
    for i in 0..9 {
        lines.push(format!(
            r#"{{"op":"tag-conversation","conversationId":"{}","tagId":"eb31acbb-13f9-4ce7-abd3-44dd86266741"}}"#,
            i + 1
        ));
    }
    let (_dir, input) = batch_input(&lines);

    let started = std::time::Instant::now();
    let first = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["batch", &input],
        "",
    );
    let elapsed = started.elapsed();
    assert_eq!(first.status.code(), Some(3), "{first:?}");
    let results = json_lines(&first.stdout);
    assert_eq!(
        results
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>(),
        "one result per line, in input order"
    );
    assert_eq!(results[0]["status"], "succeeded");
    assert_eq!(results[0]["op"], "create-internal-note");
    assert_eq!(results[0]["output"]["message"], "first");
    assert_eq!(results[0]["id"].as_str().unwrap().len(), 64, "a SHA-256");
    assert_eq!(results[1]["status"], "failed");
    assert_eq!(
        results[1]["error"],
        json!({"error": "invalid-input", "message": "invalid input: agentId: is required for outbound messages", "dixaMayHaveActed": false, "field": "agentId"})
    );
    assert_eq!(results[2]["error"]["field"], "op");
    assert!(
        results[3..]
            .iter()
            .all(|r| r["output"] == json!({"success": true}))
    );
    assert_eq!(
        json_of(&first.stderr),
        json!({"summary": {"lines": 12, "succeeded": 10, "skipped": 0, "failed": 2, "outcomeUnknown": 0}})
    );
    assert_eq!(simulator.requests().len(), 10);
    // Dixa's limit, 10 per second in bursts of 4: the 10th request waits 600 ms.
    assert!(
        elapsed >= std::time::Duration::from_millis(600),
        "{elapsed:?}"
    );

    // A new line on top: the others keep their identity and are skipped.
    lines.insert(0, note_line(1, "new"));
    std::fs::write(&input, lines.join("\n")).unwrap();
    let again = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["batch", &input],
        "",
    );
    assert_eq!(
        json_of(&again.stderr),
        json!({"summary": {"lines": 13, "succeeded": 1, "skipped": 10, "failed": 2, "outcomeUnknown": 0}})
    );
    assert_eq!(simulator.requests().len(), 11, "only the new line is sent");
    let rerun = json_lines(&again.stdout);
    assert_eq!(rerun[1]["status"], "skipped");
    assert_eq!(rerun[1]["id"], results[0]["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_killed_mid_run_resumes_without_sending_an_unknown_post_twice() {
    let simulator = Simulator::start().await.unwrap();
    let lines: Vec<String> = (1..=5).map(|i| note_line(i, "resume me")).collect();
    let (_dir, input) = batch_input(&lines);
    // Lines 1 and 2 are answered; Dixa holds line 3 while the process is killed.
    simulator.inject(Fault::Delay(std::time::Duration::ZERO));
    simulator.inject(Fault::Delay(std::time::Duration::ZERO));
    simulator.inject(Fault::Delay(std::time::Duration::from_secs(60)));
    let mut child = spawn_dixa(
        &simulator.base_url(),
        &["batch", &input, "--concurrency", "1"],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while simulator.requests().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "line 3 never reached Dixa"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let resumed = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["batch", &input],
        "",
    );
    assert_eq!(resumed.status.code(), Some(3), "{resumed:?}");
    let results = json_lines(&resumed.stdout);
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "skipped",
            "skipped",
            "outcome-unknown",
            "succeeded",
            "succeeded"
        ]
    );
    assert_eq!(results[2]["error"]["error"], "outcome-unknown");
    assert_eq!(results[2]["error"]["dixaMayHaveActed"], true);
    assert_eq!(
        (1..=5).map(|c| posts_to(&simulator, c)).collect::<Vec<_>>(),
        [1, 1, 1, 1, 1],
        "the line whose outcome is unknown was not sent again"
    );

    // Contradicting flags are refused before anything is written.
    let id = results[2]["id"].as_str().unwrap();
    let report = format!("{input}.report.jsonl");
    let before = std::fs::read(&report).unwrap();
    let resend_flag = format!("--resend-unknown={id}");
    let both = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["batch", "--mark-done", id, &resend_flag, &input],
        "",
    );
    assert_eq!(both.status.code(), Some(2), "{both:?}");
    assert_eq!(
        json_of(&both.stderr)["message"],
        format!(
            "{id} is given to both --mark-done and --resend-unknown: say whether it took \
             effect in Dixa (--mark-done) or not (--resend-unknown), not both"
        )
    );
    assert_eq!(
        std::fs::read(&report).unwrap(),
        before,
        "nothing was marked"
    );
    assert_eq!(simulator.requests().len(), 5);

    // The user found the note in Dixa.
    let marked = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["batch", "--mark-done", id, &input],
        "",
    );
    assert_eq!(marked.status.code(), Some(0), "{marked:?}");
    assert_eq!(
        json_of(&marked.stderr)["summary"],
        json!({"lines": 5, "succeeded": 0, "skipped": 5, "failed": 0, "outcomeUnknown": 0})
    );
    assert_eq!(simulator.requests().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_dropped_after_dixa_acted_is_unknown_until_resent_on_purpose() {
    let simulator = Simulator::start().await.unwrap();
    let (_dir, input) = batch_input(&[note_line(7, "once")]);
    let run = |extra: &[&str]| {
        let mut args = vec!["batch", input.as_str()];
        args.extend_from_slice(extra);
        dixa(&simulator.base_url(), Some(DEFAULT_API_KEY), &args, "")
    };
    simulator.inject(Fault::ActThenDrop);
    let first = run(&[]);
    assert_eq!(first.status.code(), Some(3));
    let result = &json_lines(&first.stdout)[0];
    assert_eq!(result["status"], "failed");
    assert_eq!(result["error"]["transportKind"], "connection-lost");
    assert_eq!(result["error"]["dixaMayHaveActed"], true);

    let second = run(&[]);
    assert_eq!(second.status.code(), Some(3));
    assert_eq!(json_lines(&second.stdout)[0]["status"], "outcome-unknown");
    assert_eq!(posts_to(&simulator, 7), 1);

    // The user checked: the note is not in Dixa (here it is; the simulator acted).
    let third = run(&["--resend-unknown"]);
    assert_eq!(third.status.code(), Some(0), "{third:?}");
    assert_eq!(json_lines(&third.stdout)[0]["status"], "succeeded");
    assert_eq!(posts_to(&simulator, 7), 2);
    let fourth = run(&["--resend-unknown"]);
    assert_eq!(json_lines(&fourth.stdout)[0]["status"], "skipped");
    assert_eq!(posts_to(&simulator, 7), 2, "a success is never resent");
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_reports_are_required_for_stdin_locked_and_never_silently_ignored() {
    let simulator = Simulator::start().await.unwrap();
    let url = simulator.base_url();
    let stdin = dixa(&url, Some(DEFAULT_API_KEY), &["batch"], &note_line(1, "x"));
    assert_eq!(stdin.status.code(), Some(2));
    assert!(
        json_of(&stdin.stderr)["message"]
            .as_str()
            .unwrap()
            .starts_with("a batch from stdin needs --report FILE")
    );

    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl").display().to_string();
    let from_stdin = dixa(
        &url,
        Some(DEFAULT_API_KEY),
        &["batch", "-", "--report", &report],
        &format!("{}\n", note_line(1, "x")),
    );
    assert_eq!(from_stdin.status.code(), Some(0), "{from_stdin:?}");

    // A report of dixa 0.1 (lines matched by position) is refused, not ignored.
    let old = dir.path().join("old.jsonl");
    std::fs::write(&old, "{\"line\":1,\"hash\":\"ab\",\"output\":{}}\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o600)).unwrap();
    let refused = dixa(
        &url,
        Some(DEFAULT_API_KEY),
        &["batch", "-", "--report", &old.display().to_string()],
        &note_line(1, "x"),
    );
    assert_eq!(refused.status.code(), Some(2));
    let error = json_of(&refused.stderr);
    assert_eq!(error["error"], "report");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("was written by dixa 0.1"),
        "{error}"
    );

    // A report others can read, or one that is a symlink, is refused before
    // anything is sent, whatever it holds: here a line planted as done.
    let (_planted_dir, planted_input) = batch_input(&[note_line(3, "planted")]);
    let planted = format!("{planted_input}.report.jsonl");
    let first_run = dixa(&url, Some(DEFAULT_API_KEY), &["batch", &planted_input], "");
    assert_eq!(first_run.status.code(), Some(0), "{first_run:?}");
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    let linked = dir.path().join("linked.jsonl");
    std::os::unix::fs::symlink(&planted, &linked).unwrap();
    for (report, reason) in [
        (planted.clone(), "open to group or others (mode 666)"),
        (linked.display().to_string(), "it is a symbolic link"),
    ] {
        let sent = simulator.requests().len();
        let refused = dixa(
            &url,
            Some(DEFAULT_API_KEY),
            &["batch", &planted_input, "--report", &report],
            "",
        );
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
        assert_eq!(
            json_of(&refused.stderr),
            json!({
                "error": "report",
                "message": format!("{report}: refusing to use it as a batch report: {reason}; nothing was sent"),
                "dixaMayHaveActed": false,
            })
        );
        assert!(refused.stdout.is_empty());
        assert_eq!(simulator.requests().len(), sent, "nothing was sent");
    }

    // A second batch on a report in use is refused while the first runs.
    let (_input_dir, input) = batch_input(&[note_line(2, "slow")]);
    simulator.inject(Fault::Delay(std::time::Duration::from_secs(5)));
    let mut first = spawn_dixa(&url, &["batch", &input, "--report", &report]);
    while posts_to(&simulator, 2) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let second = dixa(
        &url,
        Some(DEFAULT_API_KEY),
        &["batch", &input, "--report", &report],
        "",
    );
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    assert!(
        json_of(&second.stderr)["message"]
            .as_str()
            .unwrap()
            .contains("is in use by another dixa batch")
    );
    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_eq!(posts_to(&simulator, 2), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_http_until_stopped_and_refuses_to_start_without_a_key() {
    let simulator = Simulator::start().await.unwrap();
    let url = simulator.base_url();

    let no_key = dixa(&url, None, &["serve", "--port", "0"], "");
    assert_eq!(no_key.status.code(), Some(5), "{no_key:?}");

    let mut server = common::Server::spawn(
        Command::new(env!("CARGO_BIN_EXE_dixa"))
            .args(["--base-url", &url, "serve", "--port", "0"])
            .env("DIXA_API_KEY", DEFAULT_API_KEY)
            .env(
                "DIXA_SERVE_TOKEN",
                dixa_simulator::client::TEST_SERVICE_TOKEN,
            )
            .env(
                "DIXA_CACHE_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-cache"),
            )
            .stderr(Stdio::piped()),
    );
    let stderr = std::io::BufReader::new(server.0.stderr.take().unwrap());
    let addr = common::served_address(&mut std::io::BufRead::lines(stderr), "the Dixa connector");

    common::tag_through_server(server, addr, &simulator).await;
}

#[test]
fn component_writes_either_build() {
    let dir = std::env::temp_dir();
    for (args, embedded) in [
        (&[][..], dixa_host::EMBEDDED_COMPONENT),
        (&["--service"][..], dixa_host::EMBEDDED_SERVICE_COMPONENT),
    ] {
        let file = dir.join(format!(
            "dixa-component-{}-{}.wasm",
            std::process::id(),
            args.len()
        ));
        let path = file.display().to_string();
        let output = dixa(
            "https://dev.dixa.io",
            None,
            &[&["component", "-o", &path][..], args].concat(),
            "",
        );
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(std::fs::read(&file).unwrap(), embedded);
        std::fs::remove_file(&file).unwrap();
    }
    assert_ne!(
        dixa_host::EMBEDDED_COMPONENT,
        dixa_host::EMBEDDED_SERVICE_COMPONENT
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_key_is_a_credentials_error_and_nothing_is_sent() {
    let simulator = Simulator::start().await.unwrap();
    for key in ["simulator-api-key\u{7}", "two words", "kéy"] {
        let output = dixa(
            &simulator.base_url(),
            Some(key),
            &["tag-conversation", TAG],
            "",
        );
        assert_eq!(output.status.code(), Some(5), "{key:?}: {output:?}");
        assert_eq!(json_of(&output.stderr)["error"], "invalid-credentials");
    }
    assert_eq!(simulator.requests(), Vec::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_never_goes_in_clear_to_a_remote_host_and_another_base_url_is_announced() {
    let output = dixa(
        "http://dixa.example.com",
        Some(DEFAULT_API_KEY),
        &["tag-conversation", TAG],
        "",
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(r#""error":"configuration""#), "{stderr}");
    assert!(stderr.contains("https is required"), "{stderr}");

    let simulator = Simulator::start().await.unwrap();
    let output = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["tag-conversation", TAG],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "note: sending the API key to {} instead of Dixa's https://dev.dixa.io\n",
            simulator.base_url()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoed_key_is_redacted_on_stderr_and_batch_reports_are_private() {
    let simulator = Simulator::start().await.unwrap();
    simulator.inject(Fault::EchoAuthorization);
    let output = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["-v", "tag-conversation", TAG],
        "",
    );
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("Authorization: <redacted>"), "{stderr}");
    assert!(!stderr.contains(DEFAULT_API_KEY), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lines.jsonl");
    std::fs::write(
        &input,
        format!("{{\"op\":\"tag-conversation\",{}\n", &TAG[1..]),
    )
    .unwrap();
    simulator.inject(Fault::EchoAuthorization);
    let input = input.display().to_string();
    let output = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["batch", &input],
        "",
    );
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let report = format!("{input}.report.jsonl");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains("<redacted>") && !text.contains(DEFAULT_API_KEY),
        "{text}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains(DEFAULT_API_KEY));
    let mode = std::fs::metadata(&report).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_needs_a_token_prints_a_generated_one_once_and_drains_on_sigterm() {
    let simulator = Simulator::start().await.unwrap();
    simulator.inject(Fault::Delay(std::time::Duration::from_millis(1500)));
    let mut server = Command::new(env!("CARGO_BIN_EXE_dixa"))
        .args(["--base-url", &simulator.base_url(), "serve", "--port", "0"])
        .env("DIXA_API_KEY", DEFAULT_API_KEY)
        .env_remove("DIXA_SERVE_TOKEN")
        .env(
            "DIXA_CACHE_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-cache"),
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr =
        std::io::BufRead::lines(std::io::BufReader::new(server.stderr.take().unwrap()));
    // The generated token is printed before the banner.
    let token = stderr
        .by_ref()
        .map(Result::unwrap)
        .find_map(|line| {
            line.strip_prefix("Service token")
                .and_then(|rest| rest.split("): ").nth(1))
                .map(str::to_owned)
        })
        .unwrap();
    let addr = common::served_address(&mut stderr, "the Dixa connector");
    assert_eq!(token.len(), 64);
    let tag = "/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";
    let host = addr.to_string();
    let refused =
        dixa_simulator::client::send_with_headers(addr, "PUT", tag, &[("host", &host)], "")
            .await
            .unwrap();
    assert_eq!(refused.status, 401);

    // A call in flight when SIGTERM arrives still gets its answer.
    let bearer = format!("Bearer {token}");
    let call = tokio::spawn(async move {
        let headers = [("host", host.as_str()), ("authorization", bearer.as_str())];
        dixa_simulator::client::send_with_headers(addr, "PUT", tag, &headers, "").await
    });
    // Once the call has reached Dixa (held there by the delay), stop the server.
    let reply = common::terminate_during_call(&simulator, server.id(), call)
        .await
        .unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"success":true}"#)
    );
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = stderr.map(Result::unwrap).collect();
    assert_eq!(rest, ["Stopped: every call in flight has finished"]);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_untag_list_and_bulk_commands_print_json_and_a_partial_bulk_exits_3() {
    let simulator = Simulator::start().await.unwrap();
    let url = simulator.base_url();
    let run = |args: &[&str]| {
        let output = dixa(&url, Some(DEFAULT_API_KEY), args, "");
        (output.status.code(), json_of(&output.stdout))
    };
    let conversation = r#"{"conversationId":"9456"}"#;
    assert_eq!(run(&["tag-conversation", TAG]).0, Some(0));
    assert_eq!(
        run(&["list-conversation-tags", conversation]),
        (
            Some(0),
            json!({"tags": [{"id": "eb31acbb-13f9-4ce7-abd3-44dd86266741", "name": "Tag eb31acbb", "color": "#1E90FF", "state": "active"}]})
        )
    );
    assert_eq!(
        run(&["untag-conversation", TAG]),
        (Some(0), json!({"success": true}))
    );
    assert_eq!(
        run(&["list-conversation-tags", conversation]),
        (Some(0), json!({"tags": []}))
    );

    let bulk = r#"{"conversationId":"9456","notes":[{"message":"one"},{"message":"two","agentId":"nobody"}]}"#;
    let (code, output) = run(&["create-internal-notes", bulk]);
    assert_eq!(code, Some(3), "one note failed: {output}");
    assert_eq!(output["results"][0]["outcome"], "created");
    assert_eq!(output["results"][0]["note"]["message"], "one");
    assert_eq!(
        output["results"][1],
        json!({"outcome": "failed", "message": "An agent with id:nobody cannot be found in org."})
    );
    let all_good = r#"{"conversationId":"9456","notes":[{"message":"three"}]}"#;
    assert_eq!(run(&["create-internal-notes", all_good]).0, Some(0));
    let (code, notes) = run(&["list-internal-notes", conversation]);
    assert_eq!(code, Some(0));
    let messages: Vec<&str> = notes["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["one", "three"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_lines_run_every_operation_and_a_partial_bulk_is_done() {
    let simulator = Simulator::start().await.unwrap();
    let tag = r#""conversationId":"9456","tagId":"eb31acbb-13f9-4ce7-abd3-44dd86266741""#;
    let lines = vec![
        format!(r#"{{"op":"tag-conversation",{tag}}}"#),
        r#"{"op":"list-conversation-tags","conversationId":"9456"}"#.to_owned(),
        format!(r#"{{"op":"untag-conversation",{tag}}}"#),
        r#"{"op":"create-internal-notes","conversationId":"9456","notes":[{"message":"a"},{"message":"b","agentId":"nobody"}]}"#.to_owned(),
        r#"{"op":"list-internal-notes","conversationId":"9456"}"#.to_owned(),
    ];
    let (_dir, input) = batch_input(&lines);
    // One at a time: the lines depend on each other's effects here.
    let run = || {
        dixa(
            &simulator.base_url(),
            Some(DEFAULT_API_KEY),
            &["batch", "--concurrency", "1", &input],
            "",
        )
    };
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let results = json_lines(&first.stdout);
    assert!(
        results.iter().all(|r| r["status"] == "succeeded"),
        "{results:?}"
    );
    assert_eq!(results[1]["output"]["tags"][0]["name"], "Tag eb31acbb");
    assert_eq!(results[3]["output"]["results"][1]["outcome"], "failed");
    assert_eq!(results[4]["output"]["notes"][0]["message"], "a");
    let again = run();
    assert!(
        json_lines(&again.stdout)
            .iter()
            .all(|r| r["status"] == "skipped")
    );
    assert_eq!(
        simulator.requests().len(),
        5,
        "the bulk line is never sent again"
    );
}

/// `dixa serve` started with an open-files limit of `soft` (hard: `hard`),
/// the simulator its Dixa: the server and its address.
fn serve_with_open_files_limit(
    simulator: &Simulator,
    soft: u64,
    hard: u64,
) -> (common::Server, std::net::SocketAddr) {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_dixa"));
    command
        .args(["--base-url", &simulator.base_url(), "serve", "--port", "0"])
        .env("DIXA_API_KEY", DEFAULT_API_KEY)
        .env(
            "DIXA_SERVE_TOKEN",
            dixa_simulator::client::TEST_SERVICE_TOKEN,
        )
        .env(
            "DIXA_CACHE_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-cache"),
        )
        .stderr(Stdio::piped());
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit is async-signal-safe and `limit` is a copy the child owns.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut server = common::Server::spawn(&mut command);
    let mut stderr =
        std::io::BufRead::lines(std::io::BufReader::new(server.0.stderr.take().unwrap()));
    let addr = common::served_address(&mut stderr, "the Dixa connector");
    // Drained in the background, so the server never blocks on a full pipe.
    std::thread::spawn(move || stderr.for_each(drop));
    (server, addr)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_raises_its_open_files_limit_and_caps_connections_below_it() {
    let simulator = Simulator::start().await.unwrap();
    let (raised, _) = serve_with_open_files_limit(&simulator, 256, 512);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", raised.0.id())).unwrap();
    let open_files = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>(),
        ["Max", "open", "files", "512", "512", "files"]
    );
    drop(raised);

    // It cannot raise it: 256 files give a cap of 192 connections, so a flood
    // of idle connections is answered 503 before descriptors run out.
    let (_server, addr) = serve_with_open_files_limit(&simulator, 256, 256);
    let mut flood = Vec::new();
    for _ in 0..250 {
        flood.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let answers: Vec<_> = flood
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut answer = Vec::new();
                let read = tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer),
                )
                .await;
                (
                    read.is_ok(),
                    String::from_utf8_lossy(&answer).into_owned(),
                    stream,
                )
            })
        })
        .collect();
    let mut refused = 0;
    let mut held = Vec::new();
    for answer in answers {
        let (closed, text, stream) = answer.await.unwrap();
        if closed {
            assert!(text.starts_with("HTTP/1.1 503"), "{text}");
            refused += 1;
        } else {
            held.push(stream);
        }
    }
    assert_eq!((held.len(), refused), (192, 58));
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let tag = "/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";
    let served = dixa_simulator::client::send(addr, "PUT", tag, "")
        .await
        .unwrap();
    assert_eq!(served.status, 200, "{served:?}");
}

/// The write end of a pipe whose reader is already gone, as with `| head -c 0`.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here alone.
    let (reader, writer) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(reader);
    Stdio::from(writer)
}

#[tokio::test(flavor = "multi_thread")]
async fn output_to_a_closed_pipe_ends_quietly_with_the_sigpipe_status() {
    let simulator = Simulator::start().await.unwrap();
    let url = simulator.base_url();
    let (dir, input) = batch_input(&[note_line(1, "sent before the output failed")]);
    let note =
        format!("note: sending the API key to {url} instead of Dixa's https://dev.dixa.io\n");
    // Every command that writes to stdout; demo runs its own simulator.
    let commands: [(&[&str], &str); 3] = [
        (
            &[
                "--base-url",
                &url,
                "list-internal-notes",
                r#"{"conversationId":"9456"}"#,
            ],
            &note,
        ),
        (&["--base-url", &url, "batch", &input], &note),
        (&["demo"], ""),
    ];
    for (args, stderr) in commands {
        // The reader is gone before dixa writes a byte.
        let output = Command::new(env!("CARGO_BIN_EXE_dixa"))
            .args(args)
            .env("DIXA_API_KEY", DEFAULT_API_KEY)
            .env_remove("DIXA_BASE_URL")
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(141), "{args:?}: {output:?}");
        // The base URL note at most: no panic, no error, no batch summary.
        assert_eq!(String::from_utf8_lossy(&output.stderr), stderr, "{args:?}");
    }
    assert_eq!(simulator.requests().len(), 2);
    // The batch line that went out has its outcome in the report.
    let report = std::fs::read_to_string(dir.path().join("ops.jsonl.report.jsonl")).unwrap();
    assert!(report.contains(r#""record":"succeeded""#), "{report}");
}

/// The CLI and `batch` take exactly what the operation takes: each
/// operation's largest input, every character escaped, on stdin and as a
/// batch line (`tests/tests/all/largest_inputs.rs` sends it through the other
/// fronts).
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_and_batch_take_each_operations_largest_input() {
    use dixa_simulator::examples::{escaped_json, largest_inputs};
    let simulator = Simulator::start().await.unwrap();
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    for (i, (operation, input)) in largest_inputs().into_iter().enumerate() {
        let output = dixa(
            &simulator.base_url(),
            Some(DEFAULT_API_KEY),
            &[operation.name],
            &escaped_json(&input),
        );
        if output.status.code() != Some(0) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            failures.push(format!("{}: {:?} {stderr}", operation.name, output.status));
        }
        let mut line = input.clone();
        line["op"] = json!(operation.name);
        line["id"] = json!(format!("largest-{i}"));
        lines.push(escaped_json(&line));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let (_dir, input) = batch_input(&lines);
    let batch = dixa(
        &simulator.base_url(),
        Some(DEFAULT_API_KEY),
        &["batch", &input],
        "",
    );
    let statuses: Vec<Value> = json_lines(&batch.stdout)
        .iter()
        .map(|result| json!([result["op"], result["status"], result["error"]["message"]]))
        .collect();
    let expected: Vec<Value> = largest_inputs()
        .iter()
        .map(|(operation, _)| json!([operation.name, "succeeded", null]))
        .collect();
    assert_eq!(statuses, expected, "{batch:?}");
    assert_eq!(batch.status.code(), Some(0));
    // Each operation once from the CLI, once from the batch.
    assert_eq!(simulator.requests().len(), 2 * expected.len());
}
