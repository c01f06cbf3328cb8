//! The components on OCI: `hosts/oci/publish.sh` pushes both builds with wkg to
//! a real registry (Debian's `docker-registry`, the reference distribution
//! server) on loopback; they are pulled back by digest, are byte for byte what
//! was pushed, and run with `dixa --component`.

use std::process::{Command, Stdio};
use std::time::Duration;

use dixa_simulator::{DEFAULT_API_KEY, Simulator};

use crate::common;
use common::{Server, tool, workspace};

/// A `docker-registry` on 127.0.0.1, storing in `dir`, stopped when dropped.
async fn registry(program: &str, dir: &std::path::Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let server = Server::spawn(
        Command::new(program)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..100 {
        if let Ok(reply) = dixa_simulator::client::send(addr, "GET", "/v2/", "").await
            && reply.status == 200
        {
            return (server, format!("127.0.0.1:{port}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the registry did not start on {addr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn both_builds_round_trip_through_an_oci_registry_and_run() {
    let (Some(wkg), Some(registry_program)) = (
        tool("WKG", "wkg"),
        tool("DOCKER_REGISTRY", "docker-registry"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_registry, host) = registry(&registry_program, dir.path()).await;

    let published = Command::new(workspace().join("hosts/oci/publish.sh"))
        .args([&format!("{host}/dixa"), "0.2.0-test"])
        .env("DIXA", env!("CARGO_BIN_EXE_dixa"))
        .env("WKG", &wkg)
        .env("WKG_OCI_INSECURE", &host)
        .output()
        .unwrap();
    assert!(published.status.success(), "{published:?}");
    let published = String::from_utf8(published.stdout).unwrap();
    let references: Vec<(&str, &str)> = published
        .lines()
        .map(|line| line.split_once(' ').unwrap())
        .collect();
    assert_eq!(
        references.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        [
            format!("{host}/dixa/dixa-connector:0.2.0-test"),
            format!("{host}/dixa/dixa-connector-service:0.2.0-test"),
        ]
    );

    let simulator = Simulator::start().await.unwrap();
    let shipped = [
        dixa_host::EMBEDDED_COMPONENT,
        dixa_host::EMBEDDED_SERVICE_COMPONENT,
    ];
    for ((reference, digest), shipped) in references.into_iter().zip(shipped) {
        assert!(digest.starts_with("sha256:"), "{digest}");
        let (repository, _tag) = reference.rsplit_once(':').unwrap();
        let by_digest = format!("{repository}@{digest}");
        let pulled = dir.path().join("pulled.wasm");
        let pull = Command::new(&wkg)
            .args(["oci", "pull", &by_digest, "-o"])
            .arg(&pulled)
            .env("WKG_OCI_INSECURE", &host)
            .output()
            .unwrap();
        assert!(pull.status.success(), "{by_digest}: {pull:?}");
        assert!(
            std::fs::read(&pulled).unwrap() == shipped,
            "{by_digest}: other bytes"
        );

        let tagged = Command::new(env!("CARGO_BIN_EXE_dixa"))
            .args(["--base-url", &simulator.base_url(), "--component"])
            .arg(&pulled)
            .args([
                "tag-conversation",
                r#"{"conversationId":"9456","tagId":"eb31acbb-13f9-4ce7-abd3-44dd86266741"}"#,
            ])
            .env("DIXA_API_KEY", DEFAULT_API_KEY)
            .env("DIXA_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        assert_eq!(tagged.status.code(), Some(0), "{by_digest}: {tagged:?}");
        assert_eq!(
            String::from_utf8_lossy(&tagged.stdout),
            "{\"success\":true}\n"
        );
    }
    assert_eq!(simulator.requests().len(), 2);
}
