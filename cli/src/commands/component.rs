//! `dixa component`: the embedded component, written out for other hosts.

use std::path::PathBuf;

use dixa_host::exit_code;

use crate::failure::Failure;
use crate::output;

/// Options of `dixa component`.
#[derive(clap::Args)]
pub struct ComponentArgs {
    /// Where to write it.
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
    /// Write the `connector-service` build, which also serves HTTP.
    #[arg(long)]
    service: bool,
}

/// Writes the embedded component (or its service build) to `--output`.
pub fn run(args: &ComponentArgs) -> Result<u8, Failure> {
    let component = if args.service {
        dixa_host::EMBEDDED_SERVICE_COMPONENT
    } else {
        dixa_host::EMBEDDED_COMPONENT
    };
    match std::fs::write(&args.output, component) {
        Ok(()) => Ok(exit_code::OK),
        // `-o /dev/stdout | head -c 0`: quietly, as every command's output.
        Err(e) if output::reader_gone(&e) => Ok(exit_code::CLOSED_OUTPUT),
        Err(e) => Err(Failure::new(
            exit_code::FAILURE,
            "io",
            format!("writing {}: {e}", args.output.display()),
        )),
    }
}
