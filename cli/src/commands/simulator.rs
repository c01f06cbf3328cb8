//! `dixa simulator`: the Dixa stand-in on loopback, for trying the CLI offline.

use dixa_host::exit_code;

use crate::failure::Failure;

/// Options of `dixa simulator`.
#[derive(clap::Args)]
pub struct SimulatorArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

/// Serves the simulator until Ctrl-C (exit 0) or until it stops by itself (1).
pub async fn run(args: &SimulatorArgs) -> Result<u8, Failure> {
    let port = args.port;
    let mut simulator = dixa_simulator::Simulator::start_on(port, dixa_simulator::DEFAULT_API_KEY)
        .await
        .map_err(|e| {
            Failure::new(
                exit_code::FAILURE,
                "setup",
                format!("cannot listen on port {port}: {e}"),
            )
        })?;
    eprintln!(
        "Dixa simulator on {} (API key: {}); Ctrl-C stops it",
        simulator.base_url(),
        dixa_simulator::DEFAULT_API_KEY
    );
    Ok(tokio::select! {
        _ = simulator.wait() => exit_code::FAILURE,
        _ = tokio::signal::ctrl_c() => exit_code::OK,
    })
}
