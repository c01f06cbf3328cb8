//! The baseline: the same requests from plain native Rust. It builds and
//! parses JSON with the guest's own modules (compiled natively) and sends with
//! a pooled hyper client, so the only difference left is the sandbox.

use bytes::Bytes;
use dixa_guest::request::{self, DixaRequest};
use dixa_guest::response;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::{Inputs, Operation};

/// Runs `operation` natively on its input from `inputs`: the guest's own
/// request builder, a send, the guest's own parser. From the table.
macro_rules! native_operations {
    ($($snake:ident $row:ident $input:ident => $output:ident;)*) => {
        pastey::paste! {
            impl NativeClient {
                /// Runs `operation` on its input from `inputs`: request, send, parse.
                pub async fn call(&self, operation: Operation, inputs: &Inputs) -> Result<(), String> {
                    match operation {
                        $(Operation::[<$snake:camel>] => {
                            let input = &inputs.$snake;
                            let request = request::$snake(input).map_err(|e| e.to_string())?;
                            let body = self.send(request).await?;
                            response::$snake(input, &body).map(drop)
                        })*
                    }
                }
            }
        }
    };
}
dixa_contract::for_each_operation!(native_operations);

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

    async fn send(&self, request: DixaRequest) -> Result<Bytes, String> {
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
        let body = Full::new(Bytes::from(request.body.unwrap_or_default()));
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
