//! The WIT vendored under `wit/deps/` is byte-for-byte what the crates that
//! implement it ship: wasi:config from wasmtime-wasi-config (what the host links)
//! and the wasi 0.2.2 packages from waki (what the guest calls).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Directory of package `name` in the resolved dependency graph.
fn package_dir(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not a dependency"))["manifest_path"]
        .as_str()
        .unwrap()
        .to_owned();
    Path::new(&manifest).parent().unwrap().to_owned()
}

fn assert_same_files(vendored: &Path, upstream: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(upstream)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut ours: Vec<_> = std::fs::read_dir(vendored)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    ours.sort();
    assert_eq!(ours, names, "files of {}", vendored.display());
    for name in names {
        assert_eq!(
            std::fs::read(vendored.join(&name)).unwrap(),
            std::fs::read(upstream.join(&name)).unwrap(),
            "{} differs from {}",
            vendored.join(&name).display(),
            upstream.join(&name).display()
        );
    }
}

fn wit_deps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/deps")
}

#[test]
fn vendored_wasi_config_matches_the_linked_host_implementation() {
    let upstream = package_dir("wasmtime-wasi-config").join("wit/deps/config");
    assert_same_files(&wit_deps().join("config"), &upstream);
}

#[test]
fn vendored_wasi_http_and_its_deps_match_the_guest_client() {
    let upstream = package_dir("waki").join("wit/deps");
    for package in [
        "cli",
        "clocks",
        "filesystem",
        "http",
        "io",
        "random",
        "sockets",
    ] {
        assert_same_files(&wit_deps().join(package), &upstream.join(package));
    }
}
