//! Which instance a call runs in: a fresh one, or a warm one kept from an
//! earlier successful call of the same connector.
//!
//! Instantiating costs more than the guest's own work on a call (a new
//! `Store`, its WASI contexts and resource table, the instance's exports and
//! a reset of its memory slot), so reusing instances is the biggest saving
//! per call. The price is that a guest's statics and heap outlive a call, so
//! warm reuse is the default only for the embedded component, whose
//! statelessness this project controls and tests.

use std::str::FromStr;
use std::sync::Mutex;

use wasmtime::Store;

use crate::bindings;

use super::builder::ComponentSource;
use super::sandbox::CallState;

/// How calls get an instance of the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceReuse {
    /// A fresh store and instance per call: nothing a call leaves in the
    /// guest's memory reaches another call.
    Fresh,
    /// Instances are kept after a successful call and reused by the next
    /// calls of the same connector (never of another connector), each for at
    /// most `max_calls` calls. The guest's statics and heap persist between
    /// those calls. An instance is dropped, never reused, after a trap, the
    /// deadline, the memory limit, any error result of the call (from the
    /// component or the host), a call that left resources open, or once its
    /// memory has grown past [`MAX_WARM_MEMORY`].
    Warm {
        /// Calls one instance serves before it is dropped.
        max_calls: u32,
    },
}

impl InstanceReuse {
    /// Warm reuse with the default bound of calls per instance.
    pub const WARM: InstanceReuse = InstanceReuse::Warm { max_calls: 1_000 };

    /// Warm for the embedded builds, fresh for a component given as a file
    /// or bytes: only the embedder knows whether that one keeps state.
    pub fn default_for(source: &ComponentSource) -> Self {
        match source {
            ComponentSource::Embedded | ComponentSource::EmbeddedService => Self::WARM,
            ComponentSource::File(_) | ComponentSource::Bytes(_) => Self::Fresh,
        }
    }
}

impl FromStr for InstanceReuse {
    type Err = String;

    /// `fresh` or `warm`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "fresh" => Ok(Self::Fresh),
            "warm" => Ok(Self::WARM),
            other => Err(format!("{other:?} is not an instance mode: fresh or warm")),
        }
    }
}

impl std::fmt::Display for InstanceReuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fresh => f.write_str("fresh"),
            Self::Warm { .. } => f.write_str("warm"),
        }
    }
}

/// Linear memory an idle instance may hold: one whose memory grew past this
/// (e.g. for a long list) is dropped after its call instead of keeping that
/// memory while idle.
pub const MAX_WARM_MEMORY: usize = 8 << 20;

/// An instance with its store, between calls.
pub(super) struct WarmInstance {
    pub(super) store: Store<CallState>,
    pub(super) instance: bindings::Connector,
    /// Calls it has served.
    pub(super) calls: u32,
}

/// The idle warm instances of one connector.
///
/// An operation call takes an idle instance or, when there is none, makes
/// one; an HTTP call makes one after evicting idle ones while more are idle
/// than turns are free. So the instances alive (idle, or held by a call with
/// a turn) never outnumber the turns, for which the pooling allocator's slots
/// are sized.
pub(super) struct WarmPool {
    idle: Mutex<Vec<WarmInstance>>,
    max_calls: u32,
}

impl WarmPool {
    pub(super) fn new(max_calls: u32) -> Self {
        WarmPool {
            idle: Mutex::new(Vec::new()),
            max_calls,
        }
    }

    /// The most recently used idle instance: its memory is the likeliest to
    /// be in the CPU's caches.
    pub(super) fn take(&self) -> Option<WarmInstance> {
        self.idle.lock().ok()?.pop()
    }

    /// Keeps `instance` for a later call, unless it has served its calls.
    pub(super) fn put(&self, instance: WarmInstance) {
        if instance.calls < self.max_calls
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(instance);
        }
    }

    /// Drops one idle instance, freeing its slot for a call that needs a
    /// fresh instance of its own; whether there was one.
    pub(super) fn evict_one(&self) -> bool {
        let evicted = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        // Dropped here, after the lock is released.
        evicted.is_some()
    }

    /// Idle instances now.
    pub(super) fn idle(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
    }
}
