//! Standard output: every command writes its lines through here, so a reader
//! that went away (`dixa ... | head`) ends each of them the same way.

use std::io::Write;

use dixa_host::exit_code;

use crate::failure::fail;

/// Writes `line` to standard output: `Err` with the exit code when it cannot,
/// quietly when the reader went away (`| head`), as `cat` would.
pub fn print_line(line: &str) -> Result<(), u8> {
    write_line(&mut std::io::stdout().lock(), line).map_err(|e| {
        if reader_gone(&e) {
            exit_code::CLOSED_OUTPUT
        } else {
            fail(
                exit_code::FAILURE,
                "io",
                &format!("writing the output: {e}"),
            )
        }
    })
}

/// Writes `line` and its newline to `out` and flushes it, so a closed pipe
/// shows at this line rather than at exit.
pub fn write_line(out: &mut impl Write, line: &str) -> std::io::Result<()> {
    writeln!(out, "{line}")?;
    out.flush()
}

/// Whether a failed write means the reader went away: the process then ends
/// quietly with [`exit_code::CLOSED_OUTPUT`].
pub fn reader_gone(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}
