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
    for form in [
        Cow::Borrowed(secret),
        json_escaped(secret),
        crate::path::encode_segment(secret),
    ] {
        if text.contains(form.as_ref()) {
            text = Cow::Owned(text.replace(form.as_ref(), REDACTED));
        }
    }
    text
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
}
