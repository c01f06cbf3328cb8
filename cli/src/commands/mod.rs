//! One module per command; each has its options and a `run` that gives the
//! exit code, or the [`Failure`](crate::failure::Failure) that stopped it.

pub mod batch;
pub mod component;
pub mod demo;
mod front;
pub mod mcp;
pub mod operation;
pub mod serve;
pub mod simulator;
