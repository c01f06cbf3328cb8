//! Builds the guest component, plain and as an HTTP service, and hands both
//! to the host crate, so `cargo run -p dixa-host` needs no separate step.

use std::process::ExitCode;

use guest_build::ComponentBuild;

fn main() -> ExitCode {
    let built = guest_build::workspace_and_out_dir().and_then(|(workspace, out_dir)| {
        // One after the other in one directory: they share every dependency.
        for (features, file) in [
            (&[][..], "dixa_connector.wasm"),
            (&["http-service"][..], "dixa_connector_service.wasm"),
        ] {
            let build = ComponentBuild::guest(features, "guest");
            guest_build::build_component(&workspace, &build, &out_dir.join(file))?;
        }
        Ok(())
    });
    match built {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
