//! Keeps a secret out of text: every form in which it can appear in what an
//! upstream echoes, as given, JSON-escaped or percent-encoded, is replaced.

use std::borrow::Cow;

/// What a redacted secret reads as.
pub const REDACTED: &str = "<redacted>";

/// `text` with each occurrence of `secret`, of its JSON-escaped form and of its
/// percent-encoded form replaced by [`REDACTED`]. An empty secret changes nothing.
pub fn redact<'t>(text: &'t str, secret: &str) -> Cow<'t, str> {
    if secret.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut text = Cow::Borrowed(text);
    for form in forms(secret) {
        if text.contains(form.as_ref()) {
            text = Cow::Owned(text.replace(form.as_ref(), REDACTED));
        }
    }
    text
}

/// [`redact`] for bytes that need not be UTF-8 (a reply body, a header value).
pub fn redact_bytes<'b>(bytes: &'b [u8], secret: &str) -> Cow<'b, [u8]> {
    if secret.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut bytes = Cow::Borrowed(bytes);
    for form in forms(secret) {
        if let Some(clean) = replace_bytes(&bytes, form.as_bytes()) {
            bytes = Cow::Owned(clean);
        }
    }
    bytes
}

/// The forms in which `secret` can appear in an echo: as given, JSON-escaped
/// and percent-encoded.
fn forms(secret: &str) -> [Cow<'_, str>; 3] {
    [
        Cow::Borrowed(secret),
        json_escaped(secret),
        crate::path::encode_segment(secret),
    ]
}

/// `bytes` with every occurrence of the non-empty `needle` replaced by
/// [`REDACTED`]; `None` when there is none.
fn replace_bytes(bytes: &[u8], needle: &[u8]) -> Option<Vec<u8>> {
    let found = |from: usize| {
        bytes
            .get(from..)?
            .windows(needle.len())
            .position(|window| window == needle)
            .map(|at| at + from)
    };
    let mut at = found(0)?;
    let mut clean = Vec::with_capacity(bytes.len());
    let mut from = 0;
    loop {
        clean.extend_from_slice(bytes.get(from..at).unwrap_or_default());
        clean.extend_from_slice(REDACTED.as_bytes());
        from = at + needle.len();
        match found(from) {
            Some(next) => at = next,
            None => break,
        }
    }
    clean.extend_from_slice(bytes.get(from..).unwrap_or_default());
    Some(clean)
}

/// [`redact`] for an owned string, reusing it when there is nothing to replace.
pub fn redact_owned(text: String, secret: &str) -> String {
    match redact(&text, secret) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    }
}

/// The secret as it reads inside a JSON string.
fn json_escaped(secret: &str) -> Cow<'_, str> {
    if !secret.contains(['"', '\\']) {
        return Cow::Borrowed(secret);
    }
    let mut escaped = String::with_capacity(secret.len() + 8);
    for c in secret.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_secret_is_replaced() {
        let secret = r#"ab"c\d/e+f"#;
        let text = format!(
            "raw {secret} json {} pct {}",
            r#"ab\"c\\d/e+f"#,
            crate::path::encode_segment(secret)
        );
        assert_eq!(
            redact(&text, secret),
            "raw <redacted> json <redacted> pct <redacted>"
        );
        assert_eq!(redact("nothing here", secret), "nothing here");
        assert_eq!(redact("abc", ""), "abc");
    }

    #[test]
    fn every_form_of_the_secret_is_replaced_in_bytes_that_are_not_utf8() {
        let secret = r#"ab"c"#;
        let bytes = b"\xffab\"c-ab\\\"c-ab%22c\xfe ab\"cab\"c";
        assert_eq!(
            redact_bytes(bytes, secret).as_ref(),
            b"\xff<redacted>-<redacted>-<redacted>\xfe <redacted><redacted>"
        );
        assert!(matches!(
            redact_bytes(b"\xffnothing", secret),
            Cow::Borrowed(_)
        ));
        assert!(matches!(redact_bytes(b"abc", ""), Cow::Borrowed(_)));
    }
}
