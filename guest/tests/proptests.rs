//! Property tests over validation and the wire encoding, on arbitrary input.
//!
//! `cargo test -p dixa-guest` runs 256 cases per property; for a longer run:
//! `PROPTEST_CASES=100000 cargo test --release -p dixa-guest --test proptests`.

use std::time::{Duration, SystemTime};

use dixa_contract::types::{Direction, MessageInput, NoteInput, TagInput};
use dixa_guest::error::{Credentials, Error, from_status};
use dixa_guest::{request, timestamp};
use proptest::prelude::*;

/// Strings that mix plain ids with the characters validation cares about.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9._~:@!$&'()*+,;=/?#%\\\\ \\t\\r\\n-]{0,40}",
        "[0-9]{1,12}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ]
}

fn percent_decode(segment: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = segment.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

proptest! {
    #[test]
    fn accepted_ids_stay_one_percent_encoded_path_segment(conversation_id in tricky(), tag_id in tricky()) {
        let input = TagInput { conversation_id: conversation_id.clone(), tag_id: tag_id.clone() };
        match request::tag_conversation(&input) {
            Ok(request) => {
                let segments: Vec<&str> = request.path.split('/').collect();
                prop_assert_eq!(segments.len(), 6);
                prop_assert_eq!(&segments[..3], &["", "v1", "conversations"]);
                prop_assert_eq!(segments[4], "tags");
                for (segment, original) in [(segments[3], &conversation_id), (segments[5], &tag_id)] {
                    prop_assert!(segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)), "{}", segment);
                    prop_assert_eq!(percent_decode(segment), Some(original.as_bytes().to_vec()));
                    prop_assert!(segment != "." && segment != ".." && !segment.is_empty());
                }
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidInput { .. }), "{:?}", error),
        }
    }

    #[test]
    fn note_bodies_carry_exactly_the_given_fields(
        message in any::<String>(),
        agent_id in proptest::option::of(tricky()),
        created_at in proptest::option::of(prop_oneof![any::<String>(), "20[0-9]{2}-0[1-9]-[0-2][1-8]T[01][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]0[0-9]:[0-5][0-9])(\\[GMT\\])?"]),
    ) {
        let input = NoteInput { conversation_id: "9456".into(), message: message.clone(), agent_id: agent_id.clone(), created_at: created_at.clone() };
        match request::create_internal_note(&input) {
            Ok(request) => {
                let body: serde_json::Value = serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap();
                let mut expected = serde_json::json!({ "message": message });
                if let Some(agent_id) = agent_id { expected["agentId"] = agent_id.into(); }
                if let Some(created_at) = created_at { expected["createdAt"] = created_at.into(); }
                prop_assert_eq!(body, expected);
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidInput { .. }), "{:?}", error),
        }
    }

    #[test]
    fn message_bodies_match_the_direction(content in any::<String>(), outbound in any::<bool>(), agent_id in proptest::option::of(tricky())) {
        let direction = if outbound { Direction::Outbound } else { Direction::Inbound };
        let input = MessageInput { conversation_id: "1".into(), content: content.clone(), direction, agent_id: agent_id.clone() };
        match request::add_message(&input) {
            Ok(request) => {
                let body: serde_json::Value = serde_json::from_slice(request.body.as_deref().unwrap_or_default()).unwrap();
                let expected = match direction {
                    Direction::Inbound => serde_json::json!({"_type": "Inbound", "content": {"_type": "Text", "value": content}}),
                    Direction::Outbound => serde_json::json!({"_type": "Outbound", "content": {"_type": "Text", "value": content}, "agentId": agent_id.unwrap()}),
                };
                prop_assert_eq!(body, expected);
            }
            Err(error) => prop_assert!(matches!(error, Error::InvalidInput { .. }), "{:?}", error),
        }
    }

    #[test]
    fn valid_instants_are_accepted(
        year in 1000u32..9999, month in 1u32..=12, day in 1u32..=28, hour in 0u32..24, minute in 0u32..60, second in 0u32..60,
        fraction in proptest::option::of("[0-9]{1,9}"), offset in prop_oneof![Just("Z".to_owned()), "[+-](0[0-9]|1[0-3]):[0-5][0-9]"],
    ) {
        let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
        let value = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}");
        prop_assert_eq!(timestamp::check(&value), Ok(()), "{}", value);
    }

    #[test]
    fn parsers_never_panic(text in any::<String>(), status in any::<u16>(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = timestamp::check(&text);
        let _ = dixa_contract::error::parse_retry_after(&text, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let _ = dixa_guest::response::note(&body);
        let _ = dixa_guest::response::message(&body);
        let mapped = from_status(status, None, &body, Credentials::Sent, true);
        prop_assert_eq!(mapped.is_none(), (200..300).contains(&status));
    }
}
