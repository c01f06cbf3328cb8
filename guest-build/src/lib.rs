//! Compiles a workspace crate to a `wasm32-wasip2` component from a build script,
//! so the crates that embed a component need no separate build step.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
/// The workspace profile for components (see the root `Cargo.toml`).
const PROFILE: &str = "guest";

/// Variables the outer build sets for the host target that must not leak into
/// the nested wasm build (clippy's wrapper, host RUSTFLAGS, a redirected target).
const CLEARED_ENV: &[&str] = &[
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_MAKEFLAGS",
    "CARGO_PRIMARY_PACKAGE",
];

/// One component to build.
pub struct ComponentBuild<'a> {
    /// The workspace crate, e.g. `dixa-guest`.
    pub package: &'a str,
    /// Cargo features to build it with.
    pub features: &'a [&'a str],
    /// The file cargo writes, e.g. `dixa_guest.wasm`.
    pub artifact: &'a str,
    /// Paths, relative to the workspace, whose change means a rebuild.
    pub inputs: &'a [&'a str],
    /// Directory under `target/` to build in. Builds that write the same
    /// artifact with other features from another build script need their own,
    /// or they may overwrite each other's file before it is copied.
    pub target_dir: &'a str,
}

impl<'a> ComponentBuild<'a> {
    /// The connector guest (`guest/`) with `features`, built in `target/{target_dir}`.
    pub fn guest(features: &'a [&'a str], target_dir: &'a str) -> Self {
        ComponentBuild {
            package: "dixa-guest",
            features,
            artifact: "dixa_guest.wasm",
            inputs: &[
                "guest/src",
                "guest/Cargo.toml",
                "contract/src",
                "contract/Cargo.toml",
            ],
            target_dir,
        }
    }
}

/// Builds `build` in the workspace at `workspace` and copies the component to
/// `destination`; tells cargo to rerun the build script when its inputs change.
pub fn build_component(
    workspace: &Path,
    build: &ComponentBuild<'_>,
    destination: &Path,
) -> Result<(), String> {
    let shared = ["wit", "Cargo.lock", "Cargo.toml", ".cargo/config.toml"];
    for input in build.inputs.iter().chain(&shared) {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    ensure_target_installed()?;

    let package = build.package;
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = workspace.join("target").join(build.target_dir);
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--package",
            package,
            "--target",
            TARGET,
            "--profile",
            PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    if !build.features.is_empty() {
        command.arg("--features").arg(build.features.join(","));
    }
    for name in CLEARED_ENV {
        command.env_remove(name);
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo to build {package}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the {package} component failed ({status})"
        ));
    }

    let built = target_dir.join(TARGET).join(PROFILE).join(build.artifact);
    std::fs::copy(&built, destination).map_err(|e| {
        format!(
            "copying {} to {}: {e}",
            built.display(),
            destination.display()
        )
    })?;
    Ok(())
}

/// The workspace root and `OUT_DIR` of the calling build script.
pub fn workspace_and_out_dir() -> Result<(PathBuf, PathBuf), String> {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let mut workspace = manifest_dir.as_path();
    while !workspace.join("Cargo.lock").exists() {
        workspace = workspace
            .parent()
            .ok_or("no workspace root with a Cargo.lock above the crate")?;
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("no OUT_DIR")?);
    Ok((workspace.to_owned(), out_dir))
}

/// Installs the wasm target through rustup when it is missing: a
/// `rust-toolchain.toml` `targets` entry is not installed automatically everywhere.
fn ensure_target_installed() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
    {
        return Ok(());
    }
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let installed = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed; install it and build again"
        ))
    }
}
