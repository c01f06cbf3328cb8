//! The WIT vendored under `wit/deps/` is byte-for-byte what the crates that
//! implement it ship: wasi:config from wasmtime-wasi-config (what the host links),
//! the wasi 0.2.2 packages from waki (what the guest calls), and Spin's draft
//! of wasi:config from spin-sdk.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Source directory of the one version of `name` in `Cargo.lock`, in cargo's
/// registry cache (the build downloaded it). Not `cargo metadata`: offline, it
/// would want the crates of every platform, which a fresh machine lacks.
fn package_dir(name: &str) -> PathBuf {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap();
    let versions: Vec<&str> = lock
        .split("[[package]]")
        .filter(|package| package.contains(&format!("\nname = \"{name}\"\n")))
        .filter_map(|package| {
            package
                .lines()
                .find_map(|line| line.strip_prefix("version = \""))
                .and_then(|rest| rest.strip_suffix('"'))
        })
        .collect();
    let [version] = versions.as_slice() else {
        panic!("{name} is in Cargo.lock {} times", versions.len());
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    std::fs::read_dir(cargo_home.join("registry/src"))
        .unwrap()
        .map(|registry| registry.unwrap().path().join(format!("{name}-{version}")))
        .find(|dir| dir.exists())
        .unwrap_or_else(|| panic!("{name} {version} is not in cargo's registry cache"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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
    workspace().join("wit/deps")
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

/// spin-sdk 5.2.0's `wit/deps/wasi-runtime-config-2024-09-27`. spin-sdk is not
/// a dependency, so its files are checked by their SHA-256.
#[test]
fn vendored_wasi_config_draft_is_spin_sdks() {
    let dir = wit_deps().join("config-draft-2024-09-27");
    let files = [
        (
            "store.wit",
            "56dca42e1843864fc492612e15b0f4643dd0c756270e6812b9d6d623c1ebae31",
        ),
        (
            "world.wit",
            "86be68fecf2be17917cb9d1023733da42c3774f379e8d70e5b0790354013af74",
        ),
    ];
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, files.map(|(name, _)| name));
    for (name, sha256) in files {
        let digest = Sha256::digest(std::fs::read(dir.join(name)).unwrap());
        let hex = hex::encode(digest);
        assert_eq!(hex, sha256, "{name} differs from spin-sdk 5.2.0's");
    }
}
