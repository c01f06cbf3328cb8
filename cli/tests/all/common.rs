//! What the tests of server processes (`dixa serve`, `wasmtime serve`, `jco
//! serve`) share.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

use dixa_simulator::{DEFAULT_API_KEY, Simulator};

/// The workspace root.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The address an HTTP front (`dixa serve`, `dixa mcp --http-port`) serves
/// `what` on, from the first banner line in `stderr` ("Serving {what} on
/// http://ADDR; ..."). Lines before it are consumed, the rest left unread.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn served_address(
    stderr: &mut impl Iterator<Item = std::io::Result<String>>,
    what: &str,
) -> SocketAddr {
    let banner = stderr
        .map(Result::unwrap)
        .find(|line| line.starts_with("Serving"))
        .unwrap();
    banner
        .strip_prefix(&format!("Serving {what} on http://"))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
        .parse()
        .unwrap()
}

/// Reports a missing tool: fails the test under `CI=true`, else says why it is skipped.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn missing(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}, and CI=true: `bash .ci/test` installs it"
    );
    eprintln!("skipped: {why}");
}

/// Whether `program --version` runs.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tool from the variable `env` (which `.ci/test` sets) or `program` on
/// PATH; `None`, after [`missing`], without one.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn tool(env: &str, program: &str) -> Option<String> {
    let found = std::env::var(env)
        .ok()
        .into_iter()
        .chain([program.to_owned()])
        .find(|program| available(program));
    if found.is_none() {
        missing(&format!(
            "{program} is not installed (in ${env} or on PATH)"
        ));
    }
    found
}

/// A server process in a process group of its own, which is killed with all
/// its children when this is dropped: `jco serve` runs the server as a child
/// `node`, which killing jco alone would leave listening.
pub struct Server(pub Child);

impl Server {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> Server {
        Server(command.process_group(0).spawn().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// Tags the example conversation through the server process at `addr`
/// (retrying for up to 10 s while it starts), stops the process, and checks
/// the reply and the one request Dixa saw.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub async fn tag_through_server(server: Server, addr: SocketAddr, simulator: &Simulator) {
    let path = "/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";
    let mut reply = dixa_simulator::client::send(addr, "PUT", path, "").await;
    for _ in 0..100 {
        if reply.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        reply = dixa_simulator::client::send(addr, "PUT", path, "").await;
    }
    drop(server);
    let reply = reply.unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"success":true}"#)
    );
    let requests = simulator.requests();
    let [request] = requests.as_slice() else {
        panic!("expected one request: {requests:#?}");
    };
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.header("authorization")
        ),
        ("PUT", &*format!("/v1{path}"), Some(DEFAULT_API_KEY))
    );
}

/// Runs `command` and gives its stdout and stderr; fails the test if it failed.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

/// `hosts/node` with its packages installed, once per test process; `None`
/// (and why, on stderr) without Node.js and npm.
#[allow(dead_code, reason = "not every test binary uses every helper")]
pub fn node_recipe() -> Option<PathBuf> {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let node = workspace().join("hosts/node");
    let installed = INSTALLED.get_or_init(|| {
        if !available("node") || !available("npm") {
            return false;
        }
        // Installed, and not older than the lock file (a dependency was added).
        let installed = std::fs::metadata(node.join("node_modules/.package-lock.json"))
            .and_then(|installed| installed.modified());
        let locked = std::fs::metadata(node.join("package-lock.json")).and_then(|l| l.modified());
        if !matches!((installed, locked), (Ok(installed), Ok(locked)) if installed >= locked) {
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&node));
        }
        true
    });
    if !installed {
        missing("node and npm are needed for the jco and MCP tests");
    }
    installed.then_some(node)
}

/// Waits until `simulator` holds a request of the call `call` makes, then
/// sends SIGTERM to the server `pid` and gives the call's answer: a call in
/// flight at shutdown must still be answered.
pub async fn terminate_during_call<T>(
    simulator: &dixa_simulator::Simulator,
    pid: u32,
    call: tokio::task::JoinHandle<T>,
) -> T {
    while simulator.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let terminated = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    call.await.unwrap()
}
