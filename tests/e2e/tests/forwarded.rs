//! Other sites and reverse proxies, against the real relay binary: the package and the API answer
//! cross-origin reads, and per-IP limits follow `X-Forwarded-For` only from a trusted proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_e2e::{Relay, Ws};
use edgenet_proto::message::RelayMsg;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Opens `/ws` as a proxy forwarding for `client` would: the challenge (kept open), or the code
/// the relay refused with.
async fn open_for(relay: &Relay, client: &str) -> Result<Ws, String> {
    let mut request = relay.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", client.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    match ws.next().await {
        Some(Ok(Message::Binary(b))) => match RelayMsg::decode(&b).unwrap() {
            RelayMsg::Challenge { .. } => Ok(ws),
            RelayMsg::Error { code, .. } => Err(code),
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("no first frame: {other:?}"),
    }
}

#[test]
fn per_ip_limits_follow_forwarded_for_from_a_trusted_proxy_only() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Behind a trusted proxy (this test, on 127.0.0.1): each forwarded client has its own limit.
    let behind = Relay::start(
        &dir.path().join("behind"),
        0,
        &[
            "--trusted-proxy",
            "127.0.0.1/32",
            "--max-connections-per-ip",
            "2",
        ],
    );
    rt.block_on(async {
        let a1 = open_for(&behind, "203.0.113.1").await.unwrap();
        let a2 = open_for(&behind, "203.0.113.1").await.unwrap();
        assert_eq!(
            open_for(&behind, "203.0.113.1").await.err().as_deref(),
            Some("EN-215")
        );
        let b = open_for(&behind, "203.0.113.2").await;
        assert!(
            b.is_ok(),
            "another client behind the same proxy is not limited"
        );
        // A client that writes its own header: the proxy's appended address counts.
        let spoof = open_for(&behind, "198.51.100.7, 203.0.113.1").await;
        assert_eq!(spoof.err().as_deref(), Some("EN-215"));
        drop((a1, a2, b));
    });
    // Without --trusted-proxy the header is whatever a client wrote: ignored.
    let open = Relay::start(
        &dir.path().join("open"),
        0,
        &["--max-connections-per-ip", "2"],
    );
    rt.block_on(async {
        let x = open_for(&open, "203.0.113.1").await.unwrap();
        let y = open_for(&open, "203.0.113.2").await.unwrap();
        assert_eq!(
            open_for(&open, "203.0.113.3").await.err().as_deref(),
            Some("EN-215"),
            "forged headers must not buy more connections"
        );
        drop((x, y));
    });
}

#[test]
fn the_package_and_the_api_answer_reads_from_other_origins() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(pkg.join("dist")).unwrap();
    std::fs::write(pkg.join("dist/edgenet.min.js"), "/* the shim */").unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--www", "/nonexistent", "--pkg", pkg.to_str().unwrap()],
    );
    let origin = [("Origin", "https://shop.example")];
    for path in ["/pkg/dist/edgenet.min.js", "/api/status"] {
        let head = relay.get_head_with(path, &origin);
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(
            head.contains("access-control-allow-origin: *"),
            "{path}: {head}"
        );
    }
}
