//! The batch report: an append-only JSON Lines log, synced to disk, that says
//! for each line (by identity) whether it was started, succeeded, failed, or
//! was confirmed by hand. It is what makes a resumed batch safe.
//!
//! ```text
//! {"record":"header","format":"dixa-batch-report","version":3}
//! {"record":"started","id":"…","digest":"…","line":3,"op":"add-message"}
//! {"record":"succeeded","id":"…","line":3,"op":"add-message","output":{…}}
//! {"record":"failed","id":"…","line":4,"op":"add-message","error":{…}}
//! {"record":"marked-done","id":"…","digest":"…"}
//! ```
//!
//! The report holds customer text and decides what is sent again, so it must
//! be the user's own: a regular file (never a symlink, a FIFO or a device),
//! owned by this user, with no permission bits for group or others. Anything
//! else is refused before a line is read or sent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorBody;

/// The `format` of the header record.
pub const FORMAT: &str = "dixa-batch-report";
/// The version of the records this build writes and reads (3: `marked-done`
/// records carry the line's digest).
pub const VERSION: u32 = 3;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum Record {
    /// The first line: what wrote the file.
    Header { format: String, version: u32 },
    /// Written and synced before the line's request may go out. `digest`
    /// is the SHA-256 of the line's canonical JSON without `id`, so that an
    /// `id` reused for other content is caught.
    Started {
        id: String,
        digest: String,
        line: u64,
        op: String,
    },
    /// The operation succeeded.
    Succeeded {
        id: String,
        line: u64,
        op: String,
        output: Value,
    },
    /// The operation failed; `error.dixaMayHaveActed` decides what a resume does.
    Failed {
        id: String,
        line: u64,
        op: String,
        error: ErrorBody,
    },
    /// The user checked Dixa and confirmed the line took effect. `digest` is
    /// the one the line was started with: a mark counts only for that content.
    MarkedDone { id: String, digest: String },
}

/// What the report says about one line identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// It succeeded, or the user confirmed it: never run again.
    Done,
    /// It was started and never finished, or failed after Dixa may have acted.
    Unknown,
    /// It failed before Dixa could act: safe to run again.
    FailedSafely,
}

/// Why a report cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading or writing it failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The report.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// It is not a private regular file of this user's.
    #[error("{}: refusing to use it as a batch report: {reason}; nothing was sent", path.display())]
    NotPrivate {
        /// The report.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process holds it.
    #[error("{} is in use by another dixa batch; wait for it to finish", path.display())]
    Locked {
        /// The report.
        path: PathBuf,
    },
    /// A line of it is not a record this build knows.
    #[error("{} line {line}: {reason}; the report is not safe to resume from (fix or move it away)", path.display())]
    Corrupt {
        /// The report.
        path: PathBuf,
        /// 1-based line number in the report.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// It was written by another version of dixa.
    #[error("{} was written by {written_by}, which this dixa cannot resume safely: check the conversations in Dixa, then move the report away to start over", path.display())]
    OtherVersion {
        /// The report.
        path: PathBuf,
        /// Which version wrote it, as far as can be told.
        written_by: String,
    },
    /// `--mark-done` or `--resend-unknown` named a line the report does not
    /// hold as outcome-unknown.
    #[error("{id:?} is not an outcome-unknown line of {}", path.display())]
    NotUnknown {
        /// The report.
        path: PathBuf,
        /// The identity given.
        id: String,
    },
}

/// An open, locked report: what earlier runs did, and the file to append to.
pub struct Report {
    path: PathBuf,
    file: File,
    states: HashMap<String, Known>,
    torn_tail_dropped: bool,
    /// Set by a failed append: the file's end may be a fragment, so nothing
    /// more is written and no further line may start.
    broken: bool,
}

/// What the report knows of one identity.
#[derive(Debug, Clone)]
struct Known {
    state: LineState,
    /// The content it was started with, when it was.
    digest: Option<String>,
}

impl Report {
    /// Opens (or creates, readable by this user only) the report at `path`,
    /// locks it against other batches, and reads what earlier runs did. An
    /// incomplete last line, left by a crash while writing, is dropped.
    pub fn open(path: &Path) -> Result<Report, ReportError> {
        let io = |source| ReportError::Io {
            path: path.to_owned(),
            source,
        };
        let not_private = |reason: String| ReportError::NotPrivate {
            path: path.to_owned(),
            reason,
        };
        let mut options = std::fs::OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // No symlink is followed (a dangling one would create its target);
            // a FIFO opens without blocking, to be refused below.
            options
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(path).map_err(|e| {
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ELOOP) {
                return not_private("it is a symbolic link".into());
            }
            io(e)
        })?;
        // Judged on the descriptor just opened, so nothing can be swapped in
        // between the check and the use.
        let metadata = file.metadata().map_err(io)?;
        if !metadata.is_file() {
            return Err(not_private("it is not a regular file".into()));
        }
        crate::cache::private_to_this_user(&metadata, 0o077).map_err(not_private)?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => ReportError::Locked {
                path: path.to_owned(),
            },
            std::fs::TryLockError::Error(e) => io(e),
        })?;
        let mut report = Report {
            path: path.to_owned(),
            file,
            states: HashMap::new(),
            torn_tail_dropped: false,
            broken: false,
        };
        report.read()?;
        Ok(report)
    }

    /// Whether an incomplete last line (a crash while writing) was dropped.
    pub fn torn_tail_dropped(&self) -> bool {
        self.torn_tail_dropped
    }

    /// What the report says about the line with identity `id`.
    pub fn state(&self, id: &str) -> Option<LineState> {
        self.states.get(id).map(|known| known.state)
    }

    /// The content digest the line `id` was started with, if it was.
    pub(crate) fn digest(&self, id: &str) -> Option<&str> {
        self.states.get(id)?.digest.as_deref()
    }

    /// Checks that each of `ids` is an outcome-unknown line of this report.
    pub fn check_unknown<'i>(
        &self,
        ids: impl IntoIterator<Item = &'i String>,
    ) -> Result<(), ReportError> {
        match ids
            .into_iter()
            .find(|id| self.state(id) != Some(LineState::Unknown))
        {
            Some(id) => Err(ReportError::NotUnknown {
                path: self.path.clone(),
                id: id.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records that the user confirmed the lines `ids` in Dixa: a resume
    /// skips them, as long as their content is what was started. Each must be
    /// outcome-unknown in this report; nothing is written otherwise.
    pub fn mark_done(&mut self, ids: &[String]) -> Result<(), ReportError> {
        self.check_unknown(ids)?;
        let marks: Vec<Record> = ids
            .iter()
            .map(|id| match self.digest(id) {
                Some(digest) => Ok(Record::MarkedDone {
                    id: id.clone(),
                    digest: digest.to_owned(),
                }),
                None => Err(ReportError::NotUnknown {
                    path: self.path.clone(),
                    id: id.clone(),
                }),
            })
            .collect::<Result<_, _>>()?;
        for mark in &marks {
            self.append(mark)?;
        }
        Ok(())
    }

    /// Appends `record` as one line and syncs it to disk before returning;
    /// the in-memory state follows only a record that is on disk. After a
    /// failed append, the fragment is cut off if possible, and the report
    /// refuses every further append.
    pub(crate) fn append(&mut self, record: &Record) -> Result<(), ReportError> {
        if self.broken {
            return Err(self.io(std::io::Error::other(
                "an earlier write to the report failed",
            )));
        }
        // Refused before it is written: the file never holds a record that
        // would make it unreadable.
        check(&self.states, record).map_err(|reason| self.io(std::io::Error::other(reason)))?;
        let mut line = serde_json::to_vec(record).map_err(|e| self.io(e.into()))?;
        line.push(b'\n');
        let length = self.file.metadata().map_err(|e| self.io(e))?.len();
        if let Err(e) = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
        {
            self.broken = true;
            let _ = self.file.set_len(length);
            return Err(self.io(e));
        }
        apply(&mut self.states, record);
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> ReportError {
        ReportError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads every record; writes the header into a new report.
    fn read(&mut self) -> Result<(), ReportError> {
        let mut reader = BufReader::new(&self.file);
        let mut text = Vec::new();
        let mut number = 0;
        let mut complete_bytes = 0u64;
        loop {
            text.clear();
            let read = reader
                .read_until(b'\n', &mut text)
                .map_err(|source| ReportError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            number += 1;
            if text.last() != Some(&b'\n') {
                // A crash while appending: the record never reached the disk
                // whole, so it never counted (a `started` not on disk means its
                // request never went out). Only in a file this code wrote.
                let header = serde_json::to_vec(&header()).unwrap_or_default();
                if number == 1 && !header.starts_with(&text) {
                    return Err(ReportError::Corrupt {
                        path: self.path.clone(),
                        line: number,
                        reason: "not a dixa batch report (no header)".into(),
                    });
                }
                self.torn_tail_dropped = true;
                break;
            }
            complete_bytes += read as u64;
            let record = parse(&self.path, number, &text)?;
            check(&self.states, &record).map_err(|reason| ReportError::Corrupt {
                path: self.path.clone(),
                line: number,
                reason,
            })?;
            apply(&mut self.states, &record);
        }
        drop(reader);
        if self.torn_tail_dropped {
            self.file.set_len(complete_bytes).map_err(|e| self.io(e))?;
        }
        if number == 0 || (number == 1 && self.torn_tail_dropped) {
            self.append(&header())?;
            // A new file: its directory entry must reach the disk too, or a
            // crash could lose the whole report.
            if let Some(directory) = self.path.parent() {
                let directory = if directory.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    directory
                };
                File::open(directory)
                    .and_then(|directory| directory.sync_all())
                    .map_err(|e| self.io(e))?;
            }
        }
        Ok(())
    }
}

fn header() -> Record {
    Record::Header {
        format: FORMAT.into(),
        version: VERSION,
    }
}

/// Whether `record` may follow what `states` holds: a mark counts only for the
/// content the line was started with, so one that names a line never started,
/// or started with other content, is refused.
fn check(states: &HashMap<String, Known>, record: &Record) -> Result<(), String> {
    match record {
        Record::MarkedDone { id, digest }
            if states.get(id).and_then(|known| known.digest.as_ref()) != Some(digest) =>
        {
            Err(format!(
                "a marked-done record for {id:?}, which was never started with that content"
            ))
        }
        _ => Ok(()),
    }
}

/// Folds one [`check`]ed record into `states`. A line once done stays done.
fn apply(states: &mut HashMap<String, Known>, record: &Record) {
    let (id, state, digest) = match record {
        Record::Header { .. } => return,
        Record::Started { id, digest, .. } => (id, LineState::Unknown, Some(digest)),
        Record::Succeeded { id, .. } | Record::MarkedDone { id, .. } => (id, LineState::Done, None),
        Record::Failed { id, error, .. } if error.dixa_may_have_acted => {
            (id, LineState::Unknown, None)
        }
        Record::Failed { id, .. } => (id, LineState::FailedSafely, None),
    };
    let known = states.entry(id.clone()).or_insert(Known {
        state,
        digest: None,
    });
    if known.state != LineState::Done {
        known.state = state;
    }
    if let Some(digest) = digest {
        known.digest = Some(digest.clone());
    }
}

/// Parses line `number` of the report at `path`; the first must be this
/// version's header.
fn parse(path: &Path, number: u64, text: &[u8]) -> Result<Record, ReportError> {
    let corrupt = |reason: &str| ReportError::Corrupt {
        path: path.to_owned(),
        line: number,
        reason: reason.to_owned(),
    };
    let parsed = serde_json::from_slice::<Record>(text);
    if number == 1 {
        return match parsed {
            Ok(Record::Header { format, version }) if format == FORMAT && version == VERSION => {
                Ok(Record::Header { format, version })
            }
            Ok(Record::Header { version, .. }) => Err(ReportError::OtherVersion {
                path: path.to_owned(),
                written_by: format!("a dixa whose report version is {version}"),
            }),
            _ => Err(match serde_json::from_slice::<Value>(text) {
                // dixa 0.1 wrote one result per line, matched by line number.
                Ok(Value::Object(old)) if old.contains_key("line") && old.contains_key("hash") => {
                    ReportError::OtherVersion {
                        path: path.to_owned(),
                        written_by: "dixa 0.1 (which matched lines by their position)".into(),
                    }
                }
                _ => corrupt("not a dixa batch report (no header)"),
            }),
        };
    }
    match parsed {
        Ok(Record::Header { .. }) => Err(corrupt("a second header")),
        Ok(record) => Ok(record),
        Err(e) => Err(corrupt(&e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(id: &str) -> Record {
        Record::Started {
            id: id.into(),
            digest: format!("digest of {id}"),
            line: 1,
            op: "add-message".into(),
        }
    }

    fn failed(id: &str, dixa_may_have_acted: bool) -> Record {
        Record::Failed {
            id: id.into(),
            line: 1,
            op: "add-message".into(),
            error: ErrorBody::new("transport", "x", dixa_may_have_acted),
        }
    }

    #[test]
    fn states_follow_the_records_and_done_is_final() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        {
            let mut report = Report::open(&path).unwrap();
            for record in [
                started("a"),
                Record::Succeeded {
                    id: "a".into(),
                    line: 1,
                    op: "add-message".into(),
                    output: Value::Null,
                },
                started("a"),
                started("b"),
                started("c"),
                failed("c", false),
                started("d"),
                failed("d", true),
            ] {
                report.append(&record).unwrap();
            }
        }
        let mut report = Report::open(&path).unwrap();
        assert_eq!(report.state("a"), Some(LineState::Done));
        assert_eq!(report.state("b"), Some(LineState::Unknown));
        assert_eq!(report.state("c"), Some(LineState::FailedSafely));
        assert_eq!(report.state("d"), Some(LineState::Unknown));
        assert_eq!(report.state("e"), None);
        assert_eq!(report.digest("b"), Some("digest of b"));
        assert!(report.check_unknown(&["b".into(), "d".into()]).is_ok());

        assert!(matches!(
            report.mark_done(&["b".into(), "c".into()]),
            Err(ReportError::NotUnknown { id, .. }) if id == "c"
        ));
        assert_eq!(
            report.state("b"),
            Some(LineState::Unknown),
            "all or nothing"
        );
        report.mark_done(&["b".into()]).unwrap();
        assert_eq!(report.state("b"), Some(LineState::Done));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(
            "{\"record\":\"header\",\"format\":\"dixa-batch-report\",\"version\":3}\n{\"record\":\"started\",\"id\":\"a\",\"digest\":\"digest of a\",\"line\":1,\"op\":\"add-message\"}\n"
        ));
        assert!(
            text.ends_with(
                "{\"record\":\"marked-done\",\"id\":\"b\",\"digest\":\"digest of b\"}\n"
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_new_report_is_private_and_locked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let report = Report::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            Report::open(&path),
            Err(ReportError::Locked { .. })
        ));
        drop(report);
        assert!(Report::open(&path).is_ok(), "the lock goes with the report");
    }

    /// Writes `text` to `path` as a report of this user's, mode 0600.
    fn write_private(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    /// A report with one outcome-unknown line `a`, as another user could
    /// have planted it: readable, or with `a` marked done.
    #[cfg(unix)]
    #[test]
    fn a_report_that_is_not_a_private_regular_file_is_refused_and_left_alone() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        let header = "{\"record\":\"header\",\"format\":\"dixa-batch-report\",\"version\":3}\n";
        let refused = |path: &Path| match Report::open(path) {
            Err(ReportError::NotPrivate { reason, .. }) => reason,
            other => panic!("{path:?} was not refused: {:?}", other.map(|_| ())),
        };

        for mode in [0o666, 0o640, 0o604, 0o660] {
            let path = dir.path().join(format!("mode-{mode:o}.jsonl"));
            std::fs::write(&path, header).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(
                refused(&path),
                format!("open to group or others (mode {mode:o})")
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), header);
        }

        let target = dir.path().join("target.jsonl");
        let dangling = dir.path().join("dangling.jsonl");
        symlink(&target, &dangling).unwrap();
        assert_eq!(refused(&dangling), "it is a symbolic link");
        assert!(
            !target.exists(),
            "a dangling symlink's target is never created"
        );
        write_private(&target, header);
        let linked = dir.path().join("linked.jsonl");
        symlink(&target, &linked).unwrap();
        assert_eq!(refused(&linked), "it is a symbolic link");

        let fifo = dir.path().join("fifo.jsonl");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `name` is a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert_eq!(refused(&fifo), "it is not a regular file");

        assert!(matches!(
            Report::open(Path::new("/dev/null")),
            Err(ReportError::NotPrivate { .. })
        ));
        let error = Report::open(&dangling).err().unwrap().to_string();
        assert!(
            error.ends_with(
                "refusing to use it as a batch report: it is a symbolic link; nothing was sent"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_mark_counts_only_for_the_content_the_line_was_started_with() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        {
            let mut report = Report::open(&path).unwrap();
            report.append(&started("a")).unwrap();
            report.mark_done(&["a".into()]).unwrap();
        }
        let report = Report::open(&path).unwrap();
        assert_eq!(report.state("a"), Some(LineState::Done));
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(
            last.ends_with(
                "{\"record\":\"marked-done\",\"id\":\"a\",\"digest\":\"digest of a\"}\n"
            ),
            "{last}"
        );
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_report_stays_appendable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        drop(Report::open(&path).unwrap());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"record\":\"started\",\"id\":\"a\",\"digest\":\"d\",\"line\":1,\"op\":\"add-message\"}\n{\"record\":\"succ")
            .unwrap();
        drop(file);
        let mut report = Report::open(&path).unwrap();
        assert!(report.torn_tail_dropped());
        assert_eq!(report.state("a"), Some(LineState::Unknown));
        report.append(&failed("a", false)).unwrap();
        drop(report);
        let report = Report::open(&path).unwrap();
        assert!(!report.torn_tail_dropped());
        assert_eq!(report.state("a"), Some(LineState::FailedSafely));
    }

    #[test]
    fn unreadable_or_foreign_reports_are_refused_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let header = "{\"record\":\"header\",\"format\":\"dixa-batch-report\",\"version\":3}\n";
        let cases = [
            (
                format!("{header}{{\"record\":\"started\",\"id\":\"a\"}}\n"),
                "line 2: missing field `digest`",
            ),
            (format!("{header}not json\n"), "line 2: expected ident"),
            (format!("{header}{header}"), "line 2: a second header"),
            (
                "[1]\n".to_owned(),
                "line 1: not a dixa batch report (no header)",
            ),
            (
                "{\"line\":1,\"hash\":\"ab\",\"op\":\"add-message\",\"output\":{}}\n".to_owned(),
                "was written by dixa 0.1 (which matched lines by their position)",
            ),
            (
                "{\"record\":\"header\",\"format\":\"dixa-batch-report\",\"version\":2}\n"
                    .to_owned(),
                "was written by a dixa whose report version is 2",
            ),
            (
                format!("{header}{{\"record\":\"marked-done\",\"id\":\"a\",\"digest\":\"d\"}}\n"),
                "line 2: a marked-done record for \"a\", which was never started with that content",
            ),
            (
                format!(
                    "{header}{{\"record\":\"started\",\"id\":\"a\",\"digest\":\"d\",\"line\":1,\"op\":\"add-message\"}}\n\
                     {{\"record\":\"marked-done\",\"id\":\"a\",\"digest\":\"other\"}}\n"
                ),
                "line 3: a marked-done record for \"a\", which was never started with that content",
            ),
            (
                format!("{header}{{\"record\":\"marked-done\",\"id\":\"a\"}}\n"),
                "line 2: missing field `digest`",
            ),
        ];
        for (text, expected) in cases {
            write_private(&path, &text);
            let error = Report::open(&path).err().unwrap().to_string();
            assert!(error.contains(expected), "{error}");
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                text,
                "left as it was"
            );
        }
    }
}
