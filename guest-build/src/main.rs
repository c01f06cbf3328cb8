//! `cargo run -p guest-build`: rebuilds the components the host crate ships
//! (`host/components/`), records beside them the hash of what they were built
//! from (checked by the tests), and refreshes the host crate's copy of `wit/`.
//! Run it after changing the WIT, the guest or the contract, and commit the result.
//! It needs binaryen's `wasm-opt` on `PATH` (see [`build_optimized_component`]).

use std::path::Path;
use std::process::{Command, ExitCode};

use sha2::{Digest, Sha256};

use guest_build::{
    COMPONENTS_DIR, ComponentBuild, INPUTS_FILE, SHIPPED, WIT_COPIES, build_optimized_component,
    inputs_hash, workspace,
};

fn main() -> ExitCode {
    match refresh(&workspace()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn refresh(workspace: &Path) -> Result<(), String> {
    let components = workspace.join(COMPONENTS_DIR);
    std::fs::create_dir_all(&components)
        .map_err(|e| format!("creating {}: {e}", components.display()))?;
    // One after the other in one directory: they share every dependency.
    for (features, file) in SHIPPED {
        let build = ComponentBuild::guest(features, "guest");
        build_optimized_component(workspace, &build, &components.join(file), None)?;
        eprintln!("built {COMPONENTS_DIR}/{file}");
    }
    for copy in WIT_COPIES {
        let copy = workspace.join(copy);
        if copy.exists() {
            std::fs::remove_dir_all(&copy)
                .map_err(|e| format!("removing {}: {e}", copy.display()))?;
        }
        copy_dir(&workspace.join("wit"), &copy)?;
        eprintln!("copied wit/ to {}", copy.display());
    }
    let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("--version")
        .output()
        .map_err(|e| format!("running rustc: {e}"))?;
    let mut record = format!("sha256 {}\n", inputs_hash(workspace)?);
    for (_, file) in SHIPPED {
        let bytes = std::fs::read(components.join(file))
            .map_err(|e| format!("reading {COMPONENTS_DIR}/{file}: {e}"))?;
        record.push_str(&format!(
            "{file} sha256 {}\n",
            hex::encode(Sha256::digest(bytes))
        ));
    }
    record.push_str(&format!(
        "built with {}",
        String::from_utf8_lossy(&rustc.stdout)
    ));
    std::fs::write(workspace.join(INPUTS_FILE), record)
        .map_err(|e| format!("writing {INPUTS_FILE}: {e}"))?;
    eprintln!("recorded the inputs in {INPUTS_FILE}");
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", from.display()))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("copying to {}: {e}", target.display()))?;
        }
    }
    Ok(())
}
