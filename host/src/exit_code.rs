//! The exit code of an outcome: the rule the `dixa` CLI exits by, documented
//! in the README ("Errors and exit codes"), here so that any front that ends
//! in a process status (the CLI, a wrapper script's host) answers the same.
//!
//! The code alone says what a caller may do next: nothing ([`OK`]), fix the
//! input ([`INVALID_INPUT`]) or the key ([`CREDENTIALS`]), try again as is
//! ([`TEMPORARY`]), not try again as is ([`REJECTED`], [`FAILURE`]), or check
//! Dixa before sending again ([`OUTCOME_UNKNOWN`]).

use dixa_contract::Operation;
use dixa_contract::operations::CREATE_INTERNAL_NOTES;
use dixa_contract::types::NotesResult;
use serde::Deserialize;
use serde_json::Value;

use crate::batch::Summary;
use crate::{ConnectorError, Error};

/// It succeeded: every part of it.
pub const OK: u8 = 0;
/// The host or the component failed (setup, I/O, a trap, the memory limit):
/// not Dixa's answer.
pub const FAILURE: u8 = 1;
/// The input or the settings are unusable; nothing was sent.
pub const INVALID_INPUT: u8 = 2;
/// Dixa refused it or did only part of it, or the failure is not temporary:
/// trying again as it is will not help.
pub const REJECTED: u8 = 3;
/// Temporary, and safe to try again as it is: either nothing was done or the
/// operation is idempotent.
pub const TEMPORARY: u8 = 4;
/// No API key, or Dixa refused the key.
pub const CREDENTIALS: u8 = 5;
/// Dixa may have carried out an operation that must not run twice (a
/// `POST`): check the conversation in Dixa before sending it again.
pub const OUTCOME_UNKNOWN: u8 = 6;
/// Standard output was closed early (`dixa ... | head -c 1`): what a shell
/// reports for a process ended by SIGPIPE (128 + 13).
pub const CLOSED_OUTPUT: u8 = 141;

/// The exit code of `operation` failing with `error`: [`OUTCOME_UNKNOWN`]
/// when Dixa may have carried out an operation that is not idempotent, and
/// [`TEMPORARY`] only when trying again cannot act twice.
pub fn for_error(error: &Error, operation: &Operation) -> u8 {
    match error {
        // Nothing was sent: the caller's to fix, whatever the operation.
        Error::Connector(
            ConnectorError::InvalidInput { .. } | ConnectorError::Configuration(_),
        ) => INVALID_INPUT,
        Error::Connector(ConnectorError::MissingCredentials | ConnectorError::Unauthorized(_)) => {
            CREDENTIALS
        }
        // Before any other verdict: a POST that may have gone through must
        // never look safe to send again.
        _ if error.dixa_may_have_acted() && !operation.idempotent => OUTCOME_UNKNOWN,
        Error::Component { .. } | Error::MemoryLimit { .. } => FAILURE,
        _ if error.is_temporary() => TEMPORARY,
        _ => REJECTED,
    }
}

/// The exit code of `operation` succeeding with `output`: [`OK`], except for
/// a `create-internal-notes` answer in which some note failed, [`REJECTED`]:
/// Dixa answered, so the call succeeded, but did only part of it.
pub fn for_output(output: &Value, operation: &Operation) -> u8 {
    let some_failed = operation.name == CREATE_INTERNAL_NOTES.name
        && NotesResult::deserialize(output).is_ok_and(|result| !result.all_created());
    if some_failed { REJECTED } else { OK }
}

/// The exit code of a whole batch (`dixa batch`): [`OK`] when every line is
/// done (succeeded now or earlier), [`REJECTED`] otherwise, outcome-unknown
/// lines included. Which lines need what is in each line's result: a line
/// that failed after Dixa may have acted is `failed` in the run that sent it
/// and `outcome-unknown` only in later runs, so one batch-wide code could not
/// say "check Dixa" reliably.
pub fn for_batch(summary: &Summary) -> u8 {
    if summary.all_done() { OK } else { REJECTED }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use dixa_contract::operations::{
        ADD_MESSAGE, CREATE_INTERNAL_NOTE, LIST_INTERNAL_NOTES, TAG_CONVERSATION,
    };
    use serde_json::json;

    use super::*;
    use crate::TransportKind;

    /// The README's table, row by row: each error with what Dixa may have
    /// done, for a `POST` (not idempotent) and for idempotent operations.
    #[test]
    fn every_row_of_the_readme_table_has_its_exit_code() {
        let api = |status, acted| ConnectorError::Api {
            status,
            message: "Dixa's message".into(),
            dixa_may_have_acted: acted,
        };
        let transport = |kind, acted| ConnectorError::Transport {
            kind,
            message: "the network's message".into(),
            dixa_may_have_acted: acted,
        };
        let invalid_response = |acted| ConnectorError::InvalidResponse {
            message: "not Dixa's shape".into(),
            dixa_may_have_acted: acted,
        };
        let deadline = |acted| Error::Deadline {
            timeout: Duration::from_secs(60),
            dixa_may_have_acted: acted,
        };
        let memory_limit = |acted| Error::MemoryLimit {
            limit_bytes: 1 << 20,
            dixa_may_have_acted: acted,
        };
        let component = |acted| Error::Component {
            message: "trap".into(),
            dixa_may_have_acted: acted,
        };
        let post = &ADD_MESSAGE;
        let put = &TAG_CONVERSATION;
        let get = &LIST_INTERNAL_NOTES;
        // (row, error, operation, exit code)
        let rows: Vec<(&str, Error, &Operation, u8)> = vec![
            (
                "invalid-input",
                ConnectorError::invalid("conversationId", "empty").into(),
                post,
                INVALID_INPUT,
            ),
            (
                "invalid-input, idempotent",
                ConnectorError::invalid("tagId", "empty").into(),
                put,
                INVALID_INPUT,
            ),
            (
                "configuration",
                ConnectorError::Configuration("bad base-url".into()).into(),
                post,
                INVALID_INPUT,
            ),
            (
                "missing-credentials",
                ConnectorError::MissingCredentials.into(),
                post,
                CREDENTIALS,
            ),
            (
                "unauthorized",
                ConnectorError::Unauthorized("bad key".into()).into(),
                get,
                CREDENTIALS,
            ),
            (
                "not-found",
                ConnectorError::NotFound("no such conversation".into()).into(),
                post,
                REJECTED,
            ),
            (
                "rate-limited",
                ConnectorError::RateLimited {
                    retry_after_seconds: Some(1),
                }
                .into(),
                post,
                TEMPORARY,
            ),
            ("api 4xx", api(422, false).into(), post, REJECTED),
            ("api 4xx, idempotent", api(400, false).into(), put, REJECTED),
            (
                "api 5xx, a write",
                api(503, true).into(),
                post,
                OUTCOME_UNKNOWN,
            ),
            (
                "api 5xx, idempotent write",
                api(503, true).into(),
                put,
                TEMPORARY,
            ),
            ("api 5xx, a read", api(500, false).into(), get, TEMPORARY),
            // A 3xx is not temporary: 6 for a POST, else 3.
            (
                "api 3xx, a write",
                api(302, true).into(),
                post,
                OUTCOME_UNKNOWN,
            ),
            (
                "api 3xx, idempotent write",
                api(302, true).into(),
                put,
                REJECTED,
            ),
            ("api 3xx, a read", api(302, false).into(), get, REJECTED),
            (
                "transport denied",
                transport(TransportKind::Denied, false).into(),
                post,
                REJECTED,
            ),
            (
                "transport tls",
                transport(TransportKind::Tls, false).into(),
                get,
                REJECTED,
            ),
            (
                "transport dns, nothing sent",
                transport(TransportKind::Dns, false).into(),
                post,
                TEMPORARY,
            ),
            (
                "transport connect, nothing sent",
                transport(TransportKind::Connect, false).into(),
                post,
                TEMPORARY,
            ),
            (
                "transport timeout, a write sent",
                transport(TransportKind::Timeout, true).into(),
                post,
                OUTCOME_UNKNOWN,
            ),
            (
                "transport connection-lost, a write sent",
                transport(TransportKind::ConnectionLost, true).into(),
                post,
                OUTCOME_UNKNOWN,
            ),
            (
                "transport connection-lost, idempotent",
                transport(TransportKind::ConnectionLost, true).into(),
                put,
                TEMPORARY,
            ),
            (
                "transport other, a read",
                transport(TransportKind::Other, false).into(),
                get,
                TEMPORARY,
            ),
            (
                "invalid-response, a read",
                invalid_response(false).into(),
                get,
                REJECTED,
            ),
            (
                "invalid-response, a write",
                invalid_response(true).into(),
                post,
                OUTCOME_UNKNOWN,
            ),
            (
                "invalid-response, idempotent write",
                invalid_response(true).into(),
                put,
                REJECTED,
            ),
            ("deadline, nothing sent", deadline(false), post, TEMPORARY),
            (
                "deadline, a write sent",
                deadline(true),
                post,
                OUTCOME_UNKNOWN,
            ),
            ("deadline, idempotent", deadline(true), put, TEMPORARY),
            (
                "memory-limit, nothing sent",
                memory_limit(false),
                post,
                FAILURE,
            ),
            (
                "memory-limit, a write sent",
                memory_limit(true),
                post,
                OUTCOME_UNKNOWN,
            ),
            ("memory-limit, idempotent", memory_limit(true), put, FAILURE),
            ("component, nothing sent", component(false), get, FAILURE),
            (
                "component, a write sent",
                component(true),
                post,
                OUTCOME_UNKNOWN,
            ),
            ("component, idempotent", component(true), put, FAILURE),
        ];
        let wrong: Vec<String> = rows
            .iter()
            .filter_map(|(row, error, operation, expected)| {
                let got = for_error(error, operation);
                (got != *expected)
                    .then(|| format!("{row} ({}): {got}, expected {expected}", operation.name))
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "rows with the wrong code:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn an_output_exits_0_unless_some_bulk_note_failed() {
        let note = json!({
            "id": "a1", "authorId": "b2", "createdAt": "2021-12-01T12:46:36Z", "message": "one",
        });
        let created = json!({ "outcome": "created", "note": note });
        let failed = json!({ "outcome": "failed", "message": "Dixa refused it" });
        let rows: Vec<(&str, Value, &Operation, u8)> = vec![
            (
                "every note created",
                json!({ "results": [created.clone(), created.clone()] }),
                &CREATE_INTERNAL_NOTES,
                OK,
            ),
            (
                "one note failed",
                json!({ "results": [created.clone(), failed.clone()] }),
                &CREATE_INTERNAL_NOTES,
                REJECTED,
            ),
            (
                "every note failed",
                json!({ "results": [failed.clone()] }),
                &CREATE_INTERNAL_NOTES,
                REJECTED,
            ),
            // Only the bulk call has outcomes per part.
            (
                "another operation's output",
                json!({ "results": [failed] }),
                &CREATE_INTERNAL_NOTE,
                OK,
            ),
            (
                "a plain success",
                json!({ "success": true }),
                &TAG_CONVERSATION,
                OK,
            ),
        ];
        let wrong: Vec<String> = rows
            .iter()
            .filter_map(|(row, output, operation, expected)| {
                let got = for_output(output, operation);
                (got != *expected).then(|| format!("{row}: {got}, expected {expected}"))
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "rows with the wrong code:\n{}",
            wrong.join("\n")
        );
    }

    /// As the README's batch section says: 0 when every line is done, 3 otherwise.
    #[test]
    fn a_batch_exits_0_only_when_every_line_is_done() {
        let summary = |succeeded, skipped, failed, outcome_unknown| Summary {
            lines: succeeded + skipped + failed + outcome_unknown,
            succeeded,
            skipped,
            failed,
            outcome_unknown,
        };
        let rows = [
            ("no lines", summary(0, 0, 0, 0), OK),
            ("all succeeded", summary(3, 0, 0, 0), OK),
            ("succeeded or skipped", summary(1, 2, 0, 0), OK),
            ("a line failed", summary(2, 0, 1, 0), REJECTED),
            ("a line's outcome unknown", summary(2, 0, 0, 1), REJECTED),
            ("failed and unknown", summary(0, 1, 1, 1), REJECTED),
        ];
        let wrong: Vec<String> = rows
            .iter()
            .filter_map(|(row, summary, expected)| {
                let got = for_batch(summary);
                (got != *expected).then(|| format!("{row}: {got}, expected {expected}"))
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "rows with the wrong code:\n{}",
            wrong.join("\n")
        );
    }
}
