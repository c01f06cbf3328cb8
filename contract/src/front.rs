//! What every HTTP front checks of a request before anything runs, in the
//! host (`dixa serve`, `dixa mcp --http-port`) and in the service build of
//! the component: a body is JSON, and a browser's `Origin` names a host the
//! front serves (the host knows all its names; the component only the `Host`
//! it was sent). Together they keep a web page from posting to a front
//! through a browser or a cookie-authenticating proxy (cross-site request
//! forgery). Against DNS rebinding it is the host's check of `Host` that
//! counts.

/// Whether the `Content-Type` value `value` is `application/json` (any
/// parameters, such as a charset, allowed). A page can send `text/plain` or a
/// form without a preflight; it cannot send JSON cross-site.
pub fn is_json(value: &[u8]) -> bool {
    let media_type = value.split(|&b| b == b';').next().unwrap_or_default();
    media_type
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

/// The lowercase host of an `Origin` value (`https://app.example:8443` gives
/// `app.example`; an IPv6 host keeps its brackets); `None` for `null` or
/// anything that is not an http(s) origin.
pub fn origin_host(origin: &[u8]) -> Option<String> {
    let origin = std::str::from_utf8(origin).ok()?.trim();
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    let host = if authority.starts_with('[') {
        authority.get(..=authority.find(']')?)?
    } else {
        authority.split(':').next()?
    };
    let well_formed = !host.is_empty()
        && !authority.contains(['/', '?', '#', '@'])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    well_formed.then(|| host.to_ascii_lowercase())
}

/// Whether a request with the `Origin` header values `origins` may pass: one
/// without the header (not from a browser, or same-origin navigation) always
/// does; one with it only when its host is one `serves` accepts; one with
/// several never.
pub fn origin_allowed(origins: &[&[u8]], serves: impl Fn(&str) -> bool) -> bool {
    match origins {
        [] => true,
        [origin] => origin_host(origin).is_some_and(|host| serves(&host)),
        _ => false,
    }
}

/// The lowercase host of a `Host` header value, without its port.
pub fn host_name(host: &[u8]) -> Option<String> {
    let host = std::str::from_utf8(host).ok()?.trim();
    origin_host(format!("http://{host}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_bodies_pass() {
        for json in [
            &b"application/json"[..],
            b"Application/JSON; charset=utf-8",
            b" application/json ",
        ] {
            assert!(is_json(json), "{json:?}");
        }
        for other in [
            &b"text/plain"[..],
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=x",
            b"application/jsonp",
            b"",
        ] {
            assert!(!is_json(other), "{other:?}");
        }
    }

    #[test]
    fn an_origin_passes_only_when_it_names_a_served_host() {
        let serves =
            |host: &str| ["localhost", "127.0.0.1", "[::1]", "dixa.example"].contains(&host);
        assert!(origin_allowed(&[], serves));
        for good in [
            &b"http://localhost:8081"[..],
            b"https://DIXA.example",
            b"http://127.0.0.1",
            b"http://[::1]:9",
        ] {
            assert!(origin_allowed(&[good], serves), "{good:?}");
        }
        for bad in [
            &b"null"[..],
            b"https://evil.example",
            b"http://localhost.evil.example",
            b"http://evil.example@localhost",
            b"ftp://localhost",
            b"http://localhost/path",
            b"http://",
            b"\xff",
            b"",
        ] {
            assert!(!origin_allowed(&[bad], serves), "{bad:?}");
        }
        let same = &b"http://localhost"[..];
        assert!(!origin_allowed(&[same, same], serves), "several Origins");
    }

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name(b"LocalHost:8081").as_deref(), Some("localhost"));
        assert_eq!(host_name(b"[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(host_name(b"a/b"), None);
    }
}
