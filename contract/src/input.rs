//! Reading an operation's input from its camelCase JSON: the one path every
//! front takes (the library's `call_json`, the CLI, `batch`, the HTTP fronts
//! and MCP), so each accepts the same inputs and names the same field when
//! one is wrong.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// Parses an operation's input from JSON text, which must be one object.
///
/// Unknown fields are refused, so a misspelt optional field is not silently
/// dropped; the error names the field to fix (`agentID`, `notes[1].message`).
pub fn from_json<T: DeserializeOwned>(json: &[u8]) -> Result<T, Error> {
    let value: Value = serde_json::from_slice(json).map_err(|e| Error::invalid("input", e))?;
    from_value(value)
}

/// [`from_json`] of an already parsed JSON value.
pub fn from_value<T: DeserializeOwned>(input: Value) -> Result<T, Error> {
    if !input.is_object() {
        // serde would also take a positional array.
        return Err(Error::invalid(
            "input",
            "expected a JSON object such as {\"conversationId\": \"9456\", ...}",
        ));
    }
    serde_path_to_error::deserialize(input).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        Error::invalid(field_of(&path, &message), message)
    })
}

/// The field a caller must fix: where serde stopped (`notes[1]`, or `.` for
/// the top level) and, for a missing field, the field's name, which serde
/// gives only in its message.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "input".to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{MessageInput, NoteInput, NotesInput};

    fn field<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        match from_json::<T>(json.as_bytes()) {
            Err(Error::InvalidInput { field, .. }) => field,
            other => format!("not an invalid-input error: {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field_to_fix() {
        let cases: [(&str, String, &str); 9] = [
            (
                "missing",
                field::<NoteInput>(r#"{"conversationId": "1"}"#),
                "message",
            ),
            (
                "misspelt",
                field::<NoteInput>(r#"{"conversationId": "1", "message": "x", "agentID": "a"}"#),
                "agentID",
            ),
            (
                "wrong type",
                field::<NoteInput>(r#"{"conversationId": 1, "message": "x"}"#),
                "conversationId",
            ),
            (
                "unknown variant",
                field::<MessageInput>(
                    r#"{"conversationId": "1", "content": "x", "direction": "up"}"#,
                ),
                "direction",
            ),
            (
                "nested missing",
                field::<NotesInput>(r#"{"conversationId": "1", "notes": [{"message": "x"}, {}]}"#),
                "notes[1].message",
            ),
            (
                "nested misspelt",
                field::<NotesInput>(r#"{"conversationId": "1", "notes": [{"mesage": "x"}]}"#),
                "notes[0].mesage",
            ),
            ("array", field::<NoteInput>(r#"["1", "x"]"#), "input"),
            ("not JSON", field::<NoteInput>("{"), "input"),
            (
                "trailing text",
                field::<NoteInput>(r#"{"conversationId": "1", "message": "x"} x"#),
                "input",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(_, got, want)| got != want)
            .map(|(case, got, want)| format!("{case}: got {got:?}, want {want:?}"))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_valid_input_parses() {
        let input: NoteInput =
            from_json(br#"{"conversationId": "9456", "message": "hi"}"#).unwrap();
        assert_eq!(
            input,
            NoteInput {
                conversation_id: "9456".into(),
                message: "hi".into(),
                agent_id: None,
                created_at: None,
            }
        );
    }
}
