//! Log lines on stderr, with every secret this process holds (the API key,
//! the service token) redacted from each line whatever wrote it: the library,
//! a dependency, or text a component or Dixa sent back.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::{PoisonError, RwLock};

use tracing_subscriber::fmt::MakeWriter;

/// The secrets to redact, added as the process learns them.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Logs to stderr: warnings, and with `verbose` the host's requests too.
pub fn init(verbose: bool) {
    let filter = if verbose {
        "dixa_host=debug,warn"
    } else {
        "warn"
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(RedactedStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

/// Redacts `secret` from every log line from now on.
pub fn hide(secret: &str) {
    SECRETS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .push(secret.to_owned());
}

/// `bytes` with every secret redacted.
fn redact(bytes: &[u8]) -> Cow<'_, [u8]> {
    let secrets = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    let mut clean = Cow::Borrowed(bytes);
    for secret in secrets.iter() {
        if let Cow::Owned(redacted) = dixa_contract::redact::redact_bytes(&clean, secret) {
            clean = Cow::Owned(redacted);
        }
    }
    clean
}

/// Hands each event a buffer that reaches stderr, redacted, when dropped:
/// a secret is redacted even when the formatter writes a line in pieces.
struct RedactedStderr;

impl<'a> MakeWriter<'a> for RedactedStderr {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedLine(Vec::new())
    }
}

struct RedactedLine(Vec<u8>);

impl Write for RedactedLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        let _ = std::io::stderr().write_all(&redact(&self.0));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_secret_is_redacted_even_from_a_line_written_in_pieces() {
        hide("s3cret-key");
        hide("service token");
        let line = b"sending path=/v1/conversations/s3cret-key/notes token=service%20token \xff";
        assert_eq!(
            redact(line).as_ref(),
            b"sending path=/v1/conversations/<redacted>/notes token=<redacted> \xff"
        );
    }
}
