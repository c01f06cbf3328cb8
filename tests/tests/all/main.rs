//! The end-to-end suites, one module each, in one test binary: each extra
//! binary would link wasmtime again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod artifacts;
mod docs;
mod errors;
mod instances;
mod largest_inputs;
mod mcp_tools;
mod operations;
mod reliability;
mod security;
mod service;
mod wit_deps;
mod wit_reference;
