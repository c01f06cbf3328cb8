//! `dixa`: the Dixa connector component on the command line.
//!
//! A thin layer over the `dixa_host` library: parse, call, print, exit code.

use std::io::{IsTerminal, Read, Write};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dixa_contract::Operation;
use dixa_contract::operations as ops;
use dixa_contract::types::NotesResult;
use dixa_host::batch::{self, BatchOptions, Report, ReportError, ResendUnknown};
use dixa_host::per_core::PerCore;
use dixa_host::serve::ServiceToken;
use dixa_host::{
    ApiKey, BuildError, ComponentSource, Connector, ConnectorBuilder, ConnectorError, Error,
    ErrorBody, InstanceReuse, InvalidKey, RateLimit, Timeouts,
};
use serde_json::json;

mod demo;
mod logging;

/// Act on Dixa conversations through the sandboxed connector component.
///
/// The API key comes from DIXA_API_KEY or --api-key-file, never from arguments.
/// Input is the operation's camelCase JSON: an argument, @FILE, or stdin.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Dixa API origin.
    #[arg(long, global = true, env = "DIXA_BASE_URL", default_value = dixa_host::DIXA_BASE_URL)]
    base_url: String,

    /// Another origin the component may reach (without the key). Repeatable.
    #[arg(long = "allow-host", global = true, value_name = "URL")]
    allow_hosts: Vec<String>,

    /// File holding the API key (instead of DIXA_API_KEY).
    #[arg(long, global = true, value_name = "FILE")]
    api_key_file: Option<PathBuf>,

    /// Deadline of the whole call in seconds, retries included.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,

    /// Connect timeout of each request in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = Timeouts::default().connect.as_secs_f64())]
    connect_timeout: f64,

    /// Longest wait for the first byte of each response, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = Timeouts::default().first_byte.as_secs_f64())]
    first_byte_timeout: f64,

    /// Longest wait between two chunks of a response body, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = Timeouts::default().between_bytes.as_secs_f64())]
    between_bytes_timeout: f64,

    /// Requests per second to Dixa at most, shared by every call of this
    /// process (Dixa allows 10 per token, in bursts of 4). A 429 from Dixa
    /// pauses them all for its Retry-After.
    #[arg(long, global = true, value_name = "N", default_value_t = RateLimit::default().per_second)]
    per_second: NonZeroU32,

    /// Allow an http:// base URL on a host other than loopback: the key then
    /// travels in clear.
    #[arg(long, global = true)]
    insecure_http: bool,

    /// Run this component file instead of the embedded build.
    #[arg(long, global = true, value_name = "FILE")]
    component: Option<PathBuf>,

    /// Instances calls run in: "warm" reuses an instance after a successful
    /// call (its statics and heap persist between the calls of this process),
    /// "fresh" gives every call a new one. Default: warm for the embedded
    /// component, fresh for --component.
    #[arg(long, global = true, value_name = "MODE", env = "DIXA_INSTANCES")]
    instances: Option<InstanceReuse>,

    /// For serve, batch and mcp: threads that run the calls, each with a
    /// current-thread runtime of its own, so a call never hands work across
    /// threads (default: one per core; 0 runs calls on the shared runtime).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    /// Do not use the on-disk cache of the compiled component.
    #[arg(long, global = true)]
    no_cache: bool,

    /// Log each request and response status to stderr (never the key).
    #[arg(long, short, global = true)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Operation(OperationCommand),
    /// Run many operations from JSON Lines: {"op": "add-message", "id"?: "...", ...input} per line.
    ///
    /// Prints one JSON result per line, in input order, then a summary on
    /// stderr. Every line is recorded in a report before it is sent: a re-run
    /// with the same report never sends a line twice that succeeded or may
    /// have succeeded (see README, "Batch").
    Batch(BatchArgs),
    /// Run every operation against the built-in simulator (offline, no key).
    Demo,
    /// Write the embedded component (.wasm) to a file, for other hosts.
    Component {
        /// Where to write it.
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        /// Write the `connector-service` build, which also serves HTTP.
        #[arg(long)]
        service: bool,
    },
    /// Serve the operations over HTTP until SIGINT or SIGTERM, through the
    /// component's HTTP routes (the `connector-service` build by default).
    ///
    /// One route per operation (README, "HTTP service"), e.g. POST
    /// /conversations/{conversationId}/notes or GET
    /// /conversations/{conversationId}/tags. Every request needs
    /// `Authorization: Bearer <token>`: the token comes from DIXA_SERVE_TOKEN or
    /// --token-file, else a random one is printed once on stderr.
    Serve(ServeArgs),
    /// Serve the operations as MCP tools for AI agents: over stdio (the
    /// default, for an MCP client that starts `dixa mcp`), or streamable HTTP
    /// at /mcp with --http-port, behind the service token like `dixa serve`.
    Mcp(McpArgs),
    /// Serve the Dixa simulator on 127.0.0.1 until interrupted.
    Simulator {
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

/// One subcommand per operation, from the table of operations (named and
/// described as in the WIT): a row without its subcommand fails to compile.
macro_rules! operation_commands {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        pastey::paste! {
            #[derive(Subcommand)]
            enum OperationCommand {
                $(
                    #[command(name = ops::$row.name, about = ops::$row.description)]
                    [<$snake:camel>] {
                        /// The operation's camelCase JSON input, @FILE, or - for
                        /// stdin (the default).
                        input: Option<String>,
                    },
                )*
            }

            impl OperationCommand {
                /// The operation and the input argument given.
                fn operation_and_input(&self) -> (&'static Operation, Option<&str>) {
                    match self {
                        $(Self::[<$snake:camel>] { input } => (&ops::$row, input.as_deref()),)*
                    }
                }
            }
        }
    };
}
dixa_contract::for_each_operation!(operation_commands);

/// Options of `dixa batch`.
#[derive(clap::Args)]
struct BatchArgs {
    /// JSON Lines file, or - for stdin (the default).
    input: Option<PathBuf>,
    /// Report to resume from and append to (default: INPUT.report.jsonl;
    /// required for stdin).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Operations in flight at once.
    #[arg(long, default_value_t = BatchOptions::default().concurrency)]
    concurrency: usize,
    /// Send again the POST lines whose outcome is unknown: all of them
    /// (`--resend-unknown`), or the given ids (`--resend-unknown=ID,ID`).
    /// Check the conversations in Dixa first.
    #[arg(long, value_name = "ID,...", num_args = 0..=1, require_equals = true, value_delimiter = ',')]
    resend_unknown: Option<Vec<String>>,
    /// Record that these outcome-unknown lines took effect (you checked in
    /// Dixa): they are skipped from now on. Comma-separated or repeated.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    mark_done: Vec<String>,
}

/// Options of `dixa serve`.
#[derive(clap::Args)]
struct ServeArgs {
    /// Port to listen on (0: any free port; the address is printed on stderr).
    #[arg(long, default_value_t = 8081)]
    port: u16,
    #[command(flatten)]
    front: FrontArgs,
}

/// Options of `dixa mcp`.
#[derive(clap::Args)]
struct McpArgs {
    /// Serve streamable HTTP at /mcp on this port (0: any free port) instead
    /// of stdio; every request then needs the service token.
    #[arg(long, value_name = "PORT")]
    http_port: Option<u16>,
    /// Tool calls pending at once (waiting or running); more are answered
    /// `overloaded` (HTTP 503).
    #[arg(long, value_name = "N", default_value_t = dixa_host::mcp::DEFAULT_MAX_PENDING_CALLS)]
    max_pending_calls: usize,
    #[command(flatten)]
    front: FrontArgs,
}

/// How an HTTP front (`dixa serve`, `dixa mcp --http-port`) admits callers.
#[derive(clap::Args)]
struct FrontArgs {
    /// Address to listen on. Anything but loopback belongs behind a
    /// TLS-terminating proxy: the token travels in clear without one.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: std::net::IpAddr,
    /// File holding the service token (instead of DIXA_SERVE_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A host name callers may use in the Host header besides the bound
    /// address and localhost. Repeatable.
    #[arg(long = "public-host", value_name = "NAME")]
    public_hosts: Vec<String>,
    /// Connections open at once; more are answered 503 (default: 1024, or
    /// fewer when the process may open fewer files).
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Take each request's caller (callers share the call slots and the rate
    /// limit fairly) from the last X-Forwarded-For address instead of the
    /// peer's. Only behind a proxy that sets it: anyone else can forge it.
    #[arg(long)]
    trust_forwarded_for: bool,
}

/// Exit codes, as documented in the README.
mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const REJECTED: u8 = 3;
    pub const TEMPORARY: u8 = 4;
    pub const CREDENTIALS: u8 = 5;
    pub const OUTCOME_UNKNOWN: u8 = 6;
    /// Standard output was closed early (`dixa ... | head -c 1`): what a
    /// shell reports for a process ended by SIGPIPE (128 + 13).
    pub const CLOSED_OUTPUT: u8 = 141;
}

/// Why the CLI stopped before or outside an operation: exit code, error kind, message.
struct Failure {
    code: u8,
    kind: &'static str,
    message: String,
}

impl Failure {
    fn new(code: u8, kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code,
            kind,
            message: message.into(),
        }
    }

    /// Prints the failure as JSON on stderr and gives its exit code.
    fn report(self) -> u8 {
        fail(self.code, self.kind, &self.message)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::new(exit::FAILURE, "setup", format!("{error:#}"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    raise_open_files_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            return ExitCode::from(fail(
                exit::FAILURE,
                "runtime",
                &format!("cannot start tokio: {e}"),
            ));
        }
    };
    ExitCode::from(runtime.block_on(run(cli)))
}

/// Raises this process's soft limit on open files to its hard limit: a
/// server's connection cap is derived from it, and the usual soft limit
/// (1024) is far below what the machine allows. A process-wide setting, so
/// the CLI's to make, not the library's.
#[cfg(unix)]
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write `limit`, which outlives
    // both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            // Failing leaves the limit as it was, which the cap follows.
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Open files are not limited this way here.
#[cfg(not(unix))]
fn raise_open_files_limit() {}

async fn run(cli: Cli) -> u8 {
    let result = match &cli.command {
        Command::Operation(command) => return run_operation(&cli, command).await,
        Command::Demo => return demo().await,
        Command::Component { output, service } => {
            let component = if *service {
                dixa_host::EMBEDDED_SERVICE_COMPONENT
            } else {
                dixa_host::EMBEDDED_COMPONENT
            };
            return match std::fs::write(output, component) {
                Ok(()) => exit::OK,
                Err(e) => fail(
                    exit::FAILURE,
                    "io",
                    &format!("writing {}: {e}", output.display()),
                ),
            };
        }
        Command::Simulator { port } => return simulator(*port).await,
        Command::Batch(args) => run_batch(&cli, args).await,
        Command::Serve(args) => serve(&cli, args).await,
        Command::Mcp(args) => mcp(&cli, args).await,
    };
    result.unwrap_or_else(Failure::report)
}

/// One operation: its input from the argument, a file or stdin, its output
/// on stdout, its error on stderr, the exit code.
async fn run_operation(cli: &Cli, command: &OperationCommand) -> u8 {
    let (operation, input) = command.operation_and_input();
    let input = match read_input(input) {
        Ok(input) => input,
        Err(e) => {
            let error = ConnectorError::invalid("input", format!("{e:#}")).into();
            return report(&error, operation);
        }
    };
    let connector = match connector(cli, ComponentSource::Embedded) {
        Ok(connector) => connector,
        Err(failure) => return failure.report(),
    };
    let result = match serde_json::from_str(&input) {
        Ok(input) => connector.call_json(operation.name, input).await,
        Err(e) => Err(ConnectorError::invalid("input", e).into()),
    };
    match result {
        Ok(output) => {
            if let Err(code) = print_line(&connector.redact(&output.to_string())) {
                return code;
            }
            // A bulk call that Dixa answered succeeds even if some notes failed.
            let some_failed = operation.name == ops::CREATE_INTERNAL_NOTES.name
                && serde_json::from_value::<NotesResult>(output)
                    .is_ok_and(|result| !result.all_created());
            if some_failed {
                exit::REJECTED
            } else {
                exit::OK
            }
        }
        Err(error) => report(&error, operation),
    }
}

/// Writes `line` to standard output: `Err` with the exit code when it cannot,
/// quietly when the reader went away (`| head`), as `cat` would.
fn print_line(line: &str) -> Result<(), u8> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(exit::CLOSED_OUTPUT),
        Err(e) => Err(fail(
            exit::FAILURE,
            "io",
            &format!("writing the output: {e}"),
        )),
    }
}

/// The operation's input: the argument, @FILE, or stdin.
fn read_input(input: Option<&str>) -> Result<String> {
    let text = match input {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            text
        }
        Some(arg) => match arg.strip_prefix('@') {
            Some(path) => {
                std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
            }
            None => arg.to_owned(),
        },
    };
    Ok(text)
}

/// The connector from the command line and environment, running `component`
/// unless `--component` names another.
fn connector(cli: &Cli, component: ComponentSource) -> Result<Connector, Failure> {
    connector_with(cli, component, |builder| builder)
}

/// [`connector`], with the builder adjusted by `configure`.
fn connector_with(
    cli: &Cli,
    component: ComponentSource,
    configure: impl FnOnce(ConnectorBuilder) -> ConnectorBuilder,
) -> Result<Connector, Failure> {
    let key = match &cli.api_key_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the API key file {}", path.display()))?,
        None => std::env::var("DIXA_API_KEY").unwrap_or_default(),
    };
    let key = match ApiKey::new(&key) {
        Ok(key) => {
            logging::hide(key.expose());
            key
        }
        Err(InvalidKey::Empty) => {
            return Err(Failure::new(
                exit::CREDENTIALS,
                "missing-credentials",
                "no Dixa API key: set DIXA_API_KEY or pass --api-key-file",
            ));
        }
        Err(invalid) => {
            return Err(Failure::new(
                exit::CREDENTIALS,
                "invalid-credentials",
                invalid.to_string(),
            ));
        }
    };
    let seconds = |s: f64, what: &str| {
        Duration::try_from_secs_f64(s)
            .with_context(|| format!("{what} must be a positive number of seconds"))
    };
    if cli.base_url.trim_end_matches('/') != dixa_host::DIXA_BASE_URL {
        eprintln!(
            "note: sending the API key to {} instead of Dixa's {}",
            cli.base_url,
            dixa_host::DIXA_BASE_URL
        );
    }
    let mut builder = Connector::builder()
        .base_url(&cli.base_url)
        .api_key(Some(key))
        .insecure_http(cli.insecure_http)
        .rate_limit(RateLimit::per_second(cli.per_second))
        .call_timeout(seconds(cli.timeout, "--timeout")?)
        .timeouts(Timeouts {
            connect: seconds(cli.connect_timeout, "--connect-timeout")?,
            first_byte: seconds(cli.first_byte_timeout, "--first-byte-timeout")?,
            between_bytes: seconds(cli.between_bytes_timeout, "--between-bytes-timeout")?,
        })
        .cache_dir(if cli.no_cache {
            None
        } else {
            dixa_host::cache::default_dir()
        });
    for host in &cli.allow_hosts {
        builder = builder.allow_host(host);
    }
    builder = builder.component(match &cli.component {
        Some(path) => ComponentSource::File(path.clone()),
        None => component,
    });
    if let Some(reuse) = cli.instances {
        builder = builder.instance_reuse(reuse);
    }
    configure(builder).build().map_err(|error| match error {
        BuildError::InvalidUrl(_) | BuildError::InsecureBaseUrl(_) => {
            Failure::new(exit::INVALID_INPUT, "configuration", error.to_string())
        }
        other => Failure::new(exit::FAILURE, "setup", other.to_string()),
    })
}

/// Prints the error of `operation` as JSON on stderr and gives its exit code.
fn report(error: &Error, operation: &Operation) -> u8 {
    eprintln!("{}", error.to_body().to_json());
    exit_code(error, operation)
}

/// The exit code of an operation's error, as the README's table says: 4
/// (temporary) only when trying again cannot act twice; 6 when Dixa may have
/// carried out an operation that must not run twice.
fn exit_code(error: &Error, operation: &Operation) -> u8 {
    match error {
        Error::Connector(
            ConnectorError::InvalidInput { .. } | ConnectorError::Configuration(_),
        ) => exit::INVALID_INPUT,
        Error::Connector(ConnectorError::MissingCredentials | ConnectorError::Unauthorized(_)) => {
            exit::CREDENTIALS
        }
        _ if error.dixa_may_have_acted() && !operation.idempotent => exit::OUTCOME_UNKNOWN,
        Error::Component { .. } | Error::MemoryLimit { .. } => exit::FAILURE,
        _ if error.is_temporary() => exit::TEMPORARY,
        _ => exit::REJECTED,
    }
}

/// Prints a failure outside any operation (nothing was sent) and gives `code`.
fn fail(code: u8, kind: &str, message: &str) -> u8 {
    eprintln!("{}", ErrorBody::new(kind, message, false).to_json());
    code
}

/// `dixa batch`: results in input order on stdout, progress and summary on stderr.
async fn run_batch(cli: &Cli, args: &BatchArgs) -> Result<u8, Failure> {
    let file = args
        .input
        .as_deref()
        .filter(|path| *path != std::path::Path::new("-"));
    let report_path = match (&args.report, file) {
        (Some(report), _) => report.clone(),
        (None, Some(file)) => PathBuf::from(format!("{}.report.jsonl", file.display())),
        (None, None) => {
            return Err(Failure::new(
                exit::INVALID_INPUT,
                "usage",
                "a batch from stdin needs --report FILE: without a report it cannot be resumed safely",
            ));
        }
    };
    let report_failure = |error: ReportError| match error {
        ReportError::Io { .. } => Failure::new(exit::FAILURE, "report", error.to_string()),
        _ => Failure::new(exit::INVALID_INPUT, "report", error.to_string()),
    };
    let mut report = Report::open(&report_path).map_err(report_failure)?;
    if report.torn_tail_dropped() {
        eprintln!(
            "note: {}: dropped an incomplete last record (a crash while writing)",
            report_path.display()
        );
    }
    // Every flag is checked before a mark is written: a refused run leaves
    // the report's records as they were.
    report
        .check_unknown(&args.mark_done)
        .map_err(report_failure)?;
    if let Some(ids) = &args.resend_unknown {
        report.check_unknown(ids).map_err(report_failure)?;
        if let Some(both) = ids.iter().find(|id| args.mark_done.contains(id)) {
            return Err(Failure::new(
                exit::INVALID_INPUT,
                "usage",
                format!(
                    "{both} is given to both --mark-done and --resend-unknown: say whether it \
                     took effect in Dixa (--mark-done) or not (--resend-unknown), not both"
                ),
            ));
        }
    }
    report.mark_done(&args.mark_done).map_err(report_failure)?;
    let options = BatchOptions {
        per_core: per_core(cli)?,
        concurrency: args.concurrency,
        resend_unknown: match &args.resend_unknown {
            None => ResendUnknown::None,
            Some(ids) if ids.is_empty() => ResendUnknown::All,
            Some(ids) => ResendUnknown::Only(ids.iter().cloned().collect()),
        },
    };
    let input: Box<dyn tokio::io::AsyncBufRead + Unpin + Send> = match file {
        Some(path) => Box::new(tokio::io::BufReader::new(
            tokio::fs::File::open(path)
                .await
                .with_context(|| format!("reading {}", path.display()))?,
        )),
        None => Box::new(tokio::io::BufReader::new(tokio::io::stdin())),
    };
    let connector = std::sync::Arc::new(connector(cli, ComponentSource::Embedded)?);

    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut out = std::io::stdout().lock();
    let summary = batch::run(
        std::sync::Arc::clone(&connector),
        input,
        report,
        &options,
        |result| {
            progress.inc(1);
            progress.set_message(format!("line {}", result.line));
            let line = serde_json::to_string(result)?;
            writeln!(out, "{}", connector.redact(&line))
        },
    )
    .await
    .map_err(|e| Failure::new(exit::FAILURE, "batch", e.to_string()))?;
    progress.finish_and_clear();
    eprintln!("{}", json!({ "summary": summary }));
    Ok(if summary.all_done() {
        exit::OK
    } else {
        exit::REJECTED
    })
}

/// `dixa serve`: the component's HTTP routes, behind the service token, until
/// SIGINT or SIGTERM; in-flight calls finish before it exits.
async fn serve(cli: &Cli, args: &ServeArgs) -> Result<u8, Failure> {
    let token = service_token(args.front.token_file.as_deref())?;
    // The component checks the same token, so both layers agree.
    let connector = connector_with(cli, ComponentSource::EmbeddedService, |builder| {
        builder.config("service-token", token.expose())
    })?;
    if !connector.serves_http() {
        return Err(Failure::new(
            exit::FAILURE,
            "setup",
            "the component does not export wasi:http/incoming-handler: build it as the connector-service world",
        ));
    }
    let (listener, options) =
        front(cli, &args.front, args.port, token, "the Dixa connector").await?;
    dixa_host::serve::serve(
        std::sync::Arc::new(connector),
        listener,
        options,
        shutdown_signal(),
    )
    .await;
    eprintln!("Stopped: every call in flight has finished");
    Ok(exit::OK)
}

/// `dixa mcp`: the operations as MCP tools, over stdio or streamable HTTP.
async fn mcp(cli: &Cli, args: &McpArgs) -> Result<u8, Failure> {
    let connector = std::sync::Arc::new(connector(cli, ComponentSource::Embedded)?);
    let tools = dixa_host::mcp::DixaTools::new(connector).max_pending_calls(args.max_pending_calls);
    let Some(port) = args.http_port else {
        let tools = match per_core(cli)? {
            Some(cores) => tools.on_cores(cores),
            None => tools,
        };
        dixa_host::mcp::serve_stdio(tools)
            .await
            .map_err(|e| Failure::new(exit::FAILURE, "mcp", e.to_string()))?;
        return Ok(exit::OK);
    };
    let token = service_token(args.front.token_file.as_deref())?;
    let (listener, options) = front(cli, &args.front, port, token, "MCP tools at /mcp").await?;
    dixa_host::mcp::serve_http(tools, listener, options, shutdown_signal()).await;
    eprintln!("Stopped: every call in flight has finished");
    Ok(exit::OK)
}

/// Binds an HTTP front and its options; announces the address on stderr.
async fn front(
    cli: &Cli,
    args: &FrontArgs,
    port: u16,
    token: ServiceToken,
    what: &str,
) -> Result<(tokio::net::TcpListener, dixa_host::serve::ServeOptions), Failure> {
    let bind = args.bind;
    let listener = tokio::net::TcpListener::bind((bind, port))
        .await
        .with_context(|| format!("cannot listen on {bind}:{port}"))?;
    let addr = listener.local_addr().context("the bound address")?;
    eprintln!("Serving {what} on http://{addr}; SIGINT or SIGTERM stops it");
    if !bind.is_loopback() {
        eprintln!(
            "note: listening beyond loopback: put a TLS-terminating proxy in front, \
             or the service token travels in clear"
        );
    }
    let mut options = dixa_host::serve::ServeOptions::new(token);
    options.public_hosts = args.public_hosts.clone();
    if let Some(max) = args.max_connections {
        options.max_connections = max.max(1);
    }
    options.trust_forwarded_for = args.trust_forwarded_for;
    options.drain_timeout =
        Duration::try_from_secs_f64(cli.timeout).unwrap_or(options.drain_timeout);
    options.per_core = per_core(cli)?;
    Ok((listener, options))
}

/// The per-core runtimes `--threads` asks for (one per core by default).
fn per_core(cli: &Cli) -> Result<Option<std::sync::Arc<PerCore>>, Failure> {
    let cores = match cli.threads {
        Some(0) => return Ok(None),
        Some(threads) => PerCore::new(threads, "dixa-core"),
        None => PerCore::for_each_core("dixa-core"),
    };
    Ok(Some(std::sync::Arc::new(
        cores.context("starting the per-core runtimes")?,
    )))
}

/// The service token: DIXA_SERVE_TOKEN, else --token-file, else a fresh one
/// printed once on stderr.
fn service_token(file: Option<&std::path::Path>) -> Result<ServiceToken, Failure> {
    let (text, from) = match (std::env::var("DIXA_SERVE_TOKEN"), file) {
        (Ok(token), _) if !token.is_empty() => (token, "DIXA_SERVE_TOKEN".to_owned()),
        (_, Some(path)) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?,
            path.display().to_string(),
        ),
        _ => {
            let token = ServiceToken::generate().context("generating a service token")?;
            eprintln!(
                "Service token (shown once; set DIXA_SERVE_TOKEN or --token-file to choose it): {}",
                token.expose()
            );
            logging::hide(token.expose());
            return Ok(token);
        }
    };
    let token = ServiceToken::new(&text).ok_or_else(|| {
        Failure::new(
            exit::INVALID_INPUT,
            "configuration",
            format!(
                "the service token from {from} must be {}",
                dixa_contract::auth::TOKEN_RULE
            ),
        )
    })?;
    logging::hide(token.expose());
    Ok(token)
}

/// Completes at the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn demo() -> u8 {
    let steps = match demo::run().await {
        Ok(steps) => steps,
        Err(e) => return fail(exit::FAILURE, "setup", &e.to_string()),
    };
    let mut out = std::io::stdout().lock();
    let mut code = exit::OK;
    for step in steps {
        let _ = writeln!(out, "== {} {}", step.operation, step.input);
        for request in &step.requests {
            let _ = writeln!(
                out,
                "-> {} {} {}",
                request.method,
                request.path,
                String::from_utf8_lossy(&request.body)
            );
        }
        match step.result {
            Ok(output) => {
                let _ = writeln!(out, "<- {output}\n");
            }
            Err(error) => {
                let _ = writeln!(out, "<- error: {error}\n");
                code = exit::FAILURE;
            }
        }
    }
    code
}

async fn simulator(port: u16) -> u8 {
    let mut simulator =
        match dixa_simulator::Simulator::start_on(port, dixa_simulator::DEFAULT_API_KEY).await {
            Ok(simulator) => simulator,
            Err(e) => {
                return fail(
                    exit::FAILURE,
                    "setup",
                    &format!("cannot listen on port {port}: {e}"),
                );
            }
        };
    eprintln!(
        "Dixa simulator on {} (API key: {}); Ctrl-C stops it",
        simulator.base_url(),
        dixa_simulator::DEFAULT_API_KEY
    );
    tokio::select! {
        _ = simulator.wait() => exit::FAILURE,
        _ = tokio::signal::ctrl_c() => exit::OK,
    }
}
