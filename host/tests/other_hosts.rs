//! The same component on hosts other than this crate's: Node.js through jco, and
//! the wasmtime CLI. Each test says why when it is skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use dixa_simulator::{DEFAULT_API_KEY, Simulator};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

/// The embedded component written where the host recipes expect it.
fn component_file() -> PathBuf {
    let path = workspace().join("target/dixa_connector.wasm");
    std::fs::write(&path, dixa_host::EMBEDDED_COMPONENT).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_runs_on_node_through_jco() {
    if !available("node") || !available("npm") {
        eprintln!("skipped: node and npm are needed for the jco test");
        return;
    }
    let node = workspace().join("hosts/node");
    if !node.join("node_modules/.package-lock.json").exists() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&node));
    }
    component_file();
    run(Command::new("npm")
        .args(["run", "--silent", "transpile"])
        .current_dir(&node));

    let simulator = Simulator::start().await.unwrap();
    let config =
        serde_json::json!({ "base-url": simulator.base_url(), "api-key": DEFAULT_API_KEY });
    let output = run(Command::new("npm")
        .args(["run", "--silent", "test"])
        .env("DIXA_CONFIG", config.to_string())
        .current_dir(&node));
    assert!(
        output.contains("node: all three operations passed"),
        "{output}"
    );

    let requests = simulator.requests();
    let lines: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.header("authorization"),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "POST",
                "/v1/conversations/9456/notes",
                Some(DEFAULT_API_KEY)
            ),
            (
                "POST",
                "/v1/conversations/9456/messages",
                Some(DEFAULT_API_KEY)
            ),
            (
                "PUT",
                "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741",
                Some(DEFAULT_API_KEY)
            ),
        ]
    );
}
