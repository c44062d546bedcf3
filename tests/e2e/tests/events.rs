//! `/events` with real processes: a dashboard's subscriber sees a real task's events in order
//! (submitted, assigned to each worker, verified) and the peers that joined; a subscriber that
//! stops reading is dropped (EN-305) while tasks keep completing and the reader that keeps up
//! misses nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgenet_e2e::{Relay, Worker, submit, wait_until};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

fn dropped(relay: &Relay) -> u64 {
    let (_, body) = relay.get_raw("/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix("edgenet_events_subscribers_dropped_total "))
        .map_or(0, |v| v.parse().unwrap())
}

#[test]
fn events_show_a_task_in_order_and_a_reader_that_stops_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let url = format!("ws://{}/events", relay.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();

    // The reader that keeps up, collecting every message.
    let seen: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let (honest, _) = rt.block_on(tokio_tungstenite::connect_async(&url)).unwrap();
    let collected = seen.clone();
    rt.spawn(async move {
        let (_, mut read) = honest.split();
        while let Some(Ok(Message::Text(t))) = read.next().await {
            collected
                .lock()
                .unwrap()
                .push(serde_json::from_str(&t).unwrap());
        }
    });
    // The one that never reads, with a receive window of a couple of kilobytes and small
    // segments: loopback's 64 KiB segments would let the relay's kernel buffer megabytes for it
    // (its send buffer is sized in segments); at 536 bytes the relay's writes stall within tens
    // of kilobytes, and then its 2 s send timeout or the 256-message ring gives up on it.
    let slow = rt.block_on(async {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(1024).unwrap();
        socket.set_tcp_mss(536).unwrap();
        let addr: std::net::SocketAddr = relay.addr.parse().unwrap();
        socket.connect(&addr.into()).unwrap();
        socket.set_nonblocking(true).unwrap();
        let stream = tokio::net::TcpStream::from_std(socket.into()).unwrap();
        tokio_tungstenite::client_async(&url, stream)
            .await
            .unwrap()
            .0
    });

    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(WAIT, "3 peers", || relay.peer_count() == 3);

    // Tasks until the relay gives up on the slow reader; each one still completes.
    let mut tasks = 0;
    while dropped(&relay) == 0 {
        assert!(tasks < 150, "the reader that never reads was not dropped");
        let report = submit(dir.path(), &relay.ws_url(), &["--seed", &tasks.to_string()]);
        assert!(report.verified, "{report:?}");
        tasks += 1;
    }
    eprintln!("the reader that never reads was dropped after {tasks} tasks");
    wait_until(WAIT, "every verdict at the reader that keeps up", || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "task_verified")
            .count()
            == tasks
    });
    drop(slow);

    let events = seen.lock().unwrap().clone();
    let of = |kind: &str| {
        events
            .iter()
            .filter(|e| e["type"] == kind)
            .collect::<Vec<_>>()
    };
    let joined: Vec<&str> = of("peer_joined")
        .iter()
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    for w in &workers {
        assert!(joined.contains(&w.id.as_str()), "{} joined", w.id);
    }
    assert!(of("peer_joined").iter().all(|e| e["role"] == "native"));
    // The first task, in order: submitted, assigned to three workers, verified.
    let first = of("task_submitted")[0]["task"].as_str().unwrap().to_owned();
    let story: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["task"] == first.as_str())
        .collect();
    let types: Vec<&str> = story.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "task_submitted",
            "task_assigned",
            "task_assigned",
            "task_assigned",
            "task_verified"
        ]
    );
    assert_eq!(story[0]["kind"], "vector_search");
    assert_eq!(story[0]["redundancy"], 3);
    assert_eq!(story[4]["agreeing"], 3);
    let at: Vec<u64> = story.iter().map(|e| e["at_ms"].as_u64().unwrap()).collect();
    assert!(
        at.windows(2).all(|w| w[0] <= w[1]),
        "stamped in order: {at:?}"
    );
    assert!(story[4]["latency_ms"].as_u64().unwrap() <= at[4] - at[0] + 1);
    // Once a second, the counters: the three workers, and the submitter when a tick falls
    // during a submission (they run back to back, so most do).
    assert!(
        of("stats").iter().any(|s| s["peers"]["native"]
            .as_u64()
            .is_some_and(|n| n == 3 || n == 4)),
        "a stats message counting the workers: {:?}",
        of("stats").last()
    );
    // Public facts only: no payloads, results or addresses.
    for e in &events {
        let text = e.to_string();
        assert!(
            !text.contains("payload") && !text.contains("127.0.0.1"),
            "{text}"
        );
    }
}

#[test]
fn past_sixty_four_subscribers_events_answers_503_and_those_connected_keep_their_stream() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let url = format!("ws://{}/events", relay.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut subscribers = Vec::new();
        for _ in 0..64 {
            subscribers.push(tokio_tungstenite::connect_async(&url).await.unwrap().0);
        }
        let refused = tokio_tungstenite::connect_async(&url).await.unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
            panic!("not refused with an HTTP answer: {refused}")
        };
        assert_eq!(response.status(), 503);
        let body =
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
        assert!(body.contains("EN-306"), "{body}");
        // The first subscriber still gets the once-a-second stats.
        let first = subscribers.first_mut().unwrap();
        let message = tokio::time::timeout(Duration::from_secs(5), first.next()).await;
        let Ok(Some(Ok(Message::Text(t)))) = message else {
            panic!("no stats: {message:?}")
        };
        assert!(t.contains("\"type\":\"stats\""), "{t}");
        // One leaves; its place is free again.
        drop(subscribers.pop());
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio_tungstenite::connect_async(&url).await.unwrap();
    });
}
