//! Shared fixture for the end-to-end tests: a simulator on loopback and a
//! connector running the real component against it.

// A fixture for tests: a setup that fails is a test that fails, with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use dixa_host::serve::{ServeOptions, ServiceToken};
pub use dixa_host::{
    ApiKey, ComponentSource, Connector, ConnectorBuilder, InstanceReuse, RateLimit,
};
pub use dixa_simulator::client::TEST_SERVICE_TOKEN;
pub use dixa_simulator::{DEFAULT_API_KEY, Fault, RecordedRequest, Simulator};

/// A component of the connector world that allocates without bound or loops
/// forever on request (see `hostile-guest/`).
pub const HOSTILE_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hostile.wasm"));

/// Runs one network command of [`HOSTILE_COMPONENT`] (its `add-message`
/// content, see `hostile-guest/`): the status and body it got back.
pub async fn hostile_command(
    connector: &Connector,
    content: String,
) -> Result<(String, String), dixa_host::Error> {
    connector
        .add_message(dixa_host::MessageInput {
            conversation_id: "1".into(),
            content,
            direction: dixa_host::Direction::Inbound,
            agent_id: None,
        })
        .await
        .map(|message| (message.message_id, message.content.value))
}

/// The guest's Spin build: the `spin-connector-service` world, reading the
/// `wasi:config` draft Spin serves.
pub const SPIN_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/dixa_connector_spin.wasm"));

/// Serves `connector`'s HTTP routes on 127.0.0.1 until the test's runtime
/// ends, behind [`TEST_SERVICE_TOKEN`], and returns the address.
pub async fn serve(connector: Connector) -> SocketAddr {
    serve_with(connector, |options| options).await
}

/// [`serve`], with the options adjusted by `configure`.
pub async fn serve_with(
    connector: Connector,
    configure: impl FnOnce(ServeOptions) -> ServeOptions,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    let token = ServiceToken::new(TEST_SERVICE_TOKEN).expect("a valid token");
    tokio::spawn(dixa_host::serve::serve(
        Arc::new(connector),
        listener,
        configure(ServeOptions::new(token)),
        std::future::pending(),
    ));
    addr
}

/// A simulator and a connector pointed at it with the simulator's key.
pub struct Harness {
    pub simulator: Simulator,
    pub connector: Connector,
}

impl Harness {
    /// The defaults: key injected by the host, nothing else allowed, no rate limit.
    pub async fn start() -> Self {
        Self::with(|builder| builder).await
    }

    /// Like [`Harness::start`], with the builder adjusted by `configure`.
    pub async fn with(configure: impl FnOnce(ConnectorBuilder) -> ConnectorBuilder) -> Self {
        let simulator = Simulator::start().await.expect("simulator starts");
        let connector = connector_for(&simulator, configure);
        Harness {
            simulator,
            connector,
        }
    }

    /// Like [`Harness::with`], with no key held by the host.
    pub async fn without_key(configure: impl FnOnce(ConnectorBuilder) -> ConnectorBuilder) -> Self {
        let simulator = Simulator::start().await.expect("simulator starts");
        let connector = keyless_connector_for(&simulator, configure);
        Harness {
            simulator,
            connector,
        }
    }

    /// Requests the simulator received.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.simulator.requests()
    }

    /// The one request the simulator received; fails if there were more or none.
    pub fn only_request(&self) -> RecordedRequest {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request: {requests:#?}"
        );
        requests.into_iter().next().expect("one request")
    }
}

/// A connector pointed at `simulator` as [`Harness::with`] makes it: one
/// more front on the same simulator.
pub fn connector_for(
    simulator: &Simulator,
    configure: impl FnOnce(ConnectorBuilder) -> ConnectorBuilder,
) -> Connector {
    let key = ApiKey::new(DEFAULT_API_KEY).expect("a valid key");
    keyless_connector_for(simulator, |builder| configure(builder.api_key(key)))
}

/// [`connector_for`] without a key held by the host: the component has none
/// unless `configure` gives it one.
pub fn keyless_connector_for(
    simulator: &Simulator,
    configure: impl FnOnce(ConnectorBuilder) -> ConnectorBuilder,
) -> Connector {
    let builder = builder()
        .base_url(simulator.base_url())
        .config("service-token", TEST_SERVICE_TOKEN)
        .rate_limit(RateLimit::UNLIMITED);
    configure(builder).build().expect("connector builds")
}

/// A connector builder for the end-to-end suites: the compiled-component
/// cache, and the instance mode `DIXA_INSTANCES` names (`fresh` or `warm`),
/// as the `dixa` CLI reads it, so `.ci/test` runs the suites in both modes.
pub fn builder() -> ConnectorBuilder {
    let builder = Connector::builder().cache_dir(cache_dir());
    match instance_mode() {
        Some(reuse) => builder.instance_reuse(reuse),
        None => builder,
    }
}

/// The instance mode `DIXA_INSTANCES` asks for; the default per component
/// when unset. An unknown value fails the test run rather than testing the
/// default under another name.
pub fn instance_mode() -> Option<InstanceReuse> {
    let mode = std::env::var("DIXA_INSTANCES").ok()?;
    Some(mode.parse().expect("DIXA_INSTANCES is fresh or warm"))
}

/// Compiled-component cache shared by the test processes of one checkout.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-cache")
}

/// Headers of `request` sorted by name, `host` dropped (it names a random port).
pub fn headers(request: &RecordedRequest) -> Vec<(String, String)> {
    let mut headers: Vec<_> = request
        .headers
        .iter()
        .filter(|(name, _)| name != "host")
        .cloned()
        .collect();
    headers.sort();
    headers
}

/// `(name, value)` pairs as owned strings.
pub fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The README's Rust examples compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
