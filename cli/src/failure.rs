//! How the CLI stops before or outside an operation: one JSON error line on
//! stderr, rendered as every error is, and the exit code.

use dixa_host::ErrorBody;
use dixa_host::exit_code;

/// Why the CLI stopped before or outside an operation: exit code, error kind, message.
pub struct Failure {
    code: u8,
    kind: &'static str,
    message: String,
}

impl Failure {
    /// A failure that exits with `code`, reported as error `kind`.
    pub fn new(code: u8, kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code,
            kind,
            message: message.into(),
        }
    }

    /// Prints the failure as JSON on stderr and gives its exit code.
    pub fn report(self) -> u8 {
        fail(self.code, self.kind, &self.message)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::new(exit_code::FAILURE, "setup", format!("{error:#}"))
    }
}

/// Prints a failure outside any operation (nothing was sent) and gives `code`.
pub fn fail(code: u8, kind: &str, message: &str) -> u8 {
    eprintln!("{}", ErrorBody::new(kind, message, false).to_json());
    code
}
