//! The `dixa` binary's suites, one module each, in one test binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cli;
mod common;
mod mcp;
mod oci;
mod other_hosts;
