//! Hostile and broken clients on a real socket: each gets its error code, is disconnected where it
//! should be, and the relay keeps serving everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::time::Duration;

use edgenet_core::SecretKey;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_e2e::{Relay, Worker, Ws, connect, hello, submit, wait_until};
use edgenet_proto::message::{ClientMsg, RelayMsg, TaskSpec};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Sends `frame` and returns the error code the relay answers with, and whether it then closed.
async fn answer(ws: &mut Ws, frame: Vec<u8>) -> (String, bool) {
    ws.send(Message::Binary(frame.into())).await.unwrap();
    let mut code = String::new();
    let mut closed = false;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        match msg {
            Ok(Message::Binary(b)) => {
                if let Ok(RelayMsg::Error { code: c, .. }) = RelayMsg::decode(&b) {
                    code = c;
                }
            }
            Ok(Message::Close(_)) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => {}
        }
        if !code.is_empty() && !closed {
            // Keep reading briefly to see whether a close follows.
            if let Ok(next) = tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
                closed = matches!(next, Some(Ok(Message::Close(_))) | Some(Err(_)) | None);
            }
            break;
        }
    }
    (code, closed)
}

#[test]
fn every_bad_input_gets_its_code_and_the_relay_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--max-connections-per-ip", "12"],
    );
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(Duration::from_secs(20), "3 peers", || {
        relay.peer_count() == 3
    });
    let url = relay.ws_url();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (mut ws, ..) = connect(&url).await;
        assert_eq!(
            answer(
                &mut ws,
                [&[edgenet_proto::PROTOCOL_VERSION][..], b"\xff\xfe garbage"].concat()
            )
            .await,
            ("EN-203".into(), true),
            "garbage"
        );

        let (mut ws, ..) = connect(&url).await;
        let oversized = vec![1u8; edgenet_proto::MAX_FRAME_LEN + 1000];
        assert_eq!(
            answer(&mut ws, oversized).await,
            ("EN-201".into(), true),
            "oversized frame"
        );

        let (mut ws, ..) = connect(&url).await;
        assert_eq!(
            answer(&mut ws, vec![9, 0, 1, 2]).await,
            ("EN-202".into(), true),
            "unknown protocol version"
        );

        let (mut ws, ..) = connect(&url).await;
        let submit = ClientMsg::Submit(TaskSpec {
            id: TaskId([1; 16]),
            kind: TaskKind::VECTOR_SEARCH,
            redundancy: 3,
            max_credits: 1,
            priority: 0,
            timeout_ms: 1000,
        });
        assert_eq!(
            answer(&mut ws, submit.encode().unwrap()).await,
            ("EN-205".into(), true),
            "task before the handshake"
        );

        let key = SecretKey::from_seed(&[77; 32]);
        let (mut ws, nonce, relay_key) = connect(&url).await;
        let ClientMsg::Hello { body, .. } = hello(&key, &nonce, &relay_key) else {
            unreachable!()
        };
        let forged = ClientMsg::Hello {
            body,
            signature: vec![7; 64],
        };
        assert_eq!(
            answer(&mut ws, forged.encode().unwrap()).await,
            ("EN-206".into(), true),
            "bad signature"
        );

        // A valid hello for one connection's challenge, replayed on another connection.
        let (_first, nonce1, relay_key) = connect(&url).await;
        let captured = hello(&key, &nonce1, &relay_key).encode().unwrap();
        let (mut second, ..) = connect(&url).await;
        assert_eq!(
            answer(&mut second, captured).await,
            ("EN-206".into(), true),
            "replayed challenge"
        );

        // Too many connections from one address.
        let mut held = Vec::new();
        let mut refused = None;
        for _ in 0..12 {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
            if let Some(Ok(Message::Binary(b))) = ws.next().await
                && let Ok(RelayMsg::Error { code, .. }) = RelayMsg::decode(&b)
            {
                refused = Some(code);
                break;
            }
            held.push(ws);
        }
        assert_eq!(refused.as_deref(), Some("EN-215"), "connections per IP");
    });
    drop(rt);

    // After all that, the relay still serves the honest nodes.
    let report = submit(dir.path(), &relay.ws_url(), &["--seed", "3"]);
    assert!(report.matches_local == Some(true));
    assert_eq!(report.agreeing.len(), 3);
    assert!(
        relay.get("/api/status")["stats"]["errors"]
            .as_u64()
            .unwrap()
            >= 6
    );
    drop(workers);
}
