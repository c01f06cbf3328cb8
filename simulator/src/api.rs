//! Dixa's behaviour for the connector's endpoints: a function of the request
//! and of what earlier requests created (the notes and tags of each
//! conversation, in [`Store`]).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::RecordedRequest;

/// An HTTP answer: status, extra headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// Headers besides `content-length`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// Dixa's error shape: `{"message": ...}`.
    pub fn error(status: u16, message: &str) -> Self {
        Reply::json(status, &json!({ "message": message }))
    }

    fn no_content() -> Self {
        Reply {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Author of notes created without `agentId`: the API token's owner.
pub const TOKEN_OWNER_ID: &str = "5e8a300e-787e-47cd-af53-fc1ccc37933d";
/// Author of inbound messages: the conversation's requester.
pub const REQUESTER_ID: &str = "0f6c5d6e-6b8a-4d4e-9c55-6a1c2d3e4f50";
/// Conversations with ids from 1 up to this exist; others are 404.
pub const MAX_CONVERSATION_ID: u64 = 999_999;

/// What earlier requests created, per conversation id.
#[derive(Debug, Default)]
pub struct Store {
    /// Internal notes, oldest first, as Dixa returns them.
    pub notes: HashMap<String, Vec<Value>>,
    /// Tag ids on each conversation.
    pub tags: HashMap<String, BTreeSet<String>>,
}

/// What a handler needs besides the request.
pub struct Context<'a> {
    /// The key requests must carry.
    pub api_key: &'a str,
    /// A fresh number for the ids of created entities.
    pub sequence: u64,
    /// Current time as Dixa prints it.
    pub now: String,
}

/// Answers `request` the way Dixa's API does.
pub fn handle(request: &RecordedRequest, context: &Context<'_>, store: &mut Store) -> Reply {
    if request.header("authorization") != Some(context.api_key) {
        return Reply::error(401, "Invalid or missing API token");
    }
    let segments: Vec<&str> = request.path.split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["", "v1", "conversations", id, "notes"]) => with_conversation(id, || {
            with_json(request, |body| {
                let reply = note(body, context, &note_id(context.sequence, 0));
                if let Ok(created) = serde_json::from_slice::<Value>(&reply.body)
                    && reply.status == 200
                {
                    let note = created.get("data").cloned().unwrap_or_default();
                    store.notes.entry((*id).to_owned()).or_default().push(note);
                }
                reply
            })
        }),
        ("POST", ["", "v1", "conversations", id, "notes", "bulk"]) => with_conversation(id, || {
            with_json(request, |body| {
                bulk_notes(
                    body,
                    context,
                    store.notes.entry((*id).to_owned()).or_default(),
                )
            })
        }),
        ("GET", ["", "v1", "conversations", id, "notes"]) => with_conversation(id, || {
            let notes = store.notes.get(*id).cloned().unwrap_or_default();
            Reply::json(200, &json!({ "data": notes }))
        }),
        ("GET", ["", "v1", "conversations", id, "tags"]) => with_conversation(id, || {
            let tags: Vec<Value> = store
                .tags
                .get(*id)
                .into_iter()
                .flatten()
                .map(|tag| tag_data(tag))
                .collect();
            Reply::json(200, &json!({ "data": tags }))
        }),
        ("DELETE", ["", "v1", "conversations", id, "tags", tag_id]) => {
            with_conversation(id, || {
                if is_uuid(tag_id) {
                    if let Some(tags) = store.tags.get_mut(*id) {
                        tags.remove(*tag_id);
                    }
                    Reply::no_content()
                } else {
                    Reply::error(400, "Invalid value for: path parameter tagId")
                }
            })
        }
        ("POST", ["", "v1", "conversations", id, "messages"]) => {
            with_conversation(id, || with_json(request, |body| message(body, context)))
        }
        ("PUT", ["", "v1", "conversations", id, "tags", tag_id]) => with_conversation(id, || {
            if is_uuid(tag_id) {
                store
                    .tags
                    .entry((*id).to_owned())
                    .or_default()
                    .insert((*tag_id).to_owned());
                Reply::no_content()
            } else {
                Reply::error(400, "Invalid value for: path parameter tagId")
            }
        }),
        (_, ["", "v1", "conversations", ..]) => Reply::error(405, "Method not allowed"),
        _ => Reply::error(404, "The requested resource could not be found"),
    }
}

fn with_conversation(id: &str, then: impl FnOnce() -> Reply) -> Reply {
    match id.parse::<u64>() {
        Ok(n) if (1..=MAX_CONVERSATION_ID).contains(&n) => then(),
        Ok(_) => Reply::error(404, &format!("Conversation {id} not found")),
        Err(_) => Reply::error(400, "Invalid value for: path parameter conversationId"),
    }
}

fn with_json(request: &RecordedRequest, then: impl FnOnce(&Value) -> Reply) -> Reply {
    let is_json = request
        .header("content-type")
        .is_some_and(|v| v.starts_with("application/json"));
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(body) if is_json && body.is_object() => then(&body),
        _ => Reply::error(400, "Decoding failure in request"),
    }
}

/// The id of note `item` (0 for a single note) created by request `sequence`.
fn note_id(sequence: u64, item: u64) -> String {
    format!("00000000-0000-4000-{:04x}-{sequence:012x}", 0x8000 + item)
}

/// A tag as Dixa lists it; the simulator names tags after their id.
fn tag_data(id: &str) -> Value {
    json!({
        "id": id,
        "name": format!("Tag {}", id.get(..8).unwrap_or(id)),
        "color": "#1E90FF",
        "state": "Active",
    })
}

/// `POST .../notes/bulk`: one outcome per item; an item with an agent that
/// is not a UUID fails as Dixa's unknown agent does.
fn bulk_notes(body: &Value, context: &Context<'_>, notes: &mut Vec<Value>) -> Reply {
    let Some(items) = body.get("data").and_then(Value::as_array) else {
        return Reply::error(400, "Invalid value for: body");
    };
    let mut outcomes = Vec::new();
    for (item, input) in (0u64..).zip(items) {
        let reply = note(input, context, &note_id(context.sequence, item));
        let answer = serde_json::from_slice::<Value>(&reply.body).unwrap_or(Value::Null);
        if reply.status == 200 {
            let note = answer.get("data").cloned().unwrap_or_default();
            notes.push(note.clone());
            outcomes.push(json!({ "data": note, "_type": "BulkActionSuccess" }));
        } else {
            let agent = input
                .get("agentId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let message = if reply.status == 400 && !agent.is_empty() && !is_uuid(agent) {
                format!("An agent with id:{agent} cannot be found in org.")
            } else {
                answer
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("Invalid value")
                    .to_owned()
            };
            outcomes.push(json!({ "error": { "message": message }, "_type": "BulkActionFailure" }));
        }
    }
    Reply::json(200, &json!({ "data": outcomes }))
}

fn note(body: &Value, context: &Context<'_>, id: &str) -> Reply {
    let Some(message) = body.get("message").and_then(Value::as_str) else {
        return Reply::error(400, "Invalid value for: body");
    };
    let author = match optional_uuid(body, "agentId") {
        Ok(agent) => agent.unwrap_or(TOKEN_OWNER_ID),
        Err(reply) => return reply,
    };
    let created_at = match body.get("createdAt") {
        None => context.now.clone(),
        Some(Value::String(at)) if looks_like_instant(at) => at.clone(),
        Some(_) => return Reply::error(400, "Invalid date format"),
    };
    Reply::json(
        200,
        &json!({ "data": {
            "id": id,
            "authorId": author,
            "createdAt": created_at,
            "csid": context.sequence,
            "message": message,
        }}),
    )
}

fn message(body: &Value, context: &Context<'_>) -> Reply {
    let direction = body.get("_type").and_then(Value::as_str);
    let content = body.get("content");
    let content_type = content.and_then(|c| c.get("_type")).and_then(Value::as_str);
    let value = content.and_then(|c| c.get("value")).and_then(Value::as_str);
    let (Some(content_type @ ("Text" | "Html" | "Markdown")), Some(value)) = (content_type, value)
    else {
        return Reply::error(400, "Invalid value for: body");
    };
    let author = match (direction, optional_uuid(body, "agentId")) {
        (_, Err(reply)) => return reply,
        (Some("Inbound"), Ok(_)) => REQUESTER_ID,
        (Some("Outbound"), Ok(Some(agent))) => agent,
        (Some("Outbound"), Ok(None)) => return Reply::error(400, "Invalid input for Message"),
        _ => return Reply::error(400, "Invalid value for: body"),
    };
    Reply::json(
        200,
        &json!({ "data": {
            "content": { "value": value, "_type": content_type },
            "direction": direction,
            "authorId": author,
            "messageId": uuid_for(context.sequence),
            "createdAt": context.now.trim_end_matches("[GMT]"),
        }}),
    )
}

fn optional_uuid<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>, Reply> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(id)) if is_uuid(id) => Ok(Some(id)),
        Some(_) => Err(Reply::error(400, "Agent was not found")),
    }
}

/// A deterministic UUID for the `n`th created entity.
pub fn uuid_for(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Dixa's check is stricter; the simulator only wants date, `T` and time.
fn looks_like_instant(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20 && b.get(4) == Some(&b'-') && b.get(10) == Some(&b'T') && b.get(13) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, body: &str) -> RecordedRequest {
        RecordedRequest {
            method: method.into(),
            path: path.into(),
            headers: vec![
                ("authorization".into(), "key".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: body.as_bytes().to_vec(),
            connection: 1,
            status: None,
        }
    }

    fn context() -> Context<'static> {
        Context {
            api_key: "key",
            sequence: 7,
            now: "2026-11-24T10:00:00.000Z[GMT]".into(),
        }
    }

    fn reply_json(reply: &Reply) -> Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn notes_and_tags_are_remembered_per_conversation() {
        let mut store = Store::default();
        let mut send = |method: &str, path: &str, body: &str| {
            let reply = handle(&request(method, path, body), &context(), &mut store);
            (
                reply.status,
                serde_json::from_slice::<Value>(&reply.body).unwrap_or(Value::Null),
            )
        };
        let (status, bulk) = send(
            "POST",
            "/v1/conversations/9456/notes/bulk",
            r#"{"data":[{"message":"one"},{"message":"two","agentId":"nobody"}]}"#,
        );
        assert_eq!(status, 200);
        assert_eq!(bulk["data"][0]["_type"], "BulkActionSuccess");
        assert_eq!(
            bulk["data"][1],
            json!({"error": {"message": "An agent with id:nobody cannot be found in org."}, "_type": "BulkActionFailure"})
        );
        send(
            "POST",
            "/v1/conversations/9456/notes",
            r#"{"message":"three"}"#,
        );
        let (_, notes) = send("GET", "/v1/conversations/9456/notes", "");
        let messages: Vec<&str> = notes["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["one", "three"]);
        assert_eq!(
            send("GET", "/v1/conversations/1/notes", "").1,
            json!({"data": []})
        );

        let tag = "/v1/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";
        assert_eq!(send("PUT", tag, "").0, 204);
        let (_, tags) = send("GET", "/v1/conversations/9456/tags", "");
        assert_eq!(
            tags,
            json!({"data": [{"id": "eb31acbb-13f9-4ce7-abd3-44dd86266741", "name": "Tag eb31acbb", "color": "#1E90FF", "state": "Active"}]})
        );
        assert_eq!(send("DELETE", tag, "").0, 204);
        assert_eq!(send("DELETE", tag, "").0, 204, "removing twice is fine");
        assert_eq!(
            send("GET", "/v1/conversations/9456/tags", "").1,
            json!({"data": []})
        );
    }

    #[test]
    fn note_is_created_like_dixa_does() {
        let reply = handle(
            &request(
                "POST",
                "/v1/conversations/9456/notes",
                r#"{"message":"A sample note"}"#,
            ),
            &context(),
            &mut Store::default(),
        );
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply_json(&reply),
            json!({"data": {
                "id": "00000000-0000-4000-8000-000000000007",
                "authorId": TOKEN_OWNER_ID,
                "createdAt": "2026-11-24T10:00:00.000Z[GMT]",
                "csid": 7,
                "message": "A sample note",
            }})
        );
    }

    #[test]
    fn requests_are_judged_like_dixa_does() {
        let cases = [
            (request("POST", "/v1/conversations/abc/notes", "{}"), 400),
            (
                request("POST", "/v1/conversations/0/notes", r#"{"message":"m"}"#),
                404,
            ),
            (
                request("POST", "/v1/conversations/1/notes", r#"{"msg":"m"}"#),
                400,
            ),
            (
                request("POST", "/v1/conversations/1/notes", "not json"),
                400,
            ),
            (
                request(
                    "POST",
                    "/v1/conversations/1/messages",
                    r#"{"_type":"Outbound","content":{"_type":"Text","value":"v"}}"#,
                ),
                400,
            ),
            (
                request(
                    "POST",
                    "/v1/conversations/1/messages",
                    r#"{"_type":"Sideways","content":{"_type":"Text","value":"v"}}"#,
                ),
                400,
            ),
            (
                request("PUT", "/v1/conversations/1/tags/not-a-uuid", ""),
                400,
            ),
            (
                request(
                    "PUT",
                    "/v1/conversations/1/tags/a53b25da-f676-4c52-acac-58c9280aa23d",
                    "",
                ),
                204,
            ),
            (request("PATCH", "/v1/conversations/1/notes", ""), 405),
            (request("GET", "/elsewhere", ""), 404),
        ];
        for (request, status) in cases {
            assert_eq!(
                handle(&request, &context(), &mut Store::default()).status,
                status,
                "{request:?}"
            );
        }
        let mut unauthenticated = request("PUT", "/v1/conversations/1/tags/x", "");
        unauthenticated.headers.clear();
        assert_eq!(
            handle(&unauthenticated, &context(), &mut Store::default()).status,
            401
        );
    }
}
