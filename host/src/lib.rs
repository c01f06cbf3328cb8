//! Reference host for the Dixa connector component, on wasmtime.
//!
//! ```no_run
//! use dixa_host::{ApiKey, Connector, TagInput};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let connector = Connector::builder()
//!     .api_key(ApiKey::new(&std::env::var("DIXA_API_KEY")?)?)
//!     .build()?;
//! let tagged = connector
//!     .tag_conversation(TagInput {
//!         conversation_id: "9456".into(),
//!         tag_id: "a53b25da-f676-4c52-acac-58c9280aa23d".into(),
//!     })
//!     .await?;
//! assert!(tagged.success);
//! # Ok(())
//! # }
//! ```
//!
//! The host compiles the component once ([`ConnectorBuilder::build`]) and runs
//! each call in an instance with a memory limit and a deadline: a warm one
//! reused from an earlier successful call of the same connector, or a fresh
//! one ([`InstanceReuse`]). An outbound policy inside the host decides what
//! the component may reach and adds the [`ApiKey`] only to the operations'
//! requests; its settings are the builder's ([`CallLimits`], [`Timeouts`],
//! `allow_host`, `insecure_http`).

#![deny(missing_docs)]

pub mod batch;
mod bindings;
pub mod cache;
mod connector;
mod draft_config;
mod error;
pub mod exit_code;
mod fair;
mod http_client;
pub mod per_core;
mod policy;
pub mod rate_limit;
pub mod serve;

pub use connector::{
    BuildError, ComponentSource, Connector, ConnectorBuilder, DIXA_BASE_URL, EMBEDDED_COMPONENT,
    EMBEDDED_SERVICE_COMPONENT, InstanceReuse, LoadReport, MAX_WARM_MEMORY,
};
/// The operations' inputs and outputs (from `dixa-contract`).
pub use dixa_contract::types::*;
pub use error::{ConnectorError, Error, ErrorBody, TransportKind};
pub use fair::CallContext;
pub use policy::{ApiKey, CallLimits, InvalidKey, MAX_KEY_BYTES, Timeouts};
pub use rate_limit::RateLimit;
