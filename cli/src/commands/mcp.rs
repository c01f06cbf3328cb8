//! `dixa mcp`: the operations as MCP tools for AI agents.

use std::sync::Arc;

use dixa_host::ComponentSource;
use dixa_host::exit_code;

use super::front::{self, FrontArgs};
use crate::Cli;
use crate::connector;
use crate::failure::Failure;

/// Options of `dixa mcp`.
#[derive(clap::Args)]
pub struct McpArgs {
    /// Serve streamable HTTP at /mcp on this port (0: any free port) instead
    /// of stdio; every request then needs the service token.
    #[arg(long, value_name = "PORT")]
    http_port: Option<u16>,
    /// Tool calls pending at once (waiting or running); more are answered
    /// `overloaded` (HTTP 503).
    #[arg(long, value_name = "N", default_value_t = dixa_mcp::DEFAULT_MAX_PENDING_CALLS)]
    max_pending_calls: usize,
    #[command(flatten)]
    front: FrontArgs,
}

/// `dixa mcp`: the operations as MCP tools, over stdio or streamable HTTP.
pub async fn run(cli: &Cli, args: &McpArgs) -> Result<u8, Failure> {
    let connector = Arc::new(connector::build(cli, ComponentSource::Embedded)?);
    let tools = dixa_mcp::DixaTools::new(connector).max_pending_calls(args.max_pending_calls);
    let Some(port) = args.http_port else {
        let tools = match connector::per_core(cli)? {
            Some(cores) => tools.on_cores(cores),
            None => tools,
        };
        dixa_mcp::serve_stdio(tools)
            .await
            .map_err(|e| Failure::new(exit_code::FAILURE, "mcp", e.to_string()))?;
        return Ok(exit_code::OK);
    };
    let token = front::service_token(args.front.token_file.as_deref())?;
    let (listener, options) =
        front::bind(cli, &args.front, port, token, "MCP tools at /mcp").await?;
    dixa_mcp::serve_http(tools, listener, options, front::shutdown_signal()).await;
    eprintln!("Stopped: every call in flight has finished");
    Ok(exit_code::OK)
}
