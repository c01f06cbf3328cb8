//! The baseline: the same three requests from plain native Rust. It builds and
//! parses JSON with the guest's own modules (compiled natively) and sends with a
//! pooled hyper client, so the only difference left is the sandbox.

use bytes::Bytes;
use dixa_contract::types as model;
use dixa_guest::{request, response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A native Dixa client.
pub struct NativeClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base_url: String,
    api_key: String,
}

impl NativeClient {
    pub fn new(base_url: String, api_key: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        NativeClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base_url,
            api_key: api_key.to_owned(),
        }
    }

    pub async fn create_internal_note(
        &self,
        input: &model::NoteInput,
    ) -> Result<model::Note, String> {
        let request = request::create_internal_note(input).map_err(|e| e.to_string())?;
        let body = self.send(&request).await?;
        response::note(&body).map_err(|e| e.to_string())
    }

    pub async fn add_message(&self, input: &model::MessageInput) -> Result<model::Message, String> {
        let request = request::add_message(input).map_err(|e| e.to_string())?;
        let body = self.send(&request).await?;
        response::message(&body).map_err(|e| e.to_string())
    }

    pub async fn tag_conversation(&self, input: &model::TagInput) -> Result<(), String> {
        let request = request::tag_conversation(input).map_err(|e| e.to_string())?;
        self.send(&request).await.map(drop)
    }

    async fn send(&self, request: &request::DixaRequest) -> Result<Bytes, String> {
        let method = hyper::Method::from_bytes(request.method.as_str().as_bytes())
            .map_err(|e| e.to_string())?;
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base_url, request.path))
            .header("accept", "application/json")
            .header("user-agent", dixa_guest::client::USER_AGENT)
            .header("authorization", &self.api_key);
        if request.body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let body = Full::new(Bytes::from(request.body.clone().unwrap_or_default()));
        let response = self
            .client
            .request(builder.body(body).map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("status {status}"))
        }
    }
}
