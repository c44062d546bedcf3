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

type Subscriber =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A subscriber connecting from the loopback address `127.0.0.<host>` (every 127/8 address is
/// this machine's): the relay limits subscribers per address.
async fn subscribe_from(host: u8, relay: &Relay) -> Subscriber {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, host], 0)))
        .unwrap();
    let stream = socket.connect(relay.addr.parse().unwrap()).await.unwrap();
    let url = format!("ws://{}/events", relay.addr);
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    tokio_tungstenite::client_async(&url, stream)
        .await
        .unwrap()
        .0
}

/// The refusal of a subscription: its HTTP status and body.
fn refusal(e: tokio_tungstenite::tungstenite::Error) -> (u16, String) {
    let tokio_tungstenite::tungstenite::Error::Http(response) = e else {
        panic!("not refused with an HTTP answer: {e}")
    };
    let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
    (response.status().as_u16(), body)
}

/// The next `stats` message, within 5 s.
async fn stats(subscriber: &mut Subscriber) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), subscriber.next()).await;
        match message {
            Ok(Some(Ok(Message::Text(t)))) if t.contains("\"type\":\"stats\"") => {
                return t.to_string();
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no stats: {other:?}"),
        }
    }
}

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
        // Reading answers the relay's pings; only the text messages are events.
        while let Some(Ok(message)) = read.next().await {
            if let Message::Text(t) = message {
                collected
                    .lock()
                    .unwrap()
                    .push(serde_json::from_str(&t).unwrap());
            }
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
        // Eight from each of eight addresses (the most one address may have), 127.0.0.1 last.
        let mut subscribers = Vec::new();
        for i in 0..64u8 {
            subscribers.push(subscribe_from(8 - i / 8, &relay).await);
        }
        let refused = tokio_tungstenite::connect_async(&url).await.unwrap_err();
        let (status, body) = refusal(refused);
        assert_eq!(status, 503);
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

#[test]
fn subscribers_that_never_read_are_dropped_and_one_address_cannot_take_every_place() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let url = format!("ws://{}/events", relay.addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Eight that never read (a stream nobody polls answers no ping).
        let mut idle = Vec::new();
        for _ in 0..8 {
            idle.push(subscribe_from(1, &relay).await);
        }
        // A ninth from that address is refused; another address still gets in.
        let refused = tokio_tungstenite::connect_async(&url).await.unwrap_err();
        let (status, body) = refusal(refused);
        assert_eq!(status, 429);
        assert!(body.contains("EN-308"), "{body}");
        let mut other = subscribe_from(2, &relay).await;
        stats(&mut other).await;
        drop(other);
        // Within the read window the idle ones are closed, and the address may subscribe again.
        let started = tokio::time::Instant::now();
        let mut again = loop {
            match tokio_tungstenite::connect_async(&url).await {
                Ok((s, _)) => break s,
                Err(e) => {
                    assert_eq!(refusal(e).0, 429);
                    assert!(started.elapsed() < Duration::from_secs(20), "never dropped");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        stats(&mut again).await;
        // An idle one, read now, ends: the relay closed it (its close frame, or the socket
        // gone before the queued pongs could be written).
        let first = idle.first_mut().unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), first.next()).await {
                Ok(Some(Ok(Message::Close(Some(frame))))) => {
                    assert_eq!(frame.reason.as_str(), "EN-305");
                    break;
                }
                Ok(Some(Ok(_))) => {}
                Ok(None | Some(Err(_))) => break,
                Err(_) => panic!("an idle subscriber is still open"),
            }
        }
    });
    assert!(dropped(&relay) >= 8, "{} dropped", dropped(&relay));
}
