//! Builds the components only the tests use: the hostile test component (see
//! `hostile-guest/`) for the sandbox tests, and the guest's Spin build.

use std::process::ExitCode;

use guest_build::ComponentBuild;

fn main() -> ExitCode {
    let builds = [
        (
            ComponentBuild {
                package: "dixa-hostile-guest",
                features: &[],
                artifact: "dixa_hostile_guest.wasm",
                inputs: &["tests/hostile-guest/src", "tests/hostile-guest/Cargo.toml"],
                target_dir: "guest",
            },
            "hostile.wasm",
        ),
        (
            // Its own directory: `guest-build` writes dixa_guest.wasm in `guest`.
            ComponentBuild::guest(&["spin"], "guest-spin"),
            "dixa_connector_spin.wasm",
        ),
    ];
    let workspace = guest_build::workspace();
    let built = guest_build::out_dir().and_then(|out_dir| {
        builds.iter().try_for_each(|(build, file)| {
            guest_build::rerun_if_changed(&workspace, build);
            guest_build::build_component(&workspace, build, &out_dir.join(file))
        })
    });
    match built {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
