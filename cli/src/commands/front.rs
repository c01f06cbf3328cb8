//! What the HTTP fronts (`dixa serve`, `dixa mcp --http-port`) share: how
//! they admit callers, the service token, and when they stop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use dixa_host::exit_code;
use dixa_host::serve::{ServeOptions, ServiceToken};

use crate::Cli;
use crate::connector;
use crate::failure::Failure;
use crate::logging;

/// How an HTTP front (`dixa serve`, `dixa mcp --http-port`) admits callers.
#[derive(clap::Args)]
pub struct FrontArgs {
    /// Address to listen on. Anything but loopback belongs behind a
    /// TLS-terminating proxy: the token travels in clear without one.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: std::net::IpAddr,
    /// File holding the service token (instead of DIXA_SERVE_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
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

/// Binds an HTTP front and its options; announces the address on stderr.
pub async fn bind(
    cli: &Cli,
    args: &FrontArgs,
    port: u16,
    token: ServiceToken,
    what: &str,
) -> Result<(tokio::net::TcpListener, ServeOptions), Failure> {
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
    let mut options = ServeOptions::new(token);
    options.public_hosts = args.public_hosts.clone();
    if let Some(max) = args.max_connections {
        options.max_connections = max.max(1);
    }
    options.trust_forwarded_for = args.trust_forwarded_for;
    options.drain_timeout =
        Duration::try_from_secs_f64(cli.timeout).unwrap_or(options.drain_timeout);
    options.per_core = connector::per_core(cli)?;
    Ok((listener, options))
}

/// The service token: DIXA_SERVE_TOKEN, else --token-file, else a fresh one
/// printed once on stderr.
pub fn service_token(file: Option<&Path>) -> Result<ServiceToken, Failure> {
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
            exit_code::INVALID_INPUT,
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
pub async fn shutdown_signal() {
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
