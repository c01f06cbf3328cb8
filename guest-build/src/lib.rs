//! Compiles a workspace crate to a `wasm32-wasip2` component, for the
//! `guest-build` command (which refreshes the components and WIT the host
//! crate ships) and for the build script of the tests' own components; and
//! the hash of the inputs that says whether the shipped components are stale.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

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

/// The components the host crate ships, in `host/components/`: the guest's
/// features and the file name.
pub const SHIPPED: &[(&[&str], &str)] = &[
    (&[], "dixa_connector.wasm"),
    (&["http-service"], "dixa_connector_service.wasm"),
];

/// Where the shipped components live, relative to the workspace.
pub const COMPONENTS_DIR: &str = "host/components";

/// The file beside the shipped components that records [`inputs_hash`].
pub const INPUTS_FILE: &str = "host/components/INPUTS";

/// The copies of `wit/` that packages carry, relative to the workspace.
pub const WIT_COPIES: &[&str] = &["host/wit"];

/// Tells cargo to rerun the calling build script when `build`'s inputs change.
pub fn rerun_if_changed(workspace: &Path, build: &ComponentBuild<'_>) {
    let shared = ["wit", "Cargo.lock", "Cargo.toml", ".cargo/config.toml"];
    for input in build.inputs.iter().chain(&shared) {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
}

/// Builds `build` in the workspace at `workspace` and copies the component to
/// `destination`, as rustc's linker makes it.
pub fn build_component(
    workspace: &Path,
    build: &ComponentBuild<'_>,
    destination: &Path,
) -> Result<(), String> {
    let built = cargo_build(workspace, build, &Variant::Component)?;
    std::fs::copy(&built, destination).map_err(|e| {
        format!(
            "copying {} to {}: {e}",
            built.display(),
            destination.display()
        )
    })?;
    Ok(())
}

/// Builds `build` as the components the host ships are built: the core module
/// (at the profile's opt-level, or `opt_level`), binaryen's `wasm-opt` with
/// [`WASM_OPT_PASSES`] on it, then the component around it (wit-component,
/// as rustc's linker does). `wasm-opt` must be on `PATH` (Debian and Ubuntu:
/// `apt install binaryen`).
pub fn build_optimized_component(
    workspace: &Path,
    build: &ComponentBuild<'_>,
    destination: &Path,
    opt_level: Option<&str>,
) -> Result<(), String> {
    let core = cargo_build(workspace, build, &Variant::CoreModule { opt_level })?;
    let optimized = core.with_extension("opt.wasm");
    let status = Command::new("wasm-opt")
        .args(WASM_OPT_PASSES)
        .arg(&core)
        .arg("-o")
        .arg(&optimized)
        .status()
        .map_err(|e| {
            format!("cannot run wasm-opt ({e}): install binaryen (e.g. apt install binaryen)")
        })?;
    if !status.success() {
        return Err(format!("wasm-opt failed on {} ({status})", core.display()));
    }
    let module =
        std::fs::read(&optimized).map_err(|e| format!("reading {}: {e}", optimized.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|mut encoder| encoder.encode())
        .map_err(|e| format!("making the component of {}: {e:#}", optimized.display()))?;
    std::fs::write(destination, component)
        .map_err(|e| format!("writing {}: {e}", destination.display()))
}

/// What binaryen's `wasm-opt` does to the shipped core modules: optimize for
/// speed (`-O3`, on top of rustc's LTO build), which also shrinks them; drop
/// debug info and the producers section. The features are those rustc
/// enables for wasm32 targets, so nothing newer is introduced.
pub const WASM_OPT_PASSES: &[&str] = &[
    "-O3",
    "--strip-debug",
    "--strip-producers",
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

/// What `cargo build` makes.
enum Variant<'a> {
    /// The component, as rustc's linker (wasm-component-ld) makes it.
    Component,
    /// The core module alone, with its component-type sections, at the
    /// profile's opt-level or `opt_level`.
    CoreModule { opt_level: Option<&'a str> },
}

/// Runs `cargo build` for `build`; the path of what it wrote.
fn cargo_build(
    workspace: &Path,
    build: &ComponentBuild<'_>,
    variant: &Variant<'_>,
) -> Result<PathBuf, String> {
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
    if let Variant::CoreModule { opt_level } = variant {
        // Appended to the target's rustflags from .cargo/config.toml.
        command.args([
            "--config",
            "target.wasm32-wasip2.rustflags=[\"-Clink-arg=--skip-wit-component\"]",
        ]);
        if let Some(level) = opt_level {
            command.env("CARGO_PROFILE_GUEST_OPT_LEVEL", level);
        }
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo to build {package}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the {package} component failed ({status})"
        ));
    }
    Ok(target_dir.join(TARGET).join(PROFILE).join(build.artifact))
}

/// The workspace root: this crate's parent directory. Only used inside the
/// workspace (the crate is not published).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_owned)
}

/// `OUT_DIR` of the calling build script.
pub fn out_dir() -> Result<PathBuf, String> {
    env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| "no OUT_DIR".to_owned())
}

/// What the components the host ships are built from, relative to the
/// workspace: their change makes the components stale.
pub const COMPONENT_INPUTS: &[&str] = &[
    "wit",
    "guest/src",
    "guest/Cargo.toml",
    "contract/src",
    "contract/Cargo.toml",
    "Cargo.toml",
    "Cargo.lock",
    ".cargo/config.toml",
    "guest-build/src",
];

/// SHA-256 (hex) over the files of [`COMPONENT_INPUTS`], each as its
/// `/`-separated relative path and its bytes, in path order. It depends on
/// nothing but the files, so every machine computes the same.
pub fn inputs_hash(workspace: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    for input in COMPONENT_INPUTS {
        collect_files(workspace, &workspace.join(input), &mut files)?;
    }
    files.sort();
    let mut hasher = Sha256::new();
    for relative in &files {
        let bytes = std::fs::read(workspace.join(relative))
            .map_err(|e| format!("reading {relative}: {e}"))?;
        hasher.update((relative.len() as u64).to_le_bytes());
        hasher.update(relative.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Adds `path` (a file, or a directory walked recursively) to `files` as
/// paths relative to `workspace`.
fn collect_files(workspace: &Path, path: &Path, files: &mut Vec<String>) -> Result<(), String> {
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if metadata.is_dir() {
        let entries =
            std::fs::read_dir(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("reading {}: {e}", path.display()))?;
            collect_files(workspace, &entry.path(), files)?;
        }
        return Ok(());
    }
    let relative = path
        .strip_prefix(workspace)
        .map_err(|_| format!("{} is outside the workspace", path.display()))?;
    let parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    files.push(parts.join("/"));
    Ok(())
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
