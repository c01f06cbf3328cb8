//! The WIT exports: translate between generated types and the domain modules.

use crate::client::{Client, Settings};
use crate::error::{Error, TransportKind};
use crate::waki_transport::WakiTransport;
use dixa_contract::types as model;

// One world per build: the operations alone, or also served over HTTP, with the
// `wasi:config` draft that Spin serves.
#[cfg(not(feature = "http-service"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "dixa:connector/connector",
    generate_all,
});
#[cfg(all(feature = "http-service", not(feature = "spin")))]
wit_bindgen::generate!({
    path: "../wit",
    world: "dixa:connector/connector-service",
    generate_all,
});
#[cfg(feature = "spin")]
wit_bindgen::generate!({
    path: "../wit",
    world: "dixa:connector/spin-connector-service",
    generate_all,
});

#[cfg(feature = "http-service")]
mod incoming;

use dixa::connector::types as wit;
use exports::dixa::connector::conversations::Guest;
// Both `wasi:config` versions are vendored, so the bindings name them by version.
#[cfg(feature = "spin")]
use wasi::config0_2_0_draft_2024_09_27::store;
#[cfg(not(feature = "spin"))]
use wasi::config0_2_0_rc_1::store;

struct Component;

impl Guest for Component {
    fn create_internal_note(input: wit::NoteInput) -> Result<wit::Note, wit::Error> {
        Ok(client()?.create_internal_note(&input.into())?.into())
    }

    fn add_message(input: wit::MessageInput) -> Result<wit::Message, wit::Error> {
        let message = client()?.add_message(&input.into())?;
        Ok(wit::Message {
            message_id: message.message_id,
            author_id: message.author_id,
            created_at: message.created_at,
            direction: message.direction.into(),
            content: wit::MessageContent {
                value: message.content.value,
                type_: message.content.content_type,
            },
        })
    }

    fn tag_conversation(input: wit::TagInput) -> Result<wit::TagResult, wit::Error> {
        client()?.tag_conversation(&input.into())?;
        Ok(wit::TagResult { success: true })
    }

    fn untag_conversation(input: wit::TagInput) -> Result<wit::TagResult, wit::Error> {
        client()?.untag_conversation(&input.into())?;
        Ok(wit::TagResult { success: true })
    }

    fn list_conversation_tags(input: wit::ConversationInput) -> Result<wit::TagList, wit::Error> {
        let list = client()?.list_conversation_tags(&input.into())?;
        Ok(wit::TagList {
            tags: list
                .tags
                .into_iter()
                .map(|tag| wit::Tag {
                    id: tag.id,
                    name: tag.name,
                    color: tag.color,
                    state: match tag.state {
                        model::TagState::Active => wit::TagState::Active,
                        model::TagState::Inactive => wit::TagState::Inactive,
                    },
                })
                .collect(),
        })
    }

    fn list_internal_notes(input: wit::ConversationInput) -> Result<wit::NoteList, wit::Error> {
        let list = client()?.list_internal_notes(&input.into())?;
        Ok(wit::NoteList {
            notes: list.notes.into_iter().map(wit::Note::from).collect(),
        })
    }

    fn create_internal_notes(input: wit::NotesInput) -> Result<wit::NotesResult, wit::Error> {
        let result = client()?.create_internal_notes(&input.into())?;
        Ok(wit::NotesResult {
            results: result
                .results
                .into_iter()
                .map(|outcome| match outcome {
                    model::NoteOutcome::Created { note } => wit::NoteOutcome::Created(note.into()),
                    model::NoteOutcome::Failed { message } => wit::NoteOutcome::Failed(message),
                })
                .collect(),
        })
    }
}

/// A client configured from `wasi:config/store`. The settings are read on the
/// instance's first call and kept: a host's config does not change during an
/// instance's life, and a host that reuses instances serves many calls with
/// one (a failed read is not kept, so a call after it reads again).
fn client() -> Result<Client<WakiTransport>, Error> {
    static SETTINGS: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();
    let settings = match SETTINGS.get() {
        Some(settings) => settings.clone(),
        None => {
            let read = Settings::from_config(|key| store::get(key).map_err(|e| format!("{e:?}")))?;
            SETTINGS.get_or_init(|| read).clone()
        }
    };
    Ok(Client::new(WakiTransport, settings))
}

/// Who may call the HTTP front, from `wasi:config/store`.
#[cfg(feature = "http-service")]
fn access() -> crate::service::Access {
    crate::service::Access::from_config(|key| store::get(key).map_err(|e| format!("{e:?}")))
}

impl From<wit::NoteInput> for model::NoteInput {
    fn from(input: wit::NoteInput) -> Self {
        model::NoteInput {
            conversation_id: input.conversation_id,
            message: input.message,
            agent_id: input.agent_id,
            created_at: input.created_at,
        }
    }
}

impl From<wit::MessageInput> for model::MessageInput {
    fn from(input: wit::MessageInput) -> Self {
        model::MessageInput {
            conversation_id: input.conversation_id,
            content: input.content,
            direction: match input.direction {
                wit::Direction::Inbound => model::Direction::Inbound,
                wit::Direction::Outbound => model::Direction::Outbound,
            },
            agent_id: input.agent_id,
        }
    }
}

impl From<wit::TagInput> for model::TagInput {
    fn from(input: wit::TagInput) -> Self {
        model::TagInput {
            conversation_id: input.conversation_id,
            tag_id: input.tag_id,
        }
    }
}

impl From<model::Note> for wit::Note {
    fn from(note: model::Note) -> Self {
        wit::Note {
            id: note.id,
            author_id: note.author_id,
            created_at: note.created_at,
            message: note.message,
        }
    }
}

impl From<wit::ConversationInput> for model::ConversationInput {
    fn from(input: wit::ConversationInput) -> Self {
        model::ConversationInput {
            conversation_id: input.conversation_id,
        }
    }
}

impl From<wit::NotesInput> for model::NotesInput {
    fn from(input: wit::NotesInput) -> Self {
        model::NotesInput {
            conversation_id: input.conversation_id,
            notes: input
                .notes
                .into_iter()
                .map(|note| model::NewNote {
                    message: note.message,
                    agent_id: note.agent_id,
                    created_at: note.created_at,
                })
                .collect(),
        }
    }
}

impl From<model::Direction> for wit::Direction {
    fn from(direction: model::Direction) -> Self {
        match direction {
            model::Direction::Inbound => wit::Direction::Inbound,
            model::Direction::Outbound => wit::Direction::Outbound,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidInput { field, reason } => {
                wit::Error::InvalidInput(wit::InvalidInput { field, reason })
            }
            Error::Configuration(detail) => wit::Error::Configuration(detail),
            Error::MissingCredentials => wit::Error::MissingCredentials,
            Error::Unauthorized(message) => wit::Error::Unauthorized(message),
            Error::NotFound(message) => wit::Error::NotFound(message),
            Error::RateLimited {
                retry_after_seconds,
            } => wit::Error::RateLimited(retry_after_seconds),
            Error::Api {
                status,
                message,
                dixa_may_have_acted,
            } => wit::Error::Api(wit::ApiError {
                status,
                message,
                dixa_may_have_acted,
            }),
            Error::Transport {
                kind,
                message,
                dixa_may_have_acted,
            } => wit::Error::Transport(wit::TransportError {
                kind: kind.into(),
                message,
                dixa_may_have_acted,
            }),
            Error::InvalidResponse {
                message,
                dixa_may_have_acted,
            } => wit::Error::InvalidResponse(wit::ResponseError {
                message,
                dixa_may_have_acted,
            }),
        }
    }
}

impl From<TransportKind> for wit::TransportKind {
    fn from(kind: TransportKind) -> Self {
        match kind {
            TransportKind::Denied => wit::TransportKind::Denied,
            TransportKind::Dns => wit::TransportKind::Dns,
            TransportKind::Connect => wit::TransportKind::Connect,
            TransportKind::Tls => wit::TransportKind::Tls,
            TransportKind::Timeout => wit::TransportKind::Timeout,
            TransportKind::ConnectionLost => wit::TransportKind::ConnectionLost,
            TransportKind::Other => wit::TransportKind::Other,
        }
    }
}

export!(Component);
