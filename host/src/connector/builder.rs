//! The settings of a [`Connector`] and its build: load and check the
//! component, link only what the policy allows, set up the shared state.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Linker;
use wasmtime_wasi_config::WasiConfig;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::bindings;
use crate::cache::{self, LoadedFrom};
use crate::draft_config::{self, DraftConfig};
use crate::http_client::HttpClient;
use crate::policy::{ApiKey, CallLimits, Origin, OutboundPolicy, Timeouts};
use crate::rate_limit::{DixaRateLimiter, RateLimit};

use super::Connector;
use super::instances::{InstanceReuse, WarmPool};
use super::sandbox::{
    CallState, LINKED_INTERFACES, add_http_to_linker, add_least_wasi_to_linker, engine,
    spawn_epoch_ticker,
};

/// The guest component this crate ships (the `connector` world), built by
/// `cargo run -p guest-build` from the workspace's guest and committed; a test
/// checks it is not stale.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!("../../components/dixa_connector.wasm");

/// The guest built as the `connector-service` world: the operations, also
/// served over HTTP by its `wasi:http/incoming-handler`.
pub const EMBEDDED_SERVICE_COMPONENT: &[u8] =
    include_bytes!("../../components/dixa_connector_service.wasm");

/// Dixa's production API (defined once, in `dixa-contract`).
pub use dixa_contract::operations::DIXA_BASE_URL;

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

pub(super) fn wasmtime_error(context: &'static str) -> impl FnOnce(wasmtime::Error) -> BuildError {
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
    instance_reuse: Option<InstanceReuse>,
    count_host_calls: bool,
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
            instance_reuse: None,
            count_host_calls: false,
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

    /// Whether calls reuse warm instances or each get a fresh one (default:
    /// [`InstanceReuse::default_for`] the component: warm for the embedded
    /// builds, fresh for a file or bytes). See [`InstanceReuse`] for what
    /// persists between the calls of a warm instance.
    pub fn instance_reuse(mut self, reuse: InstanceReuse) -> Self {
        self.instance_reuse = Some(reuse);
        self
    }

    /// Counts the guest's calls into the host ([`Connector::host_calls`]);
    /// off by default: the count costs an atomic add per call into the host.
    pub fn count_host_calls(mut self, yes: bool) -> Self {
        self.count_host_calls = yes;
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

    /// The key the host adds as `Authorization` to requests to the base URL
    /// (default: none, and the component answers `missing-credentials`
    /// unless its own config carries a key).
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
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
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
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
        add_http_to_linker(&mut linker).map_err(wasmtime_error("linking wasi:http"))?;
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
        let instance_reuse = self
            .instance_reuse
            .unwrap_or_else(|| InstanceReuse::default_for(&self.component));
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
            permits: crate::fair::FairSemaphore::new(self.max_concurrent_calls as usize),
            instance_reuse,
            warm: match instance_reuse {
                InstanceReuse::Fresh => None,
                InstanceReuse::Warm { max_calls } => Some(WarmPool::new(max_calls)),
            },
            host_calls: self.count_host_calls.then(Arc::default),
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
