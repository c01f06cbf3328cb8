//! [`Connector`]: the component compiled once, then called any number of times,
//! concurrently, each call in a fresh sandbox with its own memory and time limits.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dixa_contract::operations as ops;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::error::Elapsed;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::{self, dixa::connector::types as wit};
use crate::cache::{self, LoadedFrom};
use crate::draft_config::{self, DraftConfig};
use crate::http_client::HttpClient;
use crate::policy::{ApiKey, CallLimits, Origin, OutboundPolicy, PolicyHooks, Timeouts};
use crate::rate_limit::{DixaRateLimiter, RateLimit};
use crate::types::{
    ConnectorError, Error, Message, MessageInput, Note, NoteInput, TagInput, TagResult,
    input_from_value,
};

/// The guest component built with this crate (the `connector` world).
pub const EMBEDDED_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dixa_connector.wasm"));

/// The guest built as the `connector-service` world: the operations, also
/// served over HTTP by its `wasi:http/incoming-handler`.
pub const EMBEDDED_SERVICE_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dixa_connector_service.wasm"));

/// Dixa's production API.
pub const DIXA_BASE_URL: &str = "https://dev.dixa.io";

/// Bytes of each pooled memory, table and stack kept resident between calls.
const KEEP_RESIDENT: usize = 512 << 10;
const KEEP_RESIDENT_SMALL: usize = 64 << 10;

/// How often the engine's epoch advances: a busy guest yields its thread this often,
/// so the timeout around a call can stop it.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Which component to run.
#[derive(Debug, Clone)]
pub enum ComponentSource {
    /// The guest built alongside this crate.
    Embedded,
    /// The guest built alongside this crate as an HTTP service, for
    /// [`Connector::handle_http`].
    EmbeddedService,
    /// A `.wasm` component file, e.g. another build of the guest.
    File(PathBuf),
    /// Component bytes.
    Bytes(Vec<u8>),
}

/// Why a [`Connector`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL or an allowed host is not an http(s) origin.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The key would travel in clear: an `http://` base URL that is not on
    /// loopback, without [`ConnectorBuilder::insecure_http`].
    #[error(
        "https is required to send the API key to {0}: use an https:// base URL \
         (http:// is accepted only for loopback hosts, or with --insecure-http)"
    )]
    InsecureBaseUrl(String),
    /// The component imports an interface the host does not provide, such as
    /// `wasi:sockets` or `wasi:filesystem`.
    #[error(
        "the component imports {0}, which this host does not provide: it links only \
         wasi:http, wasi:config, wasi:io, wasi:clocks, wasi:random and wasi:cli's stdio and environment"
    )]
    UnsupportedImport(String),
    /// The component file could not be read.
    #[error("cannot read component {path}: {source}")]
    ReadComponent {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// wasmtime refused the configuration, the component, or its imports.
    #[error("{context}: {message}")]
    Wasmtime {
        /// What was being done.
        context: &'static str,
        /// wasmtime's explanation.
        message: String,
    },
}

fn wasmtime_error(context: &'static str) -> impl FnOnce(wasmtime::Error) -> BuildError {
    move |e| BuildError::Wasmtime {
        context,
        message: format!("{e:#}"),
    }
}

/// Settings for a [`Connector`]; start from [`Connector::builder`].
#[derive(Debug, Clone)]
pub struct ConnectorBuilder {
    base_url: String,
    allowed_hosts: Vec<String>,
    api_key: Option<ApiKey>,
    key_in_guest_config: bool,
    insecure_http: bool,
    timeouts: Timeouts,
    limits: CallLimits,
    call_timeout: Duration,
    memory_limit: usize,
    max_concurrent_calls: u32,
    component: ComponentSource,
    cache_dir: Option<PathBuf>,
    config_overrides: Vec<(String, String)>,
    rate_limit: RateLimit,
}

impl Default for ConnectorBuilder {
    fn default() -> Self {
        ConnectorBuilder {
            base_url: DIXA_BASE_URL.to_owned(),
            allowed_hosts: Vec::new(),
            api_key: None,
            key_in_guest_config: false,
            insecure_http: false,
            timeouts: Timeouts::default(),
            limits: CallLimits::default(),
            call_timeout: Duration::from_secs(60),
            memory_limit: 64 << 20,
            max_concurrent_calls: 64,
            component: ComponentSource::Embedded,
            cache_dir: None,
            config_overrides: Vec::new(),
            rate_limit: RateLimit::default(),
        }
    }
}

impl ConnectorBuilder {
    /// How fast the connector's calls together may send requests to Dixa
    /// (default: Dixa's documented 10 per second, bursts of 4). A 429 from
    /// Dixa pauses them all for its `Retry-After`.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Dixa's origin (default `https://dev.dixa.io`); the only origin that gets the key.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Lets the component also reach `url`'s origin, without the key.
    pub fn allow_host(mut self, url: impl Into<String>) -> Self {
        self.allowed_hosts.push(url.into());
        self
    }

    /// The key the host adds as `Authorization` to requests to the base URL.
    pub fn api_key(mut self, key: Option<ApiKey>) -> Self {
        self.api_key = key;
        self
    }

    /// Also hands the key to the component as its `api-key` config (off by default:
    /// the component then never sees the key).
    pub fn key_in_guest_config(mut self, yes: bool) -> Self {
        self.key_in_guest_config = yes;
        self
    }

    /// Allows an `http://` base URL on a host other than loopback, so the key
    /// travels in clear (off by default: such a URL fails the build).
    pub fn insecure_http(mut self, yes: bool) -> Self {
        self.insecure_http = yes;
        self
    }

    /// What one call may hold in host memory (see [`CallLimits`]).
    pub fn limits(mut self, limits: CallLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Per-request network timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Wall-clock limit of one call, retries included (default 60 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Linear memory one call may use, in bytes (default 64 MiB).
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Calls running at once; more wait their turn (default 64).
    pub fn max_concurrent_calls(mut self, calls: u32) -> Self {
        self.max_concurrent_calls = calls.max(1);
        self
    }

    /// The component to run (default: the embedded build).
    pub fn component(mut self, source: ComponentSource) -> Self {
        self.component = source;
        self
    }

    /// Caches the compiled component in `dir` (default: no disk cache).
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Sets a `wasi:config` value for the component, overriding what the host
    /// derives (`base-url`, `api-key-injected`). The outbound policy still
    /// follows [`base_url`](Self::base_url).
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config_overrides.push((key.into(), value.into()));
        self
    }

    /// Compiles (or loads from the cache) and links the component.
    pub fn build(self) -> Result<Connector, BuildError> {
        let started = Instant::now();
        let dixa = Origin::parse(&self.base_url).map_err(BuildError::InvalidUrl)?;
        if self.api_key.is_some()
            && dixa.scheme == "http"
            && !dixa.is_loopback()
            && !self.insecure_http
        {
            return Err(BuildError::InsecureBaseUrl(dixa.to_string()));
        }
        let dixa_path_prefix = self
            .base_url
            .parse::<http::Uri>()
            .map(|uri| uri.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let extra_allowed = self
            .allowed_hosts
            .iter()
            .map(|url| Origin::parse(url))
            .collect::<Result<Vec<_>, _>>()
            .map_err(BuildError::InvalidUrl)?;

        let engine = engine(self.memory_limit, self.max_concurrent_calls)?;
        let wasm = match &self.component {
            ComponentSource::Embedded => std::borrow::Cow::Borrowed(EMBEDDED_COMPONENT),
            ComponentSource::EmbeddedService => {
                std::borrow::Cow::Borrowed(EMBEDDED_SERVICE_COMPONENT)
            }
            ComponentSource::Bytes(bytes) => std::borrow::Cow::Borrowed(bytes.as_slice()),
            ComponentSource::File(path) => {
                std::borrow::Cow::Owned(std::fs::read(path).map_err(|source| {
                    BuildError::ReadComponent {
                        path: path.clone(),
                        source,
                    }
                })?)
            }
        };
        let (component, loaded_from) = cache::load(&engine, &wasm, self.cache_dir.as_deref())
            .map_err(wasmtime_error("compiling the component"))?;

        let mut linker = Linker::<CallState>::new(&engine);
        add_least_wasi_to_linker(&mut linker).map_err(wasmtime_error("linking wasi"))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(wasmtime_error("linking wasi:http"))?;
        wasmtime_wasi_config::add_to_linker(&mut linker, |state: &mut CallState| {
            WasiConfig::from(&*state.config)
        })
        .map_err(wasmtime_error("linking wasi:config"))?;
        // Spin's draft of wasi:config, so the guest's Spin build runs here too.
        draft_config::add_to_linker(&mut linker, |state: &mut CallState| {
            DraftConfig::new(&state.config_pairs)
        })
        .map_err(wasmtime_error("linking the wasi:config draft"))?;
        if let Some(import) = component
            .component_type()
            .imports(&engine)
            .map(|(name, _)| name)
            .find(|name| !LINKED_INTERFACES.iter().any(|p| name.starts_with(p)))
        {
            return Err(BuildError::UnsupportedImport(import.to_owned()));
        }
        let instance_pre = linker.instantiate_pre(&component).map_err(wasmtime_error(
            "the component's imports are not ones the host provides",
        ))?;
        let pre = bindings::ConnectorPre::new(instance_pre.clone()).map_err(wasmtime_error(
            "the component does not export the connector's conversations",
        ))?;
        // Only the service worlds export the HTTP handler.
        let proxy = ProxyPre::new(instance_pre).ok();

        let mut config = vec![(
            "base-url".to_owned(),
            self.base_url.trim_end_matches('/').to_owned(),
        )];
        match &self.api_key {
            Some(key) if self.key_in_guest_config => {
                config.push(("api-key".into(), key.expose().into()))
            }
            Some(_) => config.push(("api-key-injected".into(), "true".into())),
            None => {}
        }
        for (key, value) in self.config_overrides {
            config.retain(|(k, _)| *k != key);
            config.push((key, value));
        }

        spawn_epoch_ticker(&engine);
        Ok(Connector {
            pre,
            proxy,
            config: Arc::new(config.iter().cloned().collect()),
            guest_config: Arc::new(config),
            http_client: HttpClient::new(self.timeouts.connect),
            rate_limiter: Arc::new(DixaRateLimiter::new(self.rate_limit)),
            policy: Arc::new(OutboundPolicy {
                dixa,
                dixa_path_prefix,
                extra_allowed,
                api_key: self.api_key,
                timeouts: self.timeouts,
                limits: self.limits,
            }),
            call_timeout: self.call_timeout,
            memory_limit: self.memory_limit,
            permits: Arc::new(Semaphore::new(self.max_concurrent_calls as usize)),
            load: LoadReport {
                loaded_from,
                duration: started.elapsed(),
            },
        })
    }
}

/// How the component was loaded, and how long that took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    /// Compiled now or read from the disk cache.
    pub loaded_from: LoadedFrom,
    /// Time spent in [`ConnectorBuilder::build`].
    pub duration: Duration,
}

/// An engine with pooled instances sized for `calls` concurrent calls and
/// epoch interruption, so a busy guest yields.
fn engine(memory_limit: usize, calls: u32) -> Result<Engine, BuildError> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(calls)
        .total_core_instances(calls.saturating_mul(8))
        .total_memories(calls.saturating_mul(4))
        .total_tables(calls.saturating_mul(8))
        .total_stacks(calls)
        .max_memory_size(memory_limit)
        // Reset a slot's first pages with memset instead of madvise: a call
        // touches about this much, and madvise costs page faults and TLB
        // shootdowns across threads on every call.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT_SMALL)
        .async_stack_keep_resident(KEEP_RESIDENT_SMALL);
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(wasmtime_error("configuring wasmtime"))
}

/// The WASI interfaces the host links, by name prefix: what Rust's standard
/// library and the connector import, and nothing else (no sockets, files or
/// terminal of its own). A component importing anything more is refused at build.
const LINKED_INTERFACES: &[&str] = &[
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
fn add_least_wasi_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
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

/// Advances the epoch every tick until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = engine.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

/// The Dixa connector component, ready to call. Cheap to share: wrap it in an
/// `Arc` and call it from as many tasks as you like.
pub struct Connector {
    pre: bindings::ConnectorPre<CallState>,
    proxy: Option<ProxyPre<CallState>>,
    config: Arc<WasiConfigVariables>,
    guest_config: Arc<Vec<(String, String)>>,
    policy: Arc<OutboundPolicy>,
    http_client: HttpClient,
    rate_limiter: Arc<DixaRateLimiter>,
    call_timeout: Duration,
    memory_limit: usize,
    permits: Arc<Semaphore>,
    load: LoadReport,
}

impl Connector {
    /// Settings with the defaults; see [`ConnectorBuilder`].
    pub fn builder() -> ConnectorBuilder {
        ConnectorBuilder::default()
    }

    /// How the component was loaded.
    pub fn load_report(&self) -> LoadReport {
        self.load
    }

    /// Every `wasi:config` key and value the component can read.
    pub fn guest_config(&self) -> &[(String, String)] {
        &self.guest_config
    }

    /// Instantiates the component in a fresh sandbox without calling it: a
    /// readiness check, and the per-call setup cost on its own.
    pub async fn check(&self) -> Result<(), Error> {
        self.call(|_store, _connector| async { Ok(Ok(())) }).await
    }

    /// Adds an internal note to a conversation.
    pub async fn create_internal_note(&self, input: NoteInput) -> Result<Note, Error> {
        let input = wit::NoteInput::from(input);
        self.call(|mut store, connector| async move {
            connector
                .dixa_connector_conversations()
                .call_create_internal_note(&mut store, &input)
                .await
        })
        .await
        .map(Note::from)
    }

    /// Adds an inbound or outbound message to a conversation.
    pub async fn add_message(&self, input: MessageInput) -> Result<Message, Error> {
        let input = wit::MessageInput::from(input);
        self.call(|mut store, connector| async move {
            connector
                .dixa_connector_conversations()
                .call_add_message(&mut store, &input)
                .await
        })
        .await
        .map(Message::from)
    }

    /// Tags a conversation.
    pub async fn tag_conversation(&self, input: TagInput) -> Result<TagResult, Error> {
        let input = wit::TagInput::from(input);
        self.call(|mut store, connector| async move {
            connector
                .dixa_connector_conversations()
                .call_tag_conversation(&mut store, &input)
                .await
        })
        .await
        .map(TagResult::from)
    }

    /// Runs the operation named `operation` (its WIT name, e.g.
    /// `add-message`) on its camelCase JSON input, and gives its JSON output:
    /// the one entry point for callers that pick the operation at run time
    /// (the CLI, batch lines).
    pub async fn call_json(&self, operation: &str, input: Value) -> Result<Value, Error> {
        fn json(output: impl serde::Serialize) -> Result<Value, Error> {
            serde_json::to_value(output)
                .map_err(|e| Error::component(format!("rendering the output: {e}")))
        }
        match operation {
            name if name == ops::CREATE_INTERNAL_NOTE.name => {
                json(self.create_internal_note(input_from_value(input)?).await?)
            }
            name if name == ops::ADD_MESSAGE.name => {
                json(self.add_message(input_from_value(input)?).await?)
            }
            name if name == ops::TAG_CONVERSATION.name => {
                json(self.tag_conversation(input_from_value(input)?).await?)
            }
            other => {
                let names: Vec<&str> = ops::OPERATIONS.iter().map(|o| o.name).collect();
                Err(ConnectorError::invalid(
                    "op",
                    format!(
                        "unknown operation {other:?}; expected one of {}",
                        names.join(", ")
                    ),
                )
                .into())
            }
        }
    }

    /// Answers an HTTP request with the component's `wasi:http/incoming-handler`
    /// (the `connector-service` world), in a fresh sandbox under the call's
    /// limits. The response body streams from the sandbox as the component
    /// writes it.
    pub async fn handle_http<B>(
        &self,
        request: hyper::Request<B>,
    ) -> Result<hyper::Response<HyperOutgoingBody>, Error>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let proxy = self.proxy.clone().ok_or_else(|| {
            Error::component(
                "the component does not export wasi:http/incoming-handler: \
                 build it as the connector-service world",
            )
        })?;
        let (permit, time_left) = self.turn().await?;
        let (mut store, sandbox) = self.sandbox();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // The sandbox outlives this function while the body streams out.
        let run = tokio::spawn(async move {
            let _permit = permit;
            let handle = async {
                let request = store
                    .data_mut()
                    .http()
                    .new_incoming_request(Scheme::Http, request)?;
                let response = store.data_mut().http().new_response_outparam(sender)?;
                let proxy = proxy.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, response)
                    .await
                    .map(Ok)
            };
            sandbox.outcome(tokio::time::timeout(time_left, handle).await)
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(Error::component(format!(
                "the component answered with the HTTP error {code:?}"
            ))),
            Err(_no_response) => match run.await {
                Ok(Err(error)) => Err(error),
                Ok(Ok(())) => Err(Error::component(
                    "the component returned without setting a response",
                )),
                Err(join) => Err(Error::component(format!("the call's task failed: {join}"))),
            },
        }
    }

    /// Waits until Dixa's last 429 pause (its `Retry-After`) is over, so that
    /// a caller about to try again does not spend its call's deadline waiting.
    pub async fn until_rate_limit_resumed(&self) {
        self.rate_limiter.resumed().await;
    }

    /// `text` with the API key redacted (see [`ApiKey::redact`]).
    pub fn redact<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        match &self.policy.api_key {
            Some(key) => key.redact(text),
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// Whether the component serves HTTP ([`handle_http`](Self::handle_http)).
    pub fn serves_http(&self) -> bool {
        self.proxy.is_some()
    }

    /// Runs `operation` in a fresh instance under the call's limits.
    async fn call<T, F, Fut>(&self, operation: F) -> Result<T, Error>
    where
        F: FnOnce(Store<CallState>, bindings::Connector) -> Fut,
        Fut: Future<Output = wasmtime::Result<Result<T, wit::Error>>>,
    {
        let (_permit, time_left) = self.turn().await?;
        let (mut store, sandbox) = self.sandbox();
        let run = async {
            let connector = self.pre.instantiate_async(&mut store).await?;
            operation(store, connector).await
        };
        sandbox.outcome(tokio::time::timeout(time_left, run).await)
    }

    /// A turn among the concurrent calls, and the time left of the call's
    /// deadline, inside which the wait for the turn counts.
    async fn turn(&self) -> Result<(OwnedSemaphorePermit, Duration), Error> {
        let started = Instant::now();
        match tokio::time::timeout(self.call_timeout, Arc::clone(&self.permits).acquire_owned())
            .await
        {
            Ok(Ok(permit)) => Ok((permit, self.call_timeout.saturating_sub(started.elapsed()))),
            Ok(Err(_closed)) => Err(Error::component("the connector is shutting down")),
            Err(_elapsed) => Err(Error::Deadline {
                timeout: self.call_timeout,
                dixa_may_have_acted: false,
            }),
        }
    }

    /// A fresh store with the call's memory limit and deadline.
    fn sandbox(&self) -> (Store<CallState>, Sandbox) {
        let memory_exhausted = Arc::new(AtomicBool::new(false));
        let forwarded_change = Arc::new(AtomicBool::new(false));
        let mut store = Store::new(
            &self.pre.engine().clone(),
            self.call_state(Arc::clone(&memory_exhausted), Arc::clone(&forwarded_change)),
        );
        store.limiter(|state| &mut state.limits);
        // A busy guest hands its thread back to tokio at every epoch tick; the
        // call's deadline is the timeout around it.
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        let sandbox = Sandbox {
            memory_exhausted,
            forwarded_change,
            call_timeout: self.call_timeout,
            memory_limit: self.memory_limit,
            api_key: self.policy.api_key.clone(),
        };
        (store, sandbox)
    }

    fn call_state(
        &self,
        memory_exhausted: Arc<AtomicBool>,
        forwarded_change: Arc<AtomicBool>,
    ) -> CallState {
        let limits = self.policy.limits;
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.resources);
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(limits.header_bytes);
        CallState {
            table,
            // Empty environment and arguments; stdio reads nothing, writes nowhere.
            wasi: WasiCtx::builder().build(),
            http,
            hooks: PolicyHooks::new(
                Arc::clone(&self.policy),
                self.http_client.clone(),
                Arc::clone(&self.rate_limiter),
                forwarded_change,
            ),
            config: Arc::clone(&self.config),
            config_pairs: Arc::clone(&self.guest_config),
            limits: MemoryLimiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(self.memory_limit)
                    .build(),
                memory_exhausted,
            },
        }
    }
}

/// Everything one call's `Store` holds.
struct CallState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: PolicyHooks,
    /// The component's settings for `wasi:config/store@0.2.0-rc.1`...
    config: Arc<WasiConfigVariables>,
    /// ... and for the draft Spin serves.
    config_pairs: Arc<Vec<(String, String)>>,
    limits: MemoryLimiter,
}

/// What a call's outcome is judged by, kept apart from its store.
struct Sandbox {
    memory_exhausted: Arc<AtomicBool>,
    /// Whether the call's hooks forwarded a request that changes something.
    forwarded_change: Arc<AtomicBool>,
    call_timeout: Duration,
    memory_limit: usize,
    /// Redacted from every error, whatever the component or Dixa put in it.
    api_key: Option<ApiKey>,
}

impl Sandbox {
    /// The call's result, or the limit that stopped it, with the key redacted.
    fn outcome<T>(
        &self,
        run: Result<wasmtime::Result<Result<T, wit::Error>>, Elapsed>,
    ) -> Result<T, Error> {
        // Stopped by the host: only the host knows whether Dixa may have acted.
        let dixa_may_have_acted = self.forwarded_change.load(Ordering::Relaxed);
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
            Ok(Ok(Err(error))) => Error::Connector(error.into()),
        };
        Err(match &self.api_key {
            Some(key) => error.redacted(key),
            None => error,
        })
    }
}

/// One call's resource limits, remembering whether the guest ran into the
/// memory limit so its trap can be reported as that.
struct MemoryLimiter {
    limits: StoreLimits,
    memory_exhausted: Arc<AtomicBool>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if !allowed {
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
