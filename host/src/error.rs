//! The host's error: the component's error or a limit the host enforced.

use std::time::Duration;

/// The component's error: one case per WIT `error` case (shared with the
/// guest through `dixa-contract`).
pub use dixa_contract::Error as ConnectorError;
pub use dixa_contract::{ErrorBody, TransportKind};

/// Why a call failed: the component's error, or a limit the host enforced.
///
/// A host error after the host forwarded a request that changes something in
/// Dixa says Dixa may have acted: the sandbox was stopped before it could tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The component's answer: one of the WIT `error` cases.
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// The call ran past the host's deadline and was stopped.
    #[error("the call exceeded its {}s deadline and was stopped", .timeout.as_secs_f64())]
    Deadline {
        /// The deadline.
        timeout: Duration,
        /// A changing request had been forwarded to Dixa.
        dixa_may_have_acted: bool,
    },
    /// The component tried to use more memory than the call's limit and was stopped.
    #[error("the component needed more than its {limit_bytes}-byte memory limit and was stopped")]
    MemoryLimit {
        /// The limit in bytes.
        limit_bytes: usize,
        /// A changing request had been forwarded to Dixa.
        dixa_may_have_acted: bool,
    },
    /// The component failed inside the sandbox (trap or a component that does not fit).
    #[error("component failure: {message}")]
    Component {
        /// What failed.
        message: String,
        /// A changing request had been forwarded to Dixa.
        dixa_may_have_acted: bool,
    },
}

impl Error {
    /// A component failure before anything was sent.
    pub fn component(message: impl Into<String>) -> Self {
        Error::Component {
            message: message.into(),
            dixa_may_have_acted: false,
        }
    }

    /// The component's `error`, judged with what the host saw itself: when a
    /// request that must not be repeated (a `POST`) went out and Dixa did not
    /// refuse it (`host_saw_a_write`), the error says Dixa may have acted,
    /// whatever the component claimed, so that nothing sends it again
    /// blindly. A case that cannot say so becomes a component failure that
    /// does. (An idempotent write may be sent again whatever the answer.)
    pub(crate) fn from_component(error: ConnectorError, host_saw_a_write: bool) -> Self {
        if !host_saw_a_write || error.dixa_may_have_acted() {
            return Error::Connector(error);
        }
        let marked = error.clone().after_an_attempt_that_may_have_acted();
        if marked.dixa_may_have_acted() {
            return Error::Connector(marked);
        }
        Error::Component {
            message: format!(
                "the component said Dixa did not act ({error}), but a request that changes \
                 something went out and Dixa did not refuse it"
            ),
            dixa_may_have_acted: true,
        }
    }

    /// The case's kebab-case name: the WIT case (`invalid-input`, ...), or
    /// `deadline`, `memory-limit`, `component`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Connector(error) => error.kind(),
            Error::Deadline { .. } => "deadline",
            Error::MemoryLimit { .. } => "memory-limit",
            Error::Component { .. } => "component",
        }
    }

    /// Whether Dixa may have carried out the operation despite the error.
    pub fn dixa_may_have_acted(&self) -> bool {
        match self {
            Error::Connector(error) => error.dixa_may_have_acted(),
            Error::Deadline {
                dixa_may_have_acted,
                ..
            }
            | Error::MemoryLimit {
                dixa_may_have_acted,
                ..
            }
            | Error::Component {
                dixa_may_have_acted,
                ..
            } => *dixa_may_have_acted,
        }
    }

    /// Whether the same call may succeed later without changes (see
    /// [`ConnectorError::is_temporary`]); a deadline may pass too.
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Connector(error) => error.is_temporary(),
            Error::Deadline { .. } => true,
            Error::MemoryLimit { .. } | Error::Component { .. } => false,
        }
    }

    /// The error's JSON rendering, the same as the component's HTTP front gives.
    pub fn to_body(&self) -> ErrorBody {
        match self {
            Error::Connector(error) => error.to_body(),
            other => ErrorBody::new(other.kind(), other.to_string(), other.dixa_may_have_acted()),
        }
    }

    /// The error with `key` redacted from every text it carries.
    pub fn redacted(self, key: &crate::ApiKey) -> Error {
        match self {
            Error::Connector(error) => Error::Connector(error.redacted(key.expose())),
            Error::Component {
                message,
                dixa_may_have_acted,
            } => Error::Component {
                message: dixa_contract::redact::redact_owned(message, key.expose()),
                dixa_may_have_acted,
            },
            other @ (Error::Deadline { .. } | Error::MemoryLimit { .. }) => other,
        }
    }
}
