//! Compiled components cached on disk, so a CLI run skips the ~100 ms compile.
//!
//! A cache entry is named after the component's SHA-256 and the engine's
//! compatibility hash (wasmtime version and settings), so a change to either
//! misses the cache instead of loading incompatible code.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The default cache directory: `$DIXA_CACHE_DIR`, else `$XDG_CACHE_HOME/dixa-connector`,
/// else `~/.cache/dixa-connector`.
pub fn default_dir() -> Option<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("DIXA_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("dixa-connector")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("dixa-connector")))
}

/// Where `wasm` compiled by `engine` is cached inside `dir`.
fn entry_path(dir: &Path, engine: &Engine, wasm: &[u8]) -> PathBuf {
    let component = Sha256::digest(wasm);
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    dir.join(format!(
        "{}-{:016x}.cwasm",
        hex(component.get(..16).unwrap_or_default()),
        engine_hash.finish()
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How a component was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedFrom {
    /// Compiled now (no cache, a miss, or an unreadable entry).
    Compiled,
    /// Loaded from the disk cache.
    Cache,
}

/// Loads `wasm` from the cache in `dir`, or compiles it and stores it there.
///
/// Cache problems never fail the load: they are logged and the component is compiled.
pub fn load(
    engine: &Engine,
    wasm: &[u8],
    dir: Option<&Path>,
) -> wasmtime::Result<(Component, LoadedFrom)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, wasm)?, LoadedFrom::Compiled));
    };
    let path = entry_path(dir, engine, wasm);
    if path.exists() {
        // SAFETY: the entry was written by `store` below from a component this
        // engine compiled; its name binds it to this exact component and engine
        // configuration. The cache directory is as trusted as the binary itself.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok((component, LoadedFrom::Cache)),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unreadable cache entry: {e}")
            }
        }
    }
    let component = Component::new(engine, wasm)?;
    if let Err(e) = store(&component, &path) {
        tracing::warn!(path = %path.display(), "cannot cache the compiled component: {e}");
    }
    Ok((component, LoadedFrom::Compiled))
}

/// Writes atomically (temporary file + rename) so a concurrent reader never sees half an entry.
fn store(component: &Component, path: &Path) -> Result<(), String> {
    let bytes = component.serialize().map_err(|e| e.to_string())?;
    let dir = path.parent().ok_or("cache path has no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&temporary, path).map_err(|e| e.to_string())
}
