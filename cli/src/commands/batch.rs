//! `dixa batch`: many operations from JSON Lines, resumable from a report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use dixa_host::ComponentSource;
use dixa_host::batch::{self, BatchError, BatchOptions, Report, ReportError, ResendUnknown};
use dixa_host::exit_code;
use serde_json::json;

use crate::Cli;
use crate::connector;
use crate::failure::Failure;
use crate::output;

/// Options of `dixa batch`.
#[derive(clap::Args)]
pub struct BatchArgs {
    /// JSON Lines file, or - for stdin (the default).
    input: Option<PathBuf>,
    /// Report to resume from and append to (default: INPUT.report.jsonl;
    /// required for stdin).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Operations in flight at once.
    #[arg(long, default_value_t = BatchOptions::default().concurrency)]
    concurrency: usize,
    /// Send again the POST lines whose outcome is unknown: all of them
    /// (`--resend-unknown`), or the given ids (`--resend-unknown=ID,ID`).
    /// Check the conversations in Dixa first.
    #[arg(long, value_name = "ID,...", num_args = 0..=1, require_equals = true, value_delimiter = ',')]
    resend_unknown: Option<Vec<String>>,
    /// Record that these outcome-unknown lines took effect (you checked in
    /// Dixa): they are skipped from now on. Comma-separated or repeated.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    mark_done: Vec<String>,
}

/// `dixa batch`: results in input order on stdout, progress and summary on stderr.
pub async fn run(cli: &Cli, args: &BatchArgs) -> Result<u8, Failure> {
    let file = args.input.as_deref().filter(|path| *path != Path::new("-"));
    let report_path = match (&args.report, file) {
        (Some(report), _) => report.clone(),
        (None, Some(file)) => PathBuf::from(format!("{}.report.jsonl", file.display())),
        (None, None) => {
            return Err(Failure::new(
                exit_code::INVALID_INPUT,
                "usage",
                "a batch from stdin needs --report FILE: without a report it cannot be resumed safely",
            ));
        }
    };
    let report_failure = |error: ReportError| match error {
        ReportError::Io { .. } => Failure::new(exit_code::FAILURE, "report", error.to_string()),
        _ => Failure::new(exit_code::INVALID_INPUT, "report", error.to_string()),
    };
    let mut report = Report::open(&report_path).map_err(report_failure)?;
    if report.torn_tail_dropped() {
        eprintln!(
            "note: {}: dropped an incomplete last record (a crash while writing)",
            report_path.display()
        );
    }
    // Every flag is checked before a mark is written: a refused run leaves
    // the report's records as they were.
    report
        .check_unknown(&args.mark_done)
        .map_err(report_failure)?;
    if let Some(ids) = &args.resend_unknown {
        report.check_unknown(ids).map_err(report_failure)?;
        if let Some(both) = ids.iter().find(|id| args.mark_done.contains(id)) {
            return Err(Failure::new(
                exit_code::INVALID_INPUT,
                "usage",
                format!(
                    "{both} is given to both --mark-done and --resend-unknown: say whether it \
                     took effect in Dixa (--mark-done) or not (--resend-unknown), not both"
                ),
            ));
        }
    }
    report.mark_done(&args.mark_done).map_err(report_failure)?;
    let options = BatchOptions {
        per_core: connector::per_core(cli)?,
        concurrency: args.concurrency,
        resend_unknown: match &args.resend_unknown {
            None => ResendUnknown::None,
            Some(ids) if ids.is_empty() => ResendUnknown::All,
            Some(ids) => ResendUnknown::Only(ids.iter().cloned().collect()),
        },
    };
    let input: Box<dyn tokio::io::AsyncBufRead + Unpin + Send> = match file {
        Some(path) => Box::new(tokio::io::BufReader::new(
            tokio::fs::File::open(path)
                .await
                .with_context(|| format!("reading {}", path.display()))?,
        )),
        None => Box::new(tokio::io::BufReader::new(tokio::io::stdin())),
    };
    let connector = Arc::new(connector::build(cli, ComponentSource::Embedded)?);

    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut out = std::io::stdout().lock();
    let ran = batch::run(Arc::clone(&connector), input, report, &options, |result| {
        progress.inc(1);
        progress.set_message(format!("line {}", result.line));
        let line = serde_json::to_string(result)?;
        output::write_line(&mut out, &connector.redact(&line))
    })
    .await;
    progress.finish_and_clear();
    let summary = match ran {
        Ok(summary) => summary,
        // The reader went away (`| head`): quietly, as for one operation. The
        // lines in flight have recorded their outcome in the report.
        Err(BatchError::Output(e)) if output::reader_gone(&e) => {
            return Ok(exit_code::CLOSED_OUTPUT);
        }
        Err(e) => return Err(Failure::new(exit_code::FAILURE, "batch", e.to_string())),
    };
    eprintln!("{}", json!({ "summary": summary }));
    Ok(exit_code::for_batch(&summary))
}
