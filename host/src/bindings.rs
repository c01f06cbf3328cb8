//! Generated bindings for the `connector` world, and their mapping to the
//! contract's types (written once, in `dixa_contract::wit_conversions!`).

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

dixa_contract::wit_conversions!(wit);
