//! What the tests of server processes (`dixa serve`, `wasmtime serve`) share.

use std::net::SocketAddr;
use std::process::Child;
use std::time::Duration;

use dixa_simulator::{DEFAULT_API_KEY, Simulator};

/// Tags the example conversation through the server process at `addr`
/// (retrying for up to 10 s while it starts), stops the process, and checks
/// the reply and the one request Dixa saw.
pub async fn tag_through_server(mut server: Child, addr: SocketAddr, simulator: &Simulator) {
    let path = "/conversations/9456/tags/eb31acbb-13f9-4ce7-abd3-44dd86266741";
    let mut reply = dixa_simulator::client::send(addr, "PUT", path, "").await;
    for _ in 0..100 {
        if reply.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        reply = dixa_simulator::client::send(addr, "PUT", path, "").await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let reply = reply.unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"success":true}"#)
    );
    let requests = simulator.requests();
    let [request] = requests.as_slice() else {
        panic!("expected one request: {requests:#?}");
    };
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.header("authorization")
        ),
        ("PUT", &*format!("/v1{path}"), Some(DEFAULT_API_KEY))
    );
}
