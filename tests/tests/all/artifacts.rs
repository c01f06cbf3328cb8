//! What the host crate ships from elsewhere in the workspace, so that its
//! package is self-contained: the components (built by `cargo run -p
//! guest-build` and committed) and its copy of `wit/`. Both must match the
//! workspace's sources; when a test here fails, run `cargo run -p guest-build`
//! and commit what it changed.

use std::path::{Path, PathBuf};

use guest_build::{COMPONENTS_DIR, INPUTS_FILE, SHIPPED, WIT_COPIES, inputs_hash, workspace};
use sha2::{Digest, Sha256};

#[test]
fn the_shipped_components_are_built_from_the_current_sources() {
    let workspace = workspace();
    let recorded = std::fs::read_to_string(workspace.join(INPUTS_FILE)).unwrap();
    let recorded = recorded
        .lines()
        .find_map(|line| line.strip_prefix("sha256 "))
        .unwrap();
    assert_eq!(
        recorded,
        inputs_hash(&workspace).unwrap(),
        "{INPUTS_FILE} records other inputs than the workspace holds: the components in \
         {COMPONENTS_DIR} are stale. Run `cargo run -p guest-build` and commit the result."
    );
}

#[test]
fn the_shipped_components_are_the_files_built_from_those_inputs() {
    let workspace = workspace();
    let recorded = std::fs::read_to_string(workspace.join(INPUTS_FILE)).unwrap();
    for (_, file) in SHIPPED {
        let bytes = std::fs::read(workspace.join(COMPONENTS_DIR).join(file)).unwrap();
        let expected = format!("{file} sha256 {}", hex::encode(Sha256::digest(bytes)));
        assert!(
            recorded.lines().any(|line| line == expected),
            "{COMPONENTS_DIR}/{file} is not the file guest-build recorded in {INPUTS_FILE}"
        );
    }
}

/// Every file under `dir`, relative to it, in order.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_package_carries_the_same_wit_as_wit() {
    let workspace = workspace();
    let original = workspace.join("wit");
    for copy in WIT_COPIES {
        let copy = workspace.join(copy);
        assert_eq!(files(&copy), files(&original), "{}", copy.display());
        for file in files(&original) {
            assert!(
                std::fs::read(copy.join(&file)).unwrap()
                    == std::fs::read(original.join(&file)).unwrap(),
                "{} differs from wit/: run `cargo run -p guest-build`",
                copy.join(&file).display()
            );
        }
    }
}
