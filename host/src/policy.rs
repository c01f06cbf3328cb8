//! The security policy applied to every request the component makes: which
//! origins it may reach, where the API key is added, and how long the host waits.
//!
//! The component never sees the key (unless the embedder opts in): the host adds
//! `Authorization` to requests bound for the Dixa origin, replacing whatever the
//! guest set, and refuses requests to any origin not on the allow-list.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::http_client::HttpClient;

/// A Dixa API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key, trimming surrounding whitespace (as from a key file).
    /// `None` for a blank key.
    pub fn new(key: &str) -> Option<Self> {
        let key = key.trim();
        (!key.is_empty()).then(|| ApiKey(key.into()))
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Scheme, host and port: the unit the allow-list works on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal, lowercase.
    pub host: String,
    /// Port, defaulted from the scheme.
    pub port: u16,
}

impl Origin {
    /// Parses the origin of `url` (`scheme://host[:port][/...]`); rejects user info.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        Origin::of(&uri).ok_or_else(|| {
            format!("{url:?} must be an http:// or https:// URL with a host and no user info")
        })
    }

    /// The origin a request URI points at, if it has one the policy can judge.
    pub fn of(uri: &http::Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@') || authority.host().is_empty() {
            return None;
        }
        Some(Origin {
            scheme,
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default_port),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// How long the host waits on Dixa. The guest may ask for less, never more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To establish a connection.
    pub connect: Duration,
    /// From sending the request to the first byte of the response.
    pub first_byte: Duration,
    /// Between two chunks of the response body.
    pub between_bytes: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(30),
            between_bytes: Duration::from_secs(30),
        }
    }
}

/// What the host allows the component to do on the network.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// The Dixa origin; the only one that receives the API key.
    pub dixa: Origin,
    /// Further origins the component may reach, without the key.
    pub extra_allowed: Vec<Origin>,
    /// Key added as `Authorization` on requests to `dixa`.
    pub api_key: Option<ApiKey>,
    /// Limits on each request.
    pub timeouts: Timeouts,
}

/// What the policy decided for one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it, adding the key when one is given.
    Send { api_key: Option<ApiKey> },
    /// Refuse it.
    Deny,
}

impl OutboundPolicy {
    /// Judges a request to `uri`.
    pub fn judge(&self, uri: &http::Uri) -> Verdict {
        match Origin::of(uri) {
            Some(origin) if origin == self.dixa => Verdict::Send {
                api_key: self.api_key.clone(),
            },
            Some(origin) if self.extra_allowed.contains(&origin) => Verdict::Send { api_key: None },
            _ => Verdict::Deny,
        }
    }

    /// The guest's request options capped by the host's timeouts.
    pub fn request_options(&self, asked: Option<RequestOptions>) -> RequestOptions {
        let asked = asked.unwrap_or_default();
        let cap =
            |asked: Option<Duration>, limit: Duration| Some(asked.map_or(limit, |d| d.min(limit)));
        RequestOptions {
            connect_timeout: cap(asked.connect_timeout, self.timeouts.connect),
            first_byte_timeout: cap(asked.first_byte_timeout, self.timeouts.first_byte),
            between_bytes_timeout: cap(asked.between_bytes_timeout, self.timeouts.between_bytes),
        }
    }
}

/// Largest request body the host sends (and drains from a denied request).
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// `WasiHttpHooks` enforcing an [`OutboundPolicy`]; one per call, all sharing
/// the connector's connection pool.
pub struct PolicyHooks {
    policy: Arc<OutboundPolicy>,
    client: HttpClient,
}

impl PolicyHooks {
    /// Hooks for one call under `policy`, sending through `client`.
    pub fn new(policy: Arc<OutboundPolicy>, client: HttpClient) -> Self {
        PolicyHooks { policy, client }
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        let method = request.method().clone();
        let uri = request.uri().clone();
        let api_key = match self.policy.judge(&uri) {
            Verdict::Send { api_key } => api_key,
            Verdict::Deny => {
                tracing::warn!(%method, origin = %describe_origin(&uri), "denied: origin not allowed");
                return Box::new(async move {
                    // Take the body so the guest's write completes and it reads the
                    // denial from the response, not from a closed stream.
                    let _ = http_body_util::Limited::new(request.into_body(), MAX_REQUEST_BODY)
                        .collect()
                        .await;
                    Err(wasmtime_wasi_http::Error::HttpRequestDenied)
                });
            }
        };
        if let Some(key) = api_key {
            match http::HeaderValue::from_str(key.expose()) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request
                        .headers_mut()
                        .insert(http::header::AUTHORIZATION, value);
                }
                Err(_) => {
                    return Box::new(async { Err(wasmtime_wasi_http::Error::ConfigurationError) });
                }
            }
        }
        let options = self.policy.request_options(options);
        let client = self.client.clone();
        tracing::debug!(%method, path = uri.path(), "sending");
        Box::new(async move {
            let response = client
                .send(with_buffered_body(request).await?, options)
                .await?;
            tracing::debug!(%method, path = uri.path(), status = response.status().as_u16(), "answered");
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// The request with its body read into memory (at most [`MAX_REQUEST_BODY`]), so
/// it goes out with an exact `Content-Length` rather than chunked.
async fn with_buffered_body(
    request: http::Request<WasiBody>,
) -> Result<http::Request<Full<Bytes>>, wasmtime_wasi_http::Error> {
    let (mut parts, body) = request.into_parts();
    let body = http_body_util::Limited::new(body, MAX_REQUEST_BODY)
        .collect()
        .await
        .map_err(|_| wasmtime_wasi_http::Error::HttpRequestBodySize(None))?
        .to_bytes();
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(body.len()),
    );
    Ok(http::Request::from_parts(parts, Full::new(body)))
}

fn describe_origin(uri: &http::Uri) -> String {
    Origin::of(uri).map_or_else(|| "<invalid>".to_owned(), |o| o.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OutboundPolicy {
        OutboundPolicy {
            dixa: Origin::parse("https://dev.dixa.io").unwrap(),
            extra_allowed: vec![Origin::parse("http://127.0.0.1:8080").unwrap()],
            api_key: ApiKey::new("secret"),
            timeouts: Timeouts::default(),
        }
    }

    fn judge(url: &str) -> Verdict {
        policy().judge(&url.parse().unwrap())
    }

    #[test]
    fn only_the_dixa_origin_gets_the_key() {
        let with_key = Verdict::Send {
            api_key: ApiKey::new("secret"),
        };
        assert_eq!(
            judge("https://dev.dixa.io/v1/conversations/1/notes"),
            with_key
        );
        assert_eq!(judge("https://DEV.dixa.io:443/v1"), with_key);
        assert_eq!(
            judge("http://127.0.0.1:8080/anything"),
            Verdict::Send { api_key: None }
        );
    }

    #[test]
    fn everything_else_is_denied() {
        for url in [
            "http://dev.dixa.io/v1",
            "https://dev.dixa.io:8443/v1",
            "https://evil.example/v1",
            "https://dev.dixa.io.evil.example/v1",
            "https://user@dev.dixa.io/v1",
            "https://93.184.216.34/v1",
            "http://127.0.0.1:8081/",
            "http://localhost:8080/",
        ] {
            assert_eq!(judge(url), Verdict::Deny, "{url}");
        }
    }

    #[test]
    fn guest_timeouts_are_capped_by_the_host() {
        let options = policy().request_options(Some(RequestOptions {
            connect_timeout: Some(Duration::from_secs(600)),
            first_byte_timeout: Some(Duration::from_secs(1)),
            between_bytes_timeout: None,
        }));
        assert_eq!(
            options,
            RequestOptions {
                connect_timeout: Some(Duration::from_secs(5)),
                first_byte_timeout: Some(Duration::from_secs(1)),
                between_bytes_timeout: Some(Duration::from_secs(30)),
            }
        );
    }

    #[test]
    fn keys_never_print() {
        let key = ApiKey::new("  secret\n").unwrap();
        assert_eq!(key.expose(), "secret");
        assert_eq!(format!("{key:?} {key}"), "ApiKey(<redacted>) <redacted>");
        assert!(!format!("{:?}", policy()).contains("secret"));
        assert_eq!(ApiKey::new(" \n"), None);
    }

    #[test]
    fn origins_reject_user_info_and_other_schemes() {
        assert!(Origin::parse("https://user:pw@dev.dixa.io").is_err());
        assert!(Origin::parse("ftp://dev.dixa.io").is_err());
        assert!(Origin::parse("dev.dixa.io").is_err());
        assert_eq!(
            Origin::parse("https://dev.dixa.io/v1").unwrap().to_string(),
            "https://dev.dixa.io:443"
        );
    }
}
