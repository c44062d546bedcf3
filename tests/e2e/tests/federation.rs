//! Federation across operators, against a real nats-server: off by default (no connection at
//! all), broadcast (anonymized aggregates only, no identities), receive-only (nothing sent), and
//! the status endpoint telling the truth in each mode; a NATS that goes away and comes back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::time::Duration;

use edgenet_e2e::{NatsServer, Relay, Worker, wait_until};
use futures_util::StreamExt;

const WAIT: Duration = Duration::from_secs(30);

/// The client connections nats-server holds, by name.
fn connection_names(nats: &NatsServer) -> Vec<String> {
    nats.monitor("/connz")["connections"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| c["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn federation_shares_only_aggregates_and_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(&dir.path().join("nats"));
    let url = nats.url();

    // Off unless asked: the URL alone makes no connection.
    let off = Relay::start(
        &dir.path().join("off"),
        0,
        &["--federation-url", &url, "--federation-interval-s", "1"],
    );
    let sender = Relay::start(
        &dir.path().join("sender"),
        0,
        &[
            "--federation",
            "--federation-url",
            &url,
            "--federation-interval-s",
            "1",
        ],
    );
    let listener = Relay::start(
        &dir.path().join("listener"),
        0,
        &[
            "--federation",
            "--federation-url",
            &url,
            "--federation-receive",
            "--federation-interval-s",
            "1",
        ],
    );
    let worker = Worker::start(dir.path(), "w", &sender.ws_url(), &[]);
    wait_until(WAIT, "the sender's worker", || sender.peer_count() == 1);

    let status = off.get("/api/federation/status");
    assert_eq!(status["enabled"], false);
    assert_eq!(status["mode"], "off");
    assert_eq!(status["connected"], false);
    wait_until(WAIT, "two federation connections", || {
        connection_names(&nats) == ["edgenet-federation", "edgenet-federation"]
    });

    // Everything on the server for a few intervals, read by a client of the test's own.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seen: Vec<(String, Vec<u8>)> = runtime.block_on(async {
        let client = async_nats::connect(url.as_str()).await.unwrap();
        let mut all = client.subscribe(">").await.unwrap();
        let mut seen = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(4);
        while let Ok(Some(m)) = tokio::time::timeout_at(until, all.next()).await {
            seen.push((m.subject.to_string(), m.payload.to_vec()));
        }
        seen
    });
    let sender_status = sender.get("/api/federation/status");
    let sender_id = sender_status["federation_id"].as_str().unwrap().to_owned();
    assert!(seen.len() >= 2, "{} messages", seen.len());
    let secrets = [
        sender.get("/api/status")["node_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        worker.id.clone(),
        sender.addr.clone(),
        "127.0.0.1".to_owned(),
    ];
    for (subject, payload) in &seen {
        assert_eq!(subject, "edgenet.federation.stats");
        let stats: serde_json::Value = serde_json::from_slice(payload).unwrap();
        // Only the sender speaks: the listener and the relay with federation off send nothing.
        assert_eq!(stats["federation_id"], sender_id.as_str());
        assert_eq!(stats["peers"]["native"], 1);
        let text = String::from_utf8_lossy(payload);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
    }

    // Each status tells the truth about its own mode.
    assert_eq!(sender_status["mode"], "broadcast");
    assert_eq!(sender_status["connected"], true);
    assert_eq!(sender_status["peers"], 0, "the listener sends nothing");
    assert!(sender_status["sent"].as_u64().unwrap() >= 2);
    let heard = listener.get("/api/federation/status");
    assert_eq!(heard["mode"], "receive-only");
    assert_eq!(heard["federation_id"], serde_json::Value::Null);
    assert_eq!(heard["sent"], 0);
    assert_eq!(heard["peers"], 1);
    assert_eq!(heard["global"]["relays"], 2);
    assert_eq!(heard["global"]["peers"]["native"], 1);
    assert!(
        heard["not_shared"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("IP addresses"))
    );

    // NATS goes away: the relays keep serving and say so; it comes back: they reconnect.
    nats.stop();
    wait_until(WAIT, "the sender to notice", || {
        sender.get("/api/federation/status")["connected"] == false
    });
    assert_eq!(sender.get("/api/status")["service"], "edgenet-relay");
    nats.restart();
    let received = heard["received"].as_u64().unwrap();
    wait_until(WAIT, "stats flowing again", || {
        let now = listener.get("/api/federation/status");
        now["connected"] == true && now["received"].as_u64().unwrap() > received + 1
    });
}
