//! The per-operation commands (`dixa create-internal-note ...`): one call,
//! its input from the argument, a file or stdin, its output on stdout, its
//! error on stderr.

use std::io::Read;

use anyhow::{Context, Result};
use clap::Subcommand;
use dixa_contract::Operation;
use dixa_contract::operations as ops;
use dixa_host::exit_code;
use dixa_host::{ComponentSource, ConnectorError, Error};

use crate::Cli;
use crate::connector;
use crate::failure::Failure;
use crate::output::print_line;

/// One subcommand per operation, from the table of operations (named and
/// described as in the WIT): a row without its subcommand fails to compile.
macro_rules! operation_commands {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        pastey::paste! {
            /// The operations, one subcommand each.
            #[derive(Subcommand)]
            pub enum OperationCommand {
                $(
                    #[command(name = ops::$row.name, about = ops::$row.description)]
                    [<$snake:camel>] {
                        /// The operation's camelCase JSON input, @FILE, or - for
                        /// stdin (the default).
                        input: Option<String>,
                    },
                )*
            }

            impl OperationCommand {
                /// The operation and the input argument given.
                fn operation_and_input(&self) -> (&'static Operation, Option<&str>) {
                    match self {
                        $(Self::[<$snake:camel>] { input } => (&ops::$row, input.as_deref()),)*
                    }
                }
            }
        }
    };
}
dixa_contract::for_each_operation!(operation_commands);

/// One operation: its input from the argument, a file or stdin, its output
/// on stdout, its error on stderr, the exit code.
pub async fn run(cli: &Cli, command: &OperationCommand) -> Result<u8, Failure> {
    let (operation, input) = command.operation_and_input();
    let input = match read_input(input) {
        Ok(input) => input,
        Err(e) => {
            let error = ConnectorError::invalid("input", format!("{e:#}")).into();
            return Ok(report(&error, operation));
        }
    };
    let connector = connector::build(cli, ComponentSource::Embedded)?;
    let result = match serde_json::from_str(&input) {
        Ok(input) => connector.call_json(operation.name, input).await,
        Err(e) => Err(ConnectorError::invalid("input", e).into()),
    };
    Ok(match result {
        Ok(output) => match print_line(&connector.redact(&output.to_string())) {
            // A bulk call that Dixa answered succeeds even if some notes failed.
            Ok(()) => exit_code::for_output(&output, operation),
            Err(code) => code,
        },
        Err(error) => report(&error, operation),
    })
}

/// Prints the error of `operation` as JSON on stderr and gives its exit code.
fn report(error: &Error, operation: &Operation) -> u8 {
    eprintln!("{}", error.to_body().to_json());
    exit_code::for_error(error, operation)
}

/// The operation's input: the argument, @FILE, or stdin.
fn read_input(input: Option<&str>) -> Result<String> {
    let text = match input {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            text
        }
        Some(arg) => match arg.strip_prefix('@') {
            Some(path) => {
                std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
            }
            None => arg.to_owned(),
        },
    };
    Ok(text)
}
