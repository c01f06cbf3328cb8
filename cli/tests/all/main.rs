//! The `dixa` binary's suites, one module each, in one test binary.

mod cli;
mod common;
mod mcp;
mod oci;
mod other_hosts;
