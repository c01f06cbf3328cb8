//! What the Dixa connector's guest and host must agree on, in one place both
//! compile: the table of operations ([`operations`]), their inputs and
//! outputs with their JSON ([`types`]), the codec for the path segments they
//! send ([`path`]), the error and its one JSON rendering ([`error`]), how the
//! API key is kept out of text ([`redact`]), and how an HTTP front checks its
//! caller's token ([`auth`]) and the request's origin and body type ([`front`]),
//! how every front reads an operation's JSON input ([`input`]), and the
//! conversions to and from the WIT bindings ([`wit`]).
//!
//! Plain Rust with no I/O, small enough for the guest component.

#![deny(missing_docs)]

pub mod auth;
pub mod error;
pub mod front;
pub mod input;
pub mod operations;
pub mod path;
pub mod redact;
pub mod types;
pub mod wit;

pub use error::{Error, ErrorBody, TransportKind};
pub use operations::{Method, OPERATIONS, Operation};
