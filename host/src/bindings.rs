//! Generated bindings for the `connector` world, and their mapping to [`crate::types`].

use crate::{ConnectorError, TransportKind};
use dixa_contract::types;

// `wasi:http` is deliberately not mapped with `with`: the world's generated
// `add_to_linker` would then call wasmtime-wasi-http's with the wrong arguments.
// The host links wasi through the wasmtime crates and never calls that function.
wasmtime::component::bindgen!({
    path: "wit",
    world: "dixa:connector/connector",
    exports: { default: async },
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

use dixa::connector::types as wit;

impl From<types::NoteInput> for wit::NoteInput {
    fn from(input: types::NoteInput) -> Self {
        wit::NoteInput {
            conversation_id: input.conversation_id,
            message: input.message,
            agent_id: input.agent_id,
            created_at: input.created_at,
        }
    }
}

impl From<wit::Note> for types::Note {
    fn from(note: wit::Note) -> Self {
        types::Note {
            id: note.id,
            author_id: note.author_id,
            created_at: note.created_at,
            message: note.message,
        }
    }
}

impl From<types::Direction> for wit::Direction {
    fn from(direction: types::Direction) -> Self {
        match direction {
            types::Direction::Inbound => wit::Direction::Inbound,
            types::Direction::Outbound => wit::Direction::Outbound,
        }
    }
}

impl From<wit::Direction> for types::Direction {
    fn from(direction: wit::Direction) -> Self {
        match direction {
            wit::Direction::Inbound => types::Direction::Inbound,
            wit::Direction::Outbound => types::Direction::Outbound,
        }
    }
}

impl From<types::MessageInput> for wit::MessageInput {
    fn from(input: types::MessageInput) -> Self {
        wit::MessageInput {
            conversation_id: input.conversation_id,
            content: input.content,
            direction: input.direction.into(),
            agent_id: input.agent_id,
        }
    }
}

impl From<wit::Message> for types::Message {
    fn from(message: wit::Message) -> Self {
        types::Message {
            message_id: message.message_id,
            author_id: message.author_id,
            created_at: message.created_at,
            direction: message.direction.into(),
            content: types::MessageContent {
                value: message.content.value,
                content_type: message.content.type_,
            },
        }
    }
}

impl From<types::TagInput> for wit::TagInput {
    fn from(input: types::TagInput) -> Self {
        wit::TagInput {
            conversation_id: input.conversation_id,
            tag_id: input.tag_id,
        }
    }
}

impl From<wit::TagResult> for types::TagResult {
    fn from(result: wit::TagResult) -> Self {
        types::TagResult {
            success: result.success,
        }
    }
}

impl From<types::ConversationInput> for wit::ConversationInput {
    fn from(input: types::ConversationInput) -> Self {
        wit::ConversationInput {
            conversation_id: input.conversation_id,
        }
    }
}

impl From<wit::TagList> for types::TagList {
    fn from(list: wit::TagList) -> Self {
        types::TagList {
            tags: list
                .tags
                .into_iter()
                .map(|tag| types::Tag {
                    id: tag.id,
                    name: tag.name,
                    color: tag.color,
                    state: match tag.state {
                        wit::TagState::Active => types::TagState::Active,
                        wit::TagState::Inactive => types::TagState::Inactive,
                    },
                })
                .collect(),
        }
    }
}

impl From<wit::NoteList> for types::NoteList {
    fn from(list: wit::NoteList) -> Self {
        types::NoteList {
            notes: list.notes.into_iter().map(types::Note::from).collect(),
        }
    }
}

impl From<types::NotesInput> for wit::NotesInput {
    fn from(input: types::NotesInput) -> Self {
        wit::NotesInput {
            conversation_id: input.conversation_id,
            notes: input
                .notes
                .into_iter()
                .map(|note| wit::NewNote {
                    message: note.message,
                    agent_id: note.agent_id,
                    created_at: note.created_at,
                })
                .collect(),
        }
    }
}

impl From<wit::NotesResult> for types::NotesResult {
    fn from(result: wit::NotesResult) -> Self {
        types::NotesResult {
            results: result
                .results
                .into_iter()
                .map(|outcome| match outcome {
                    wit::NoteOutcome::Created(note) => {
                        types::NoteOutcome::Created { note: note.into() }
                    }
                    wit::NoteOutcome::Failed(message) => types::NoteOutcome::Failed { message },
                })
                .collect(),
        }
    }
}

impl From<wit::Error> for ConnectorError {
    fn from(error: wit::Error) -> Self {
        use ConnectorError as E;
        match error {
            wit::Error::InvalidInput(wit::InvalidInput { field, reason }) => {
                E::InvalidInput { field, reason }
            }
            wit::Error::Configuration(detail) => E::Configuration(detail),
            wit::Error::MissingCredentials => E::MissingCredentials,
            wit::Error::Unauthorized(message) => E::Unauthorized(message),
            wit::Error::NotFound(message) => E::NotFound(message),
            wit::Error::RateLimited(seconds) => E::RateLimited {
                retry_after_seconds: seconds,
            },
            wit::Error::Api(wit::ApiError {
                status,
                message,
                dixa_may_have_acted,
            }) => E::Api {
                status,
                message,
                dixa_may_have_acted,
            },
            wit::Error::Transport(wit::TransportError {
                kind,
                message,
                dixa_may_have_acted,
            }) => E::Transport {
                kind: kind.into(),
                message,
                dixa_may_have_acted,
            },
            wit::Error::InvalidResponse(wit::ResponseError {
                message,
                dixa_may_have_acted,
            }) => E::InvalidResponse {
                message,
                dixa_may_have_acted,
            },
        }
    }
}

impl From<wit::TransportKind> for TransportKind {
    fn from(kind: wit::TransportKind) -> Self {
        use TransportKind as K;
        match kind {
            wit::TransportKind::Denied => K::Denied,
            wit::TransportKind::Dns => K::Dns,
            wit::TransportKind::Connect => K::Connect,
            wit::TransportKind::Tls => K::Tls,
            wit::TransportKind::Timeout => K::Timeout,
            wit::TransportKind::ConnectionLost => K::ConnectionLost,
            wit::TransportKind::Other => K::Other,
        }
    }
}
