//! Path segments and path templates: the one percent codec of the connector.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` as one path segment: every byte that is not an
/// unreserved character becomes `%XX`.
pub fn encode_segment(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, NOT_UNRESERVED).into()
}

/// Decodes one percent-encoded segment; `None` for a `%` not followed by two
/// hex digits or for bytes that are not UTF-8.
pub fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// Whether `segment` is exactly what [`encode_segment`] makes of some value
/// other than `.` and `..`: unreserved characters and `%XX` escapes only, so a
/// server cannot read it as another path.
pub fn is_encoded_segment(segment: &str) -> bool {
    decode_segment(segment).is_some_and(|value| {
        value != "." && value != ".." && !value.is_empty() && encode_segment(&value) == segment
    })
}

/// `template` with each `{name}` placeholder replaced, in order, by the
/// encoded `values`; placeholders without a value are left empty.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut values = values.iter();
    let mut path = String::with_capacity(template.len() + 32);
    for (i, segment) in template.split('/').enumerate() {
        if i > 0 {
            path.push('/');
        }
        if is_placeholder(segment) {
            path.push_str(&encode_segment(values.next().copied().unwrap_or_default()));
        } else {
            path.push_str(segment);
        }
    }
    path
}

/// The raw segments of `path` that stand at `template`'s placeholders, when
/// `path` has the template's shape (same number of segments, same literals).
pub fn captures<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut captured = Vec::new();
    let mut literal = template.split('/');
    let mut actual = path.split('/');
    loop {
        match (literal.next(), actual.next()) {
            (None, None) => return Some(captured),
            (Some(expected), Some(segment)) if is_placeholder(expected) => {
                captured.push(segment);
            }
            (Some(expected), Some(segment)) if expected == segment => {}
            _ => return None,
        }
    }
}

/// The names of `template`'s placeholders, in order: `conversationId`, ...
pub fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

fn is_placeholder(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_and_only_unreserved_characters_stay() {
        assert_eq!(encode_segment("conv:1/ä b"), "conv%3A1%2F%C3%A4%20b");
        assert_eq!(encode_segment("a-._~Z9"), "a-._~Z9");
        assert_eq!(
            decode_segment("conv%3A1%2F%C3%A4%20b").as_deref(),
            Some("conv:1/ä b")
        );
        assert_eq!(decode_segment("%zz"), None);
        assert_eq!(decode_segment("%2"), None);
        assert_eq!(decode_segment("%C3%28"), None);
    }

    #[test]
    fn only_canonical_segments_are_encoded_segments() {
        // An encoded '/' is one segment to a server, so it is allowed.
        for good in ["9456", "a53b25da-f676", "conv%3A1", "a%2Fb"] {
            assert!(is_encoded_segment(good), "{good}");
        }
        for bad in [
            "", ".", "..", "%2e%2e", "%2E", "a%2fb", "conv:1", "a b", "%zz", "%41",
        ] {
            assert!(!is_encoded_segment(bad), "{bad}");
        }
    }

    #[test]
    fn templates_fill_and_capture() {
        let template = "/v1/conversations/{conversationId}/tags/{tagId}";
        assert_eq!(
            fill(template, &["conv:1", "t"]),
            "/v1/conversations/conv%3A1/tags/t"
        );
        assert_eq!(
            captures(template, "/v1/conversations/9/tags/x"),
            Some(vec!["9", "x"])
        );
        assert_eq!(
            placeholders(template).collect::<Vec<_>>(),
            ["conversationId", "tagId"]
        );
        assert_eq!(captures(template, "/v1/conversations/9/tags"), None);
        assert_eq!(captures(template, "/v1/conversations/9/tags/x/y"), None);
        assert_eq!(captures(template, "/v1/conversations/9/notes/x"), None);
    }
}
