//! Builds the guest component and hands it to the host crate, so
//! `cargo run -p dixa-host` needs no separate step.

use std::process::ExitCode;

fn main() -> ExitCode {
    let built = guest_build::workspace_and_out_dir().and_then(|(workspace, out_dir)| {
        guest_build::build_component(
            &workspace,
            "dixa-guest",
            "dixa_guest.wasm",
            &["guest/src", "guest/Cargo.toml"],
            &out_dir.join("dixa_connector.wasm"),
        )
    });
    match built {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
