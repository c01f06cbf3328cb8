//! `dixa`: the Dixa connector component on the command line.
//!
//! A thin layer over the `dixa_host` library: parse, call, print, exit code.
//! One module per command in [`commands`]; what they share: the connector
//! from the global flags ([`connector`]), standard output ([`output`]) and
//! failures outside an operation ([`failure`]). The exit codes are the
//! library's ([`dixa_host::exit_code`]).

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dixa_host::exit_code;
use dixa_host::{InstanceReuse, RateLimit, Timeouts};

use commands::batch::BatchArgs;
use commands::component::ComponentArgs;
use commands::mcp::McpArgs;
use commands::operation::OperationCommand;
use commands::serve::ServeArgs;
use commands::simulator::SimulatorArgs;
use failure::{Failure, fail};

mod commands;
mod connector;
mod failure;
mod logging;
mod open_files;
mod output;

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

/// The commands: one per operation, then the others.
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
    Component(ComponentArgs),
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
    Simulator(SimulatorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    open_files::raise_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            return ExitCode::from(fail(
                exit_code::FAILURE,
                "runtime",
                &format!("cannot start tokio: {e}"),
            ));
        }
    };
    ExitCode::from(runtime.block_on(run(cli)))
}

/// Runs the command; a [`Failure`] is reported on stderr and gives the code.
async fn run(cli: Cli) -> u8 {
    let result = match &cli.command {
        Command::Operation(command) => commands::operation::run(&cli, command).await,
        Command::Batch(args) => commands::batch::run(&cli, args).await,
        Command::Demo => commands::demo::run().await,
        Command::Component(args) => commands::component::run(args),
        Command::Serve(args) => commands::serve::run(&cli, args).await,
        Command::Mcp(args) => commands::mcp::run(&cli, args).await,
        Command::Simulator(args) => commands::simulator::run(args).await,
    };
    result.unwrap_or_else(Failure::report)
}
