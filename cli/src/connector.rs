//! What the global flags build: the connector, and the per-core runtimes its
//! calls run on.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dixa_host::exit_code;
use dixa_host::per_core::PerCore;
use dixa_host::{
    ApiKey, BuildError, ComponentSource, Connector, ConnectorBuilder, InvalidKey, RateLimit,
    Timeouts,
};

use crate::Cli;
use crate::failure::Failure;
use crate::logging;

/// The connector from the command line and environment, running `component`
/// unless `--component` names another.
pub fn build(cli: &Cli, component: ComponentSource) -> Result<Connector, Failure> {
    build_with(cli, component, |builder| builder)
}

/// [`build`], with the builder adjusted by `configure`.
pub fn build_with(
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
                exit_code::CREDENTIALS,
                "missing-credentials",
                "no Dixa API key: set DIXA_API_KEY or pass --api-key-file",
            ));
        }
        Err(invalid) => {
            return Err(Failure::new(
                exit_code::CREDENTIALS,
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
        .api_key(key)
        .insecure_http(cli.insecure_http)
        .rate_limit(RateLimit::per_second(cli.per_second))
        .call_timeout(seconds(cli.timeout, "--timeout")?)
        .timeouts(Timeouts {
            connect: seconds(cli.connect_timeout, "--connect-timeout")?,
            first_byte: seconds(cli.first_byte_timeout, "--first-byte-timeout")?,
            between_bytes: seconds(cli.between_bytes_timeout, "--between-bytes-timeout")?,
        });
    if let Some(dir) = dixa_host::cache::default_dir().filter(|_| !cli.no_cache) {
        builder = builder.cache_dir(dir);
    }
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
            Failure::new(exit_code::INVALID_INPUT, "configuration", error.to_string())
        }
        other => Failure::new(exit_code::FAILURE, "setup", other.to_string()),
    })
}

/// The per-core runtimes `--threads` asks for (one per core by default).
pub fn per_core(cli: &Cli) -> Result<Option<Arc<PerCore>>, Failure> {
    let cores = match cli.threads {
        Some(0) => return Ok(None),
        Some(threads) => PerCore::new(threads, "dixa-core"),
        None => PerCore::for_each_core("dixa-core"),
    };
    Ok(Some(Arc::new(
        cores.context("starting the per-core runtimes")?,
    )))
}
