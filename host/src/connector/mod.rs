//! [`Connector`]: the component compiled once, then called any number of times,
//! concurrently, each call in a sandbox with its own memory and time limits.
//!
//! [`builder`] holds the settings and the build, [`sandbox`] what one call runs
//! in and how its outcome is judged, [`instances`] which instance it runs in;
//! this module the calls themselves.

mod builder;
mod instances;
mod sandbox;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dixa_contract::operations as ops;
use serde_json::Value;
use wasmtime::Store;
use wasmtime_wasi_config::WasiConfigVariables;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::bindings::{self, dixa::connector::types as wit};
use crate::error::{ConnectorError, Error};
use crate::fair::{CallContext, FairPermit, FairSemaphore};
use crate::http_client::HttpClient;
use crate::policy::OutboundPolicy;
use crate::rate_limit::DixaRateLimiter;

pub use builder::{
    BuildError, ComponentSource, ConnectorBuilder, DIXA_BASE_URL, EMBEDDED_COMPONENT,
    EMBEDDED_SERVICE_COMPONENT, LoadReport,
};
pub use instances::{InstanceReuse, MAX_WARM_MEMORY};
use instances::{WarmInstance, WarmPool};
use sandbox::CallState;

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
    /// Call slots, taken in turn by caller.
    permits: Arc<FairSemaphore>,
    instance_reuse: InstanceReuse,
    /// Idle instances, when they are reused.
    warm: Option<WarmPool>,
    /// Guest-to-host calls of all the connector's calls, when counted.
    host_calls: Option<Arc<AtomicU64>>,
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

    /// Whether calls run in fresh or warm instances.
    pub fn instance_reuse(&self) -> InstanceReuse {
        self.instance_reuse
    }

    /// Idle warm instances kept for the next calls (0 with fresh instances).
    pub fn idle_instances(&self) -> usize {
        self.warm.as_ref().map_or(0, WarmPool::idle)
    }

    /// Calls from the guest into the host (imports and runtime libcalls) by
    /// all calls so far, when [`ConnectorBuilder::count_host_calls`] is on.
    pub fn host_calls(&self) -> Option<u64> {
        self.host_calls
            .as_ref()
            .map(|count| count.load(Ordering::Relaxed))
    }

    /// Gets an instance ready for a call as a call would, fresh or warm,
    /// without calling it: a readiness check, and the per-call setup cost on
    /// its own.
    pub async fn check(&self) -> Result<(), Error> {
        let context = CallContext::default();
        self.call(&context, async |_store, _connector| Ok(Ok(())))
            .await
    }

    /// Runs the operation named `operation` (its WIT name, e.g.
    /// `add-message`) on its camelCase JSON input, and gives its JSON output:
    /// the one entry point for callers that pick the operation at run time
    /// (the CLI, batch lines).
    pub async fn call_json(&self, operation: &str, input: Value) -> Result<Value, Error> {
        self.call_json_for(&CallContext::default(), operation, input)
            .await
    }

    /// [`call_json`](Self::call_json) for a caller among others: its slot and
    /// its rate-limit turns are taken in its turn among the callers waiting,
    /// and it is given up, unsent, when `context` is cancelled first.
    pub async fn call_json_for(
        &self,
        context: &CallContext,
        operation: &str,
        input: Value,
    ) -> Result<Value, Error> {
        fn json(output: impl serde::Serialize) -> Result<Value, Error> {
            // The operation succeeded; only its rendering failed.
            serde_json::to_value(output).map_err(|e| Error::Component {
                message: format!("rendering the output: {e}"),
                dixa_may_have_acted: true,
            })
        }
        macro_rules! dispatch {
            ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
                pastey::paste! {
                    match operation {
                        $(
                            name if name == ops::$row.name => json(
                                self.[<$snake _in>](context, dixa_contract::input::from_value::<dixa_contract::types::$input>(input)?)
                                    .await?,
                            ),
                        )*
                        other => Err(ConnectorError::invalid(
                            "op",
                            format!(
                                "unknown operation {other:?}; expected one of {}",
                                ops::names().join(", ")
                            ),
                        )
                        .into()),
                    }
                }
            };
        }
        dixa_contract::for_each_operation!(dispatch)
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
        self.handle_http_for(&CallContext::default(), request).await
    }

    /// [`handle_http`](Self::handle_http) for a caller among others (see
    /// [`call_json_for`](Self::call_json_for)).
    pub async fn handle_http_for<B>(
        &self,
        context: &CallContext,
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
        let (permit, time_left) = self.turn(context).await?;
        // An HTTP call always runs in a fresh instance (its response streams
        // out after the handler returns). Every instance alive is idle or
        // held by a call with a turn, and the slots are as many as the turns:
        // a slot is free unless more instances idle than turns are free.
        if let Some(warm) = &self.warm {
            while warm.idle() > self.permits.available() && warm.evict_one() {}
        }
        let mut store = self.new_store();
        let sandbox = self.begin_call(&mut store, context);
        let gate = Arc::clone(&sandbox.gate);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // The sandbox outlives this function while the body streams out.
        let run = tokio::spawn(async move {
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
            let outcome = sandbox.outcome(tokio::time::timeout(time_left, handle).await);
            // The instance's pool slot is free before the turn is handed on.
            drop(store);
            drop(permit);
            outcome
        });
        // The component ran: whether Dixa may have acted is the gate's to say.
        // Its error code is its own text: it could hold the key.
        let failed = |message: String| {
            self.policy.redact_error(Error::Component {
                message,
                dixa_may_have_acted: gate.close().any,
            })
        };
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(failed(format!(
                "the component answered with the HTTP error {code:?}"
            ))),
            Err(_no_response) => match run.await {
                Ok(Err(error)) => Err(error),
                Ok(Ok(())) => Err(failed(
                    "the component returned without setting a response".into(),
                )),
                Err(join) => Err(failed(format!("the call's task failed: {join}"))),
            },
        }
    }

    /// Waits until Dixa's last 429 pause (its `Retry-After`) is over, so that
    /// a caller about to try again does not spend its call's deadline waiting.
    pub async fn until_rate_limit_resumed(&self) {
        self.rate_limiter.resumed().await;
    }

    /// `value` with the API key redacted from every string in it.
    pub fn redact_value(&self, value: Value) -> Value {
        redact_json(value, |text| self.redact(text))
    }

    /// `text` with the API key redacted (see [`crate::ApiKey::redact`]).
    pub fn redact<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        self.policy.redact(text)
    }

    /// [`redact`](Self::redact) for bytes that need not be UTF-8.
    pub(crate) fn redact_bytes<'b>(&self, bytes: &'b [u8]) -> std::borrow::Cow<'b, [u8]> {
        self.policy.redact_bytes(bytes)
    }

    /// Whether the component serves HTTP ([`handle_http`](Self::handle_http)).
    pub fn serves_http(&self) -> bool {
        self.proxy.is_some()
    }

    /// Runs `operation` under the call's limits, in a warm instance when one
    /// is idle and reuse is on, else in a fresh one.
    async fn call<T>(
        &self,
        context: &CallContext,
        operation: impl AsyncFnOnce(
            &mut Store<CallState>,
            &bindings::Connector,
        ) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T, Error> {
        let (_permit, time_left) = self.turn(context).await?;
        let warm = self.warm.as_ref().and_then(WarmPool::take);
        let (mut store, instance, calls) = match warm {
            Some(warm) => (warm.store, Some(warm.instance), warm.calls),
            None => (self.new_store(), None, 0),
        };
        let sandbox = self.begin_call(&mut store, context);
        let run = async {
            let instance = match instance {
                Some(instance) => instance,
                None => self.pre.instantiate_async(&mut store).await?,
            };
            let result = operation(&mut store, &instance).await;
            Ok::<_, wasmtime::Error>((instance, result?))
        };
        let outcome = match tokio::time::timeout(time_left, run).await {
            Ok(Ok((instance, Ok(output)))) => {
                // Reused only after a clean success: no error of any kind,
                // nothing left open, the memory limit never hit, and not
                // holding on to a large heap while idle.
                if let Some(warm) = &self.warm
                    && !store.data().holds_resources()
                    && !sandbox.memory_exhausted()
                    && store.data().memory_bytes() <= MAX_WARM_MEMORY
                {
                    warm.put(WarmInstance {
                        store,
                        instance,
                        calls: calls + 1,
                    });
                }
                Ok(Ok(Ok(output)))
            }
            Ok(Ok((_, Err(error)))) => Ok(Ok(Err(error))),
            Ok(Err(trap)) => Ok(Err(trap)),
            Err(elapsed) => Err(elapsed),
        };
        sandbox.outcome(outcome)
    }

    /// A turn among the concurrent calls, in the caller's turn among the
    /// callers waiting, and the time left of the call's deadline, inside which
    /// the wait counts. A call given up while it waits never runs.
    async fn turn(&self, context: &CallContext) -> Result<(FairPermit, Duration), Error> {
        let gone =
            || Error::component("the caller went away before the call started; nothing was sent");
        if context.is_cancelled() {
            return Err(gone());
        }
        // Usually a slot is free: no timer needed to wait for it.
        if let Some(permit) = self.permits.try_acquire() {
            return Ok((permit, self.call_timeout));
        }
        let started = Instant::now();
        tokio::select! {
            biased;
            () = context.cancelled() => Err(gone()),
            waited = tokio::time::timeout(self.call_timeout, self.permits.acquire(context.caller)) => match waited {
                Ok(permit) => Ok((permit, self.call_timeout.saturating_sub(started.elapsed()))),
                Err(_elapsed) => Err(Error::Deadline {
                    timeout: self.call_timeout,
                    dixa_may_have_acted: false,
                }),
            },
        }
    }
}

/// One typed method per operation, from the table of operations: a row
/// without its method fails to compile. `name` runs the operation for the
/// embedder; `name_in` for a caller among others ([`CallContext`]).
macro_rules! typed_operations {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        pastey::paste! {
            impl Connector {
                $(
                    #[doc = concat!(
                        "Runs `", stringify!($snake), "`: the operation [`ops::",
                        stringify!($row), "`] describes."
                    )]
                    pub async fn $snake(
                        &self,
                        input: dixa_contract::types::$input,
                    ) -> Result<dixa_contract::types::$output, Error> {
                        self.[<$snake _in>](&CallContext::default(), input).await
                    }

                    async fn [<$snake _in>](
                        &self,
                        context: &CallContext,
                        input: dixa_contract::types::$input,
                    ) -> Result<dixa_contract::types::$output, Error> {
                        let input = input.into();
                        self.call(context, async |store, connector| {
                            connector
                                .dixa_connector_conversations()
                                .[<call_ $snake>](store, &input)
                                .await
                        })
                        .await
                        .map(dixa_contract::types::$output::from)
                    }
                )*
            }
        }
    };
}
dixa_contract::for_each_operation!(typed_operations);

/// `value` with `redact` applied to its JSON text, parsed back only when
/// something was replaced (a redacted string stays valid JSON).
pub(crate) fn redact_json(
    value: Value,
    redact: impl for<'t> Fn(&'t str) -> std::borrow::Cow<'t, str>,
) -> Value {
    let text = value.to_string();
    match redact(&text) {
        std::borrow::Cow::Borrowed(_) => value,
        std::borrow::Cow::Owned(clean) => serde_json::from_str(&clean).unwrap_or(Value::Null),
    }
}
