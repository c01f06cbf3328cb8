//! `wasi:config/store@0.2.0-draft-2024-09-27`, the draft Spin serves, over the
//! same settings the host gives through wasmtime-wasi-config's `0.2.0-rc.1`;
//! so the guest's Spin build runs, and is tested, in this host too.

use wasmtime::component::{HasData, Linker};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit/deps/config-draft-2024-09-27",
        world: "wasi:config/imports",
        imports: { default: trappable },
    });
}

use generated::wasi::config::store;

/// One call's view of the settings.
pub struct DraftConfig<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> DraftConfig<'a> {
    /// Serves `pairs`.
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        DraftConfig { pairs }
    }
}

impl store::Host for DraftConfig<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        Ok(Ok(self
            .pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, value)| value.clone())))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        Ok(Ok(self.pairs.to_vec()))
    }
}

struct HasDraftConfig;

impl HasData for HasDraftConfig {
    type Data<'a> = DraftConfig<'a>;
}

/// Adds the draft's `store` interface to `linker`.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    config: fn(&mut T) -> DraftConfig<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, HasDraftConfig>(linker, config)
}
