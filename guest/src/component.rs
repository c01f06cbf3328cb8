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

/// The exports, one per row of the table of operations: each converts its
/// input, runs it on the client and converts the output back.
macro_rules! exports {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        impl Guest for Component {
            $(fn $snake(input: wit::$input) -> Result<wit::$output, wit::Error> {
                Ok(client()?.$snake(&input.into())?.into())
            })*
        }
    };
}
dixa_contract::for_each_operation!(exports);

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
