//! The bearer token that callers of an HTTP front present, checked the same
//! way by the host (`dixa serve`) and by the service build of the component.

use subtle::ConstantTimeEq;

/// Whether the `Authorization` header value `presented` is `Bearer <token>`
/// with exactly `token`, compared in constant time. An empty token matches nothing.
pub fn bearer_matches(presented: Option<&[u8]>, token: &str) -> bool {
    let Some(given) = presented.and_then(|value| strip_bearer(value)) else {
        return false;
    };
    !token.is_empty() && bool::from(given.ct_eq(token.as_bytes()))
}

/// The credentials after a case-insensitive `Bearer ` scheme.
fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

/// What [`is_valid_token`] asks of a token, for messages.
pub const TOKEN_RULE: &str = "16 to 4096 printable ASCII characters without spaces";

/// Whether `token` is usable as a bearer token: see [`TOKEN_RULE`].
pub fn is_valid_token(token: &str) -> bool {
    (16..=4096).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let token = "0123456789abcdef";
        assert!(bearer_matches(Some(b"Bearer 0123456789abcdef"), token));
        assert!(bearer_matches(Some(b"bearer  0123456789abcdef "), token));
        for wrong in [
            &b"Bearer 0123456789abcdeF"[..],
            b"Bearer 0123456789abcde",
            b"Bearer 0123456789abcdef0",
            b"Basic 0123456789abcdef",
            b"0123456789abcdef",
            b"Bearer",
            b"",
        ] {
            assert!(!bearer_matches(Some(wrong), token), "{wrong:?}");
        }
        assert!(!bearer_matches(None, token));
        assert!(!bearer_matches(Some(b"Bearer "), ""));
    }

    #[test]
    fn tokens_must_be_long_printable_ascii() {
        assert!(is_valid_token("0123456789abcdef"));
        assert!(!is_valid_token("short"));
        assert!(!is_valid_token("0123456789 abcdef"));
        assert!(!is_valid_token(&"x".repeat(4097)));
    }
}
