//! The Dixa connector, built as a WebAssembly component for `wasm32-wasip2`.
//!
//! Everything but the two wasm-only modules is plain Rust that unit-tests on the
//! native target: validation, Dixa's wire format, response and error mapping, and
//! the retry policy. `component` translates between the WIT bindings and these
//! modules; `waki_transport` sends the requests over `wasi:http`.

pub mod client;
pub mod error;
pub mod request;
pub mod response;
pub mod retry;
pub mod service;
pub mod timestamp;
pub mod validate;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod waki_transport;
