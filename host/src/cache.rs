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
        hex::encode(component.get(..16).unwrap_or_default()),
        engine_hash.finish()
    ))
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
/// Cache problems never fail the load: they are logged and the component is
/// compiled. Cached entries are native code that runs in the process holding
/// the key, so a directory or entry another user could have written is never
/// used: the directory must be this user's and closed to group and others
/// (it is created 0700), entries are this user's regular files (written 0600
/// under an unpredictable name, then renamed into place), and symlinks are
/// never followed.
pub(crate) fn load(
    engine: &Engine,
    wasm: &[u8],
    dir: Option<&Path>,
) -> wasmtime::Result<(Component, LoadedFrom)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, wasm)?, LoadedFrom::Compiled));
    };
    if let Err(e) = private_dir(dir) {
        tracing::warn!(dir = %dir.display(), "not using the compile cache: {e}");
        return Ok((Component::new(engine, wasm)?, LoadedFrom::Compiled));
    }
    let path = entry_path(dir, engine, wasm);
    match read_private_file(&path) {
        Ok(Some(bytes)) => {
            // SAFETY: the entry is a regular file owned by this user in a
            // directory only this user can write, named after this exact
            // component and engine configuration: it was written by `store`
            // below from a component this engine compiled.
            match unsafe { Component::deserialize(engine, &bytes) } {
                Ok(component) => return Ok((component, LoadedFrom::Cache)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unreadable cache entry: {e}")
                }
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(path = %path.display(), "ignoring cache entry: {e}"),
    }
    let component = Component::new(engine, wasm)?;
    if let Err(e) = store(&component, dir, &path) {
        tracing::warn!(path = %path.display(), "cannot cache the compiled component: {e}");
    }
    Ok((component, LoadedFrom::Compiled))
}

/// Creates `dir` (0700) when missing; `Err` unless it is a real directory of
/// this user's that group and others cannot write.
#[cfg(unix)]
fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create it: {e}"))?;
    let metadata = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !metadata.is_dir() {
        return Err("it is not a directory (a symlink is not followed)".into());
    }
    private_to_this_user(&metadata, 0o022)
}

#[cfg(not(unix))]
fn private_dir(_dir: &Path) -> Result<(), String> {
    Err("file ownership cannot be checked on this platform".into())
}

/// `Err` unless `metadata` is of this user's and has none of the permission
/// bits `forbidden` (0o022: writable by group or others; 0o077: any access
/// by them). Shared by the cache and the batch reports.
#[cfg(unix)]
pub(crate) fn private_to_this_user(
    metadata: &std::fs::Metadata,
    forbidden: u32,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() != me {
        return Err(format!("owned by uid {}, not by this user", metadata.uid()));
    }
    if metadata.mode() & forbidden != 0 {
        let what = if forbidden & 0o044 == 0 {
            "writable by group or others"
        } else {
            "open to group or others"
        };
        return Err(format!("{what} (mode {:o})", metadata.mode() & 0o777));
    }
    Ok(())
}

/// Ownership cannot be checked on this platform.
#[cfg(not(unix))]
pub(crate) fn private_to_this_user(
    _metadata: &std::fs::Metadata,
    _forbidden: u32,
) -> Result<(), String> {
    Ok(())
}

/// The bytes of `path` when it is a regular file of this user's, opened
/// without following a symlink; `None` when there is no such file.
#[cfg(unix)]
fn read_private_file(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open it without following links: {e}")),
    };
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    private_to_this_user(&metadata, 0o022)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(Some(bytes))
}

#[cfg(not(unix))]
fn read_private_file(_path: &Path) -> Result<Option<Vec<u8>>, String> {
    Ok(None)
}

/// Writes atomically: a new 0600 file with an unpredictable name, created
/// exclusively, then renamed over `path` (a rename replaces a symlink there
/// rather than writing through it), so a reader never sees half an entry.
fn store(component: &Component, dir: &Path, path: &Path) -> Result<(), String> {
    use std::io::Write;
    let bytes = component.serialize().map_err(|e| e.to_string())?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".entry-")
        .tempfile_in(dir)
        .map_err(|e| e.to_string())?;
    temporary.write_all(&bytes).map_err(|e| e.to_string())?;
    temporary.persist(path).map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    fn engine() -> Engine {
        Engine::default()
    }

    /// The smallest component: no imports, no exports.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_cache_is_private_to_its_user() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("nested/cache");
        let (_, from) = load(&engine(), EMPTY_COMPONENT, Some(&dir)).unwrap();
        assert_eq!(from, LoadedFrom::Compiled);
        assert_eq!(mode(&dir), 0o700);
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(mode(&entries[0]), 0o600);
        let (_, from) = load(&engine(), EMPTY_COMPONENT, Some(&dir)).unwrap();
        assert_eq!(from, LoadedFrom::Cache);
    }

    #[test]
    fn a_directory_others_can_write_is_not_used() {
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        for _ in 0..2 {
            let (_, from) = load(&engine(), EMPTY_COMPONENT, Some(root.path())).unwrap();
            assert_eq!(from, LoadedFrom::Compiled);
        }
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn symlinks_are_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cache");
        // A planted entry: the right name, but a symlink to a file elsewhere.
        load(&engine(), EMPTY_COMPONENT, Some(&dir)).unwrap();
        let entry = std::fs::read_dir(&dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let elsewhere = root.path().join("elsewhere.cwasm");
        std::fs::rename(&entry, &elsewhere).unwrap();
        symlink(&elsewhere, &entry).unwrap();
        let (_, from) = load(&engine(), EMPTY_COMPONENT, Some(&dir)).unwrap();
        assert_eq!(from, LoadedFrom::Compiled, "the symlinked entry was loaded");
        assert!(
            !std::fs::symlink_metadata(&entry).unwrap().is_symlink(),
            "replaced by a file"
        );

        // A symlinked cache directory is not used either.
        let linked = root.path().join("linked");
        symlink(&dir, &linked).unwrap();
        let (_, from) = load(&engine(), EMPTY_COMPONENT, Some(&linked)).unwrap();
        assert_eq!(from, LoadedFrom::Compiled);
    }
}
