//! What a call runs in: a store with its memory limit, its resource table and
//! its policy hooks (fresh, or kept from an earlier call and started anew by
//! `begin_call`), and how a call's outcome is judged when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::error::Elapsed;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::{
    CallHook, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter,
    Store, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::WasiConfigVariables;
use wasmtime_wasi_http::p2::types::HostOutgoingRequest;
use wasmtime_wasi_http::{RequestOptions, WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::dixa::connector::types as wit;
use crate::error::Error;
use crate::fair::CallContext;
use crate::policy::{DixaGate, OutboundPolicy, PolicyHooks};

use super::Connector;
use super::builder::{BuildError, wasmtime_error};

/// Bytes of a pooled memory slot reset with memset (not `madvise`) when an
/// instance is dropped: more than the embedded guest's memory after a call of
/// the connector's operations (its initial memory and stack, a few pages of
/// heap), since `madvise` costs page faults and TLB shootdowns across threads
/// on the slot's next use.
const MEMORY_KEEP_RESIDENT: usize = 512 << 10;
/// The same for a pooled table slot.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// How often the engine's epoch advances: a busy guest yields its thread this often,
/// so the timeout around a call can stop it.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// An engine with pooled instances sized for `calls` concurrent calls and
/// epoch interruption, so a busy guest yields.
pub(super) fn engine(memory_limit: usize, calls: u32) -> Result<Engine, BuildError> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(calls)
        .total_core_instances(calls.saturating_mul(8))
        .total_memories(calls.saturating_mul(4))
        .total_tables(calls.saturating_mul(8))
        .total_stacks(calls)
        .max_memory_size(memory_limit)
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT);
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(wasmtime_error("configuring wasmtime"))
}

/// The WASI interfaces the host links, by name prefix: what Rust's standard
/// library and the connector import, and nothing else (no sockets, files or
/// terminal of its own). A component importing anything more is refused at build.
pub(super) const LINKED_INTERFACES: &[&str] = &[
    // Type definitions only: the connector's records, no functions.
    "dixa:connector/types@",
    "wasi:http/outgoing-handler@",
    "wasi:http/types@",
    "wasi:config/store@",
    "wasi:io/error@",
    "wasi:io/poll@",
    "wasi:io/streams@",
    "wasi:clocks/monotonic-clock@",
    "wasi:clocks/wall-clock@",
    "wasi:random/random@",
    "wasi:random/insecure@",
    "wasi:random/insecure-seed@",
    "wasi:cli/environment@",
    "wasi:cli/exit@",
    "wasi:cli/stdin@",
    "wasi:cli/stdout@",
    "wasi:cli/stderr@",
    // Rust's std asks whether stdio is a terminal; the answer is always no.
    "wasi:cli/terminal-input@",
    "wasi:cli/terminal-output@",
    "wasi:cli/terminal-stdin@",
    "wasi:cli/terminal-stdout@",
    "wasi:cli/terminal-stderr@",
];

/// Links the WASI interfaces of [`LINKED_INTERFACES`] but `wasi:http` and
/// `wasi:config`: environment and arguments are empty, stdio goes nowhere.
pub(super) fn add_least_wasi_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, random};
    use wasmtime_wasi::random::{WasiRandom, WasiRandomView as _};
    use wasmtime_wasi_io::bindings::wasi::io;

    /// `wasi:io` works on the call's resource table.
    struct HasIo;
    impl wasmtime::component::HasData for HasIo {
        type Data<'a> = &'a mut ResourceTable;
    }

    type State = CallState;
    let l = linker;
    io::error::add_to_linker::<State, HasIo>(l, |t| &mut t.table)?;
    io::poll::add_to_linker::<State, HasIo>(l, |t| &mut t.table)?;
    io::streams::add_to_linker::<State, HasIo>(l, |t| &mut t.table)?;
    clocks::wall_clock::add_to_linker::<State, WasiClocks>(l, State::clocks)?;
    clocks::monotonic_clock::add_to_linker::<State, WasiClocks>(l, State::clocks)?;
    random::random::add_to_linker::<State, WasiRandom>(l, State::random)?;
    random::insecure::add_to_linker::<State, WasiRandom>(l, State::random)?;
    random::insecure_seed::add_to_linker::<State, WasiRandom>(l, State::random)?;
    cli::exit::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::environment::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stdin::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stdout::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::stderr::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_input::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_output::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stdin::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stdout::add_to_linker::<State, WasiCli>(l, State::cli)?;
    cli::terminal_stderr::add_to_linker::<State, WasiCli>(l, State::cli)?;
    Ok(())
}

/// The `wasi:http` version wasmtime-wasi-http links (guests importing an
/// older 0.2 release are served by it too). Should an upgrade change it, the
/// shadow below would name another instance and the leak would be back:
/// `tests/tests/all/instances.rs` would see no instance reused.
const WASI_HTTP_OUTGOING_HANDLER: &str = "wasi:http/outgoing-handler@0.2.12";

/// Links `wasi:http` as wasmtime-wasi-http serves it, with one fix to its
/// `outgoing-handler.handle`: wasmtime-wasi-http 48 reads the
/// `request-options` the guest hands over with a request (waki passes them on
/// every request) and never removes them from the resource table, one entry
/// per request for the life of the store. That would fill a warm instance's
/// table and keep it from ever looking clean after a call.
pub(super) fn add_http_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime_wasi_http::p2::bindings::http::{outgoing_handler, types};

    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    linker.allow_shadowing(true);
    linker.instance(WASI_HTTP_OUTGOING_HANDLER)?.func_wrap(
        "handle",
        |mut store: wasmtime::StoreContextMut<'_, CallState>,
         (request, options): (
            Resource<HostOutgoingRequest>,
            Option<Resource<RequestOptions>>,
        )| {
            let mut http = store.data_mut().http();
            let given_up = options.as_ref().map(Resource::rep);
            let response = outgoing_handler::Host::handle(&mut http, request, options);
            // The guest gave them up with the call; nothing else refers to
            // them. Checked by type first: should `handle` ever free them
            // itself, their slot may hold the response future by now.
            if let Some(rep) = given_up
                && http
                    .table
                    .get(&Resource::<RequestOptions>::new_borrow(rep))
                    .is_ok()
            {
                let _ = http.table.delete(Resource::<RequestOptions>::new_own(rep));
            }
            Ok((match response {
                Ok(future) => Ok(future),
                Err(error) => Err(types::Host::convert_error_code(&mut http, error)?),
            },))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Advances the epoch every tick until the engine is dropped.
pub(super) fn spawn_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = engine.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

impl Connector {
    /// A fresh store with the connector's memory limit, ready for
    /// [`begin_call`](Self::begin_call).
    pub(super) fn new_store(&self) -> Store<CallState> {
        let limits = self.policy.limits;
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.resources);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(limits.header_bytes);
        let state = CallState {
            table,
            // Empty environment and arguments; stdio reads nothing, writes nowhere.
            wasi: WasiCtx::builder().build(),
            http,
            hooks: self.policy_hooks(Arc::default(), CallContext::default()),
            config: Arc::clone(&self.config),
            config_pairs: Arc::clone(&self.guest_config),
            limits: MemoryLimiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.memory_limit)
                    .build(),
                memory_exhausted: Arc::default(),
                memory_bytes: 0,
            },
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limits);
        // A busy guest hands its thread back to tokio at every epoch tick; the
        // call's deadline is the timeout around it.
        store.epoch_deadline_async_yield_and_update(1);
        if let Some(counter) = &self.host_calls {
            let counter = Arc::clone(counter);
            store.call_hook(move |_, hook| {
                if matches!(hook, CallHook::CallingHost) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            });
        }
        store
    }

    /// Starts a call for `context` in `store`, fresh or warm: a new gate, new
    /// per-call policy budgets and a new memory flag, the epoch deadline set.
    pub(super) fn begin_call(
        &self,
        store: &mut Store<CallState>,
        context: &CallContext,
    ) -> Sandbox {
        let gate = Arc::new(DixaGate::default());
        let state = store.data_mut();
        state.hooks = self.policy_hooks(Arc::clone(&gate), context.clone());
        // A new flag, not a cleared one: the store may go back to the pool and
        // serve another call before this call's outcome is read.
        let memory_exhausted = Arc::new(AtomicBool::new(false));
        state.limits.memory_exhausted = Arc::clone(&memory_exhausted);
        store.set_epoch_deadline(1);
        Sandbox {
            memory_exhausted,
            gate,
            call_timeout: self.call_timeout,
            memory_limit: self.memory_limit,
            policy: Arc::clone(&self.policy),
        }
    }

    fn policy_hooks(&self, gate: Arc<DixaGate>, context: CallContext) -> PolicyHooks {
        PolicyHooks::new(
            Arc::clone(&self.policy),
            self.http_client.clone(),
            Arc::clone(&self.rate_limiter),
            gate,
            context,
        )
    }
}

/// Everything a `Store` holds: the per-call parts are replaced by `begin_call`.
pub(super) struct CallState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: PolicyHooks,
    /// The component's settings for `wasi:config/store@0.2.0-rc.1`...
    pub(super) config: Arc<WasiConfigVariables>,
    /// ... and for the draft Spin serves.
    pub(super) config_pairs: Arc<Vec<(String, String)>>,
    limits: MemoryLimiter,
}

impl CallState {
    /// Whether the guest still holds resources (requests, streams, ...): an
    /// instance that does after its call is not reused.
    pub(super) fn holds_resources(&self) -> bool {
        !self.table.is_empty()
    }

    /// Bytes of linear memory the guest has grown to, all memories together.
    pub(super) fn memory_bytes(&self) -> usize {
        self.limits.memory_bytes
    }
}

/// What a call's outcome is judged by, kept apart from its store.
pub(super) struct Sandbox {
    memory_exhausted: Arc<AtomicBool>,
    /// Closed when the outcome is decided: says whether a request that
    /// changes something went out.
    pub(super) gate: Arc<DixaGate>,
    call_timeout: Duration,
    memory_limit: usize,
    /// Its key is redacted from every error, whatever the component or Dixa
    /// put in it.
    policy: Arc<OutboundPolicy>,
}

impl Sandbox {
    /// Whether the guest ran into the memory limit during the call.
    pub(super) fn memory_exhausted(&self) -> bool {
        self.memory_exhausted.load(Ordering::Relaxed)
    }

    /// The call's result, or the limit that stopped it, with the key redacted.
    pub(super) fn outcome<T>(
        &self,
        run: Result<wasmtime::Result<Result<T, wit::Error>>, Elapsed>,
    ) -> Result<T, Error> {
        // Stopped by the host: only the host knows whether Dixa may have acted.
        let writes = self.gate.close();
        let dixa_may_have_acted = writes.any;
        let error = match run {
            Err(_elapsed) => Error::Deadline {
                timeout: self.call_timeout,
                dixa_may_have_acted,
            },
            Ok(Err(_)) if self.memory_exhausted.load(Ordering::Relaxed) => Error::MemoryLimit {
                limit_bytes: self.memory_limit,
                dixa_may_have_acted,
            },
            Ok(Err(e)) => Error::Component {
                message: format!("{e:#}"),
                dixa_may_have_acted,
            },
            Ok(Ok(Ok(output))) => return Ok(output),
            Ok(Ok(Err(error))) => Error::from_component(error.into(), writes.unrepeatable),
        };
        Err(self.policy.redact_error(error))
    }
}

/// One call's resource limits, remembering whether the guest ran into the
/// memory limit so its trap can be reported as that, and how large the
/// guest's memories have grown.
struct MemoryLimiter {
    limits: StoreLimits,
    memory_exhausted: Arc<AtomicBool>,
    /// Bytes of linear memory the guest has grown to, all memories together.
    memory_bytes: usize,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory_bytes = self
                .memory_bytes
                .saturating_add(desired.saturating_sub(current));
        } else {
            self.memory_exhausted.store(true, Ordering::Relaxed);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
