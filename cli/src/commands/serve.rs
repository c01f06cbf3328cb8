//! `dixa serve`: the operations over HTTP, through the component's own routes.

use std::sync::Arc;

use dixa_host::ComponentSource;
use dixa_host::exit_code;

use super::front::{self, FrontArgs};
use crate::Cli;
use crate::connector;
use crate::failure::Failure;

/// Options of `dixa serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0: any free port; the address is printed on stderr).
    #[arg(long, default_value_t = 8081)]
    port: u16,
    #[command(flatten)]
    front: FrontArgs,
}

/// `dixa serve`: the component's HTTP routes, behind the service token, until
/// SIGINT or SIGTERM; in-flight calls finish before it exits.
pub async fn run(cli: &Cli, args: &ServeArgs) -> Result<u8, Failure> {
    let token = front::service_token(args.front.token_file.as_deref())?;
    // The component checks the same token, so both layers agree.
    let connector = connector::build_with(cli, ComponentSource::EmbeddedService, |builder| {
        builder.config("service-token", token.expose())
    })?;
    if !connector.serves_http() {
        return Err(Failure::new(
            exit_code::FAILURE,
            "setup",
            "the component does not export wasi:http/incoming-handler: build it as the connector-service world",
        ));
    }
    let (listener, options) =
        front::bind(cli, &args.front, args.port, token, "the Dixa connector").await?;
    dixa_host::serve::serve(
        Arc::new(connector),
        listener,
        options,
        front::shutdown_signal(),
    )
    .await;
    eprintln!("Stopped: every call in flight has finished");
    Ok(exit_code::OK)
}
