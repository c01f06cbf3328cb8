//! Builds the hostile test component (see `hostile-guest/`) for the sandbox tests.

use std::process::ExitCode;

fn main() -> ExitCode {
    let built = guest_build::workspace_and_out_dir().and_then(|(workspace, out_dir)| {
        guest_build::build_component(
            &workspace,
            "dixa-hostile-guest",
            "dixa_hostile_guest.wasm",
            &["tests/hostile-guest/src", "tests/hostile-guest/Cargo.toml"],
            &out_dir.join("hostile.wasm"),
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
