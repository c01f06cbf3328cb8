//! The operations' inputs, outputs and errors as Rust types.
//!
//! They serialize to the connector spec's camelCase JSON, which the CLI reads
//! and prints; the WIT records map onto them field for field.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Written by the end user.
    Inbound,
    /// Written by an agent; needs an agent id.
    Outbound,
}

/// Input of `create-internal-note`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoteInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Text of the note.
    pub message: String,
    /// Agent (UUID) to author the note; the token's owner when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// RFC 3339 creation time, sent to Dixa as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// The note Dixa created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Id (UUID) of the note.
    pub id: String,
    /// Agent (UUID) who authored it.
    pub author_id: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Text of the note.
    pub message: String,
}

/// Input of `add-message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Plain-text body.
    pub content: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// Sending agent (UUID): required for outbound, refused for inbound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// Body of a message as Dixa stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    /// The text.
    pub value: String,
    /// "Text", "Html" or "Markdown".
    #[serde(rename = "type")]
    pub content_type: String,
}

/// The message Dixa added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Id (UUID) of the message.
    pub message_id: String,
    /// Author: the agent for outbound, the end user for inbound.
    pub author_id: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Direction Dixa recorded.
    pub direction: Direction,
    /// Body of the message.
    pub content: MessageContent,
}

/// Input of `tag-conversation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagInput {
    /// Dixa conversation id, e.g. "9456".
    pub conversation_id: String,
    /// Tag (UUID) to add.
    pub tag_id: String,
}

/// Outcome of `tag-conversation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagResult {
    /// True once Dixa confirmed.
    pub success: bool,
}

/// Parses an operation's input from the spec's camelCase JSON, as the CLI takes it.
///
/// Unknown fields are rejected, so a misspelt optional field is not silently dropped.
/// Only a JSON object is accepted: serde would also take a positional array.
pub fn parse_input<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Error> {
    if !json.trim_start().starts_with('{') {
        return Err(Error::InvalidInput(
            "input JSON: expected an object such as {\"conversationId\": \"9456\", ...}".into(),
        ));
    }
    serde_json::from_str(json).map_err(|e| Error::InvalidInput(format!("input JSON: {e}")))
}

/// Why a call failed: the WIT `error` cases, then what the host itself enforces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input broke a rule; nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// No API key was configured.
    #[error("no Dixa API key is configured")]
    MissingCredentials,
    /// Dixa refused the key (401/403).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The conversation, tag or agent does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Dixa's rate limit held through the retries.
    #[error("rate limited by Dixa{}", .retry_after_seconds.map(|s| format!(": retry in {s} s")).unwrap_or_default())]
    RateLimited {
        /// Seconds Dixa asked to wait, when it said.
        retry_after_seconds: Option<u32>,
    },
    /// Another error status from Dixa.
    #[error("Dixa answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Dixa's message.
        message: String,
    },
    /// The request could not be completed (connection, timeout, denied by policy).
    #[error("transport error: {0}")]
    Transport(String),
    /// Dixa answered success with a body that does not match its API.
    #[error("invalid response from Dixa: {0}")]
    InvalidResponse(String),
    /// The call ran past the host's deadline and was stopped.
    #[error("the call exceeded its {}s deadline and was stopped", .0.as_secs_f64())]
    Deadline(Duration),
    /// The component tried to use more memory than the call's limit and was stopped.
    #[error("the component needed more than its {limit_bytes}-byte memory limit and was stopped")]
    MemoryLimit {
        /// The limit in bytes.
        limit_bytes: usize,
    },
    /// The component failed inside the sandbox (trap or a component that does not fit).
    #[error("component failure: {0}")]
    Component(String),
}

impl Error {
    /// The case's kebab-case name, as in the WIT (`invalid-input`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid-input",
            Error::MissingCredentials => "missing-credentials",
            Error::Unauthorized(_) => "unauthorized",
            Error::NotFound(_) => "not-found",
            Error::RateLimited { .. } => "rate-limited",
            Error::Api { .. } => "api",
            Error::Transport(_) => "transport",
            Error::InvalidResponse(_) => "invalid-response",
            Error::Deadline(_) => "deadline",
            Error::MemoryLimit { .. } => "memory-limit",
            Error::Component(_) => "component",
        }
    }

    /// `{"error": kind, "message": ...}`, plus `status` for `api` and
    /// `retryAfterSeconds` for `rate-limited` when Dixa said: how the CLI and
    /// `dixa serve` report an error.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.kind().into());
        body.insert("message".into(), self.to_string().into());
        match self {
            Error::Api { status, .. } => {
                body.insert("status".into(), (*status).into());
            }
            Error::RateLimited {
                retry_after_seconds: Some(seconds),
            } => {
                body.insert("retryAfterSeconds".into(), (*seconds).into());
            }
            _ => {}
        }
        serde_json::Value::Object(body)
    }

    /// The error with `key` redacted from every text it carries.
    pub fn redacted(self, key: &crate::ApiKey) -> Error {
        let clean = |text| dixa_contract::redact::redact_owned(text, key.expose());
        match self {
            Error::InvalidInput(text) => Error::InvalidInput(clean(text)),
            Error::Unauthorized(text) => Error::Unauthorized(clean(text)),
            Error::NotFound(text) => Error::NotFound(clean(text)),
            Error::Api { status, message } => Error::Api {
                status,
                message: clean(message),
            },
            Error::Transport(text) => Error::Transport(clean(text)),
            Error::InvalidResponse(text) => Error::InvalidResponse(clean(text)),
            Error::Component(text) => Error::Component(clean(text)),
            other @ (Error::MissingCredentials
            | Error::RateLimited { .. }
            | Error::Deadline(_)
            | Error::MemoryLimit { .. }) => other,
        }
    }

    /// Whether the same call may succeed later without changes.
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Transport(_) | Error::Deadline(_) => true,
            Error::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
