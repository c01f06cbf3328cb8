//! The WIT exports: translate between generated types and the domain modules.

use crate::client::{Client, Settings};
use crate::error::Error;
use crate::waki_transport::WakiTransport;

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
        Ok(client()?.add_message(&input.into())?.into())
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
        Ok(client()?.list_conversation_tags(&input.into())?.into())
    }

    fn list_internal_notes(input: wit::ConversationInput) -> Result<wit::NoteList, wit::Error> {
        Ok(client()?.list_internal_notes(&input.into())?.into())
    }

    fn create_internal_notes(input: wit::NotesInput) -> Result<wit::NotesResult, wit::Error> {
        Ok(client()?.create_internal_notes(&input.into())?.into())
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

dixa_contract::wit_conversions!(wit);

export!(Component);
