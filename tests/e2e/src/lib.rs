//! Harness for the cross-component tests: starts the real `edgenet-relay` and `edgenet-node`
//! binaries on 127.0.0.1 with their own temporary folders, and stops them when dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness: failing loudly is the point

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The workspace's `target/<profile>` folder, where the binaries are.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_owned()
}

/// Path of a workspace binary. The first call brings the binaries up to date (`cargo test -p
/// edgenet-e2e` alone builds this crate's dependencies as libraries, not the binaries), which is
/// a no-op when `cargo test --workspace` just built them.
pub fn bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // A benchmark built with --release drives the release binaries.
        let release = bin_dir().ends_with("release").then_some("--release");
        let ok = Command::new(cargo)
            .args(["build", "-q", "-p", "edgenet-relay", "-p", "edgenet-node"])
            .args(release)
            .status()
            .unwrap()
            .success();
        assert!(ok, "building the binaries failed");
    });
    bin_dir().join(name)
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` distinct free TCP ports on 127.0.0.1: all bound at once, then released, so that no two
/// are the same (calls to [`free_port`] one after another may return one port twice).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Polls `f` every 50 ms until it is true or `within` passes.
pub fn wait_until(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running relay.
pub struct Relay {
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
    data: PathBuf,
    extra: Vec<String>,
}

impl Relay {
    /// Starts a relay on `port` (0 picks one) keeping its state in `data`. `extra` flags are
    /// added; unless they name `--www`, no site is served.
    pub fn start(data: &Path, port: u16, extra: &[&str]) -> Self {
        Self::launch(data, port, extra, true)
    }

    /// Starts a relay that serves the site and the package built into it: no `--www`/`--pkg`,
    /// and run from `data`'s folder, where no `www/` or `pkg/` is.
    pub fn start_with_built_in_assets(data: &Path, port: u16) -> Self {
        Self::launch(data, port, &[], false)
    }

    fn launch(data: &Path, port: u16, extra: &[&str], no_site: bool) -> Self {
        let mut command = Command::new(bin("edgenet-relay"));
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data);
        if no_site && !extra.contains(&"--www") {
            command.args(["--www", "/nonexistent", "--pkg", "/nonexistent"]);
        }
        if !no_site {
            let dir = data.parent().unwrap_or(data);
            std::fs::create_dir_all(dir).unwrap();
            command.current_dir(dir);
        }
        // Canaries (an extra encryption task for every new worker) would change what the tests
        // count; the tests of canaries turn them on.
        if !extra.contains(&"--canary-reward") {
            command.args(["--canary-reward", "0"]);
        }
        // Real proofs of work, but cheap ones (16 Argon2id digests on average, not 4,096): a
        // test that is about them names its own.
        if !extra.contains(&"--work-bits") {
            command.args(["--work-bits", "4"]);
        }
        let mut child = command
            .args(extra)
            .env("EDGENET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let said = line.trim();
        let addr = said
            .strip_prefix("edgenet-relay listening on http://")
            .or_else(|| said.strip_prefix("edgenet-relay listening on https://"))
            .unwrap_or_else(|| panic!("relay said {line:?}"))
            .to_owned();
        Self {
            child,
            addr,
            data: data.to_owned(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Stops the relay with SIGTERM and returns how it exited.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }

    /// The relay's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the relay process has used (user + system), from `/proc`, in clock ticks
    /// (1/100 s on Linux).
    pub fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        field(11) + field(12)
    }

    /// The relay process's resident memory, KiB (from `/proc`).
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// `GET path`: the whole response, as text.
    fn request(&self, path: &str) -> String {
        self.request_with(path, &[])
    }

    /// `GET path` with extra request headers: the status, the head (lowercased) and the body's
    /// bytes.
    pub fn fetch(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
        let raw = self.request_bytes(path, headers);
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(raw.len());
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let body = raw.get(split + 4..).unwrap_or_default().to_vec();
        let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, head, body)
    }

    /// `GET path` with extra request headers: the whole response, as text.
    fn request_with(&self, path: &str, headers: &[(&str, &str)]) -> String {
        String::from_utf8_lossy(&self.request_bytes(path, headers)).into_owned()
    }

    fn request_bytes(&self, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{extra}Connection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        response
    }

    /// `GET path`: status code and body.
    pub fn get_raw(&self, path: &str) -> (u16, String) {
        let response = self.request(path);
        let status = response
            .get(9..12)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// `GET path`: the response's status line and headers, lowercased.
    pub fn get_head(&self, path: &str) -> String {
        self.get_head_with(path, &[])
    }

    /// [`Relay::get_head`] with extra request headers (an `Origin`, say).
    pub fn get_head_with(&self, path: &str, headers: &[(&str, &str)]) -> String {
        let response = self.request_with(path, headers);
        let head = response.split("\r\n\r\n").next().unwrap_or_default();
        head.to_ascii_lowercase()
    }

    /// `GET path` as JSON.
    pub fn get(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get_raw(path);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: HTTP {status}: {e}: {body}"))
    }

    /// Number of authenticated peers.
    pub fn peer_count(&self) -> usize {
        self.get("/api/peers").as_array().map_or(0, Vec::len)
    }

    /// Number of peers whose storage report has arrived, offering disk for shards: what a
    /// collection's placement counts (a peer is authenticated a moment before its report).
    pub fn storage_peer_count(&self) -> usize {
        self.get("/api/peers").as_array().map_or(0, |peers| {
            peers
                .iter()
                .filter(|p| p["storage_bytes"].as_u64().is_some_and(|b| b > 0))
                .count()
        })
    }

    /// Kills the relay with SIGKILL (no goodbye to anyone); [`Relay::start_again`] brings it back.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again, on the same port, data folder and flags.
    pub fn start_again(mut self) -> Self {
        self.kill();
        let port: u16 = self.addr.rsplit(':').next().unwrap().parse().unwrap();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        Self::start(&self.data, port, &extra)
    }

    /// Kills the relay with SIGKILL (no goodbye to anyone) and starts it again on the same port
    /// and data folder.
    pub fn crash_and_restart(mut self) -> Self {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let port: u16 = self.addr.rsplit(':').next().unwrap().parse().unwrap();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        Self::start(&self.data, port, &extra)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `edgenet-node run`.
pub struct Worker {
    child: Child,
    /// Its key file.
    pub key_file: PathBuf,
    /// Its NodeId.
    pub id: String,
    log: PathBuf,
}

impl Worker {
    /// Starts a worker with its own identity under `dir`. It loads no embedding model unless
    /// `extra` names one (`--model-dir`, see [`model_dir`]): most tests need none, and each
    /// model is 90 MB of memory.
    pub fn start(dir: &Path, name: &str, relay_url: &str, extra: &[&str]) -> Self {
        let no_model: &[&str] = if extra.contains(&"--model-dir") {
            &[]
        } else {
            &["--no-model"]
        };
        let key_file = dir.join(name).join("node.key");
        let id = node_stdout(&key_file, &["id"]);
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(bin("edgenet-node"))
            .arg("--key-file")
            .arg(&key_file)
            .args(["run", "--relay", relay_url, "--max-backoff-ms", "400"])
            .args(no_model)
            .args(extra)
            .env("EDGENET_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            key_file,
            id,
            log,
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its state from `edgenet-node status`.
    pub fn state(&self) -> String {
        let out = node(&self.key_file, &["status"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        status["state"].as_str().unwrap_or("").to_owned()
    }

    /// Its process's threads now (from `/proc`).
    pub fn threads(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Stops it with SIGTERM; how it exited and how long it took (it is killed after 10 s).
    pub fn terminate(mut self) -> (std::process::ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let asked = Instant::now();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, asked.elapsed());
            }
            if asked.elapsed() > Duration::from_secs(10) {
                self.child.kill().unwrap();
                return (self.child.wait().unwrap(), asked.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL, mid-whatever.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The embedding model's directory (scripts/setup.sh unpacks it), as a string for `--model-dir`.
pub fn model_dir() -> String {
    let dir = edgenet_embed::Embedder::default_dir().expect("no model directory");
    assert!(
        dir.join("model.safetensors").is_file(),
        "no model at {}: run scripts/setup.sh",
        dir.display()
    );
    dir.display().to_string()
}

/// Runs `edgenet-node --key-file KEY args…`.
pub fn node(key_file: &Path, args: &[&str]) -> Output {
    Command::new(bin("edgenet-node"))
        .arg("--key-file")
        .arg(key_file)
        .args(args)
        .env("EDGENET_LOG", "warn")
        .output()
        .unwrap()
}

/// Like [`node`], returning trimmed stdout and failing on a non-zero exit.
pub fn node_stdout(key_file: &Path, args: &[&str]) -> String {
    let out = node(key_file, args);
    assert!(
        out.status.success(),
        "edgenet-node {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs `edgenet-node submit --json` against `relay_url` and parses its report.
pub fn submit(dir: &Path, relay_url: &str, args: &[&str]) -> edgenet_node::submit::Report {
    let key = dir.join("submitter.key");
    let mut all = vec![
        "submit",
        "--relay",
        relay_url,
        "--json",
        "--timeout-s",
        "30",
    ];
    all.extend_from_slice(args);
    serde_json::from_str(&node_stdout(&key, &all)).unwrap()
}

/// A raw client WebSocket, for tests that speak the protocol frame by frame.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `url` and reads the relay's challenge: (socket, nonce, relay key).
pub async fn connect(url: &str) -> (Ws, [u8; 32], [u8; 32]) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let Some(Ok(Message::Binary(b))) = ws.next().await else {
        panic!("no challenge")
    };
    let edgenet_proto::message::RelayMsg::Challenge { nonce, relay, .. } =
        edgenet_proto::message::RelayMsg::decode(&b).unwrap()
    else {
        panic!("not a challenge")
    };
    (ws, nonce, relay)
}

/// A valid hello for `key` (a native node offering `vector_search`) answering `nonce`.
pub fn hello(
    key: &edgenet_core::SecretKey,
    nonce: &[u8; 32],
    relay: &[u8; 32],
) -> edgenet_proto::message::ClientMsg {
    use edgenet_proto::message::{Capabilities, ClientMsg, HelloBody, PeerInfo, Role};
    let body = HelloBody {
        version: edgenet_proto::PROTOCOL_VERSION,
        peer: PeerInfo {
            node: *key.node_id().as_bytes(),
            exchange_key: edgenet_core::SignedExchangeKey::for_identity(key)
                .encode()
                .to_vec(),
            role: Role::Native,
            capabilities: Capabilities {
                cores: 1,
                memory_mib: 1,
                gpu: None,
                kernels: vec![edgenet_core::task::TaskKind::VECTOR_SEARCH],
                backends: vec![],
            },
        },
    };
    let signature = key
        .sign(&edgenet_proto::handshake::hello_transcript(nonce, relay, &body).unwrap())
        .to_bytes()
        .to_vec();
    ClientMsg::Hello { body, signature }
}

/// A client that speaks the protocol message by message (for tests that misbehave on purpose,
/// which the node's endpoint never would): the handshake done, then raw sends and reads.
pub struct RawClient {
    ws: Ws,
}

impl RawClient {
    /// Connects as `key` with [`hello`]'s capabilities and waits for the welcome.
    pub async fn open(url: &str, key: &edgenet_core::SecretKey) -> Self {
        let (ws, nonce, relay) = connect(url).await;
        let mut client = Self { ws };
        client.send(&hello(key, &nonce, &relay)).await.unwrap();
        match client.next().await.unwrap() {
            edgenet_proto::message::RelayMsg::Welcome { .. } => client,
            other => panic!("expected the welcome, got {other:?}"),
        }
    }

    /// Sends one message.
    pub async fn send(
        &mut self,
        msg: &edgenet_proto::message::ClientMsg,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        use futures_util::SinkExt;
        let frame = msg.encode().unwrap();
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Binary(
                frame.into(),
            ))
            .await
    }

    /// Claims `task` when it is offered and returns once the relay assigns it.
    pub async fn claim_when_offered(&mut self, task: edgenet_core::task::TaskId) {
        use edgenet_proto::message::{ClientMsg, RelayMsg};
        loop {
            match self.next().await.unwrap() {
                RelayMsg::Offer { task: t, .. } if t == task => {
                    self.send(&ClientMsg::Claim { task }).await.unwrap()
                }
                RelayMsg::Assignment { task: t, .. } if t == task => return,
                _ => {}
            }
        }
    }

    /// The next relay message, or why the socket ended.
    pub async fn next(&mut self) -> Result<edgenet_proto::message::RelayMsg, String> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Binary(b))) => {
                    return edgenet_proto::message::RelayMsg::decode(&b).map_err(|e| e.to_string());
                }
                Some(Ok(_)) => {}
                other => return Err(format!("socket ended: {other:?}")),
            }
        }
    }
}

/// A running `nats-server` (Debian's, which `scripts/setup.sh` installs), with JetStream, alone or
/// one of a cluster on loopback. Killed when dropped.
pub struct NatsServer {
    child: Option<Child>,
    args: Vec<String>,
    /// Its client port.
    pub port: u16,
    /// Its monitoring port (`/connz`, `/jsz`).
    pub monitor: u16,
}

impl NatsServer {
    /// One server with JetStream, its store under `dir`.
    pub fn start(dir: &Path) -> Self {
        let ports = free_ports(2);
        Self::launch(Self::base_args(dir, "n0", ports[0], ports[1]))
    }

    /// `n` servers forming one JetStream cluster (R3 streams need three), stores under `dir`.
    pub fn cluster(dir: &Path, n: usize) -> Vec<Self> {
        // Every server's route, client and monitoring ports, distinct.
        let ports = free_ports(3 * n);
        let routes = &ports[..n];
        let all: Vec<String> = routes
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect();
        (0..n)
            .map(|i| {
                let (port, monitor) = (ports[n + 2 * i], ports[n + 2 * i + 1]);
                let mut args = Self::base_args(dir, &format!("n{i}"), port, monitor);
                args.extend([
                    "--cluster_name".into(),
                    "edgenet".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{}", routes[i]),
                    "--routes".into(),
                    all.join(","),
                ]);
                Self::launch(args)
            })
            .collect()
    }

    fn base_args(dir: &Path, name: &str, port: u16, monitor: u16) -> Vec<String> {
        let store = dir.join(name);
        std::fs::create_dir_all(&store).unwrap();
        [
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            &monitor.to_string(),
            "-js",
            "-sd",
            store.to_str().unwrap(),
            "--server_name",
            name,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    fn launch(args: Vec<String>) -> Self {
        let port = Self::arg_after(&args, "-p");
        let monitor = Self::arg_after(&args, "-m");
        let mut server = Self {
            child: None,
            args,
            port,
            monitor,
        };
        server.spawn();
        server
    }

    fn arg_after(args: &[String], flag: &str) -> u16 {
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1].parse().unwrap()
    }

    fn spawn(&mut self) {
        let child = Command::new("nats-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server missing: run scripts/setup.sh");
        self.child = Some(child);
        wait_until(Duration::from_secs(10), "nats-server to listen", || {
            TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
    }

    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL); [`NatsServer::restart`] brings it back with the same store.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again after [`NatsServer::stop`].
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// `GET path` on its monitoring port, as JSON.
    pub fn monitor(&self, path: &str) -> serde_json::Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.monitor)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `edgenet-relay --data-dir DATA id`: the NodeId a relay will have (its key is made now).
pub fn relay_id(data: &Path) -> String {
    let out = Command::new(bin("edgenet-relay"))
        .arg("--data-dir")
        .arg(data)
        .arg("id")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Three relays (`a`, `b`, `c` under `dir`) joined through `nats` as one cluster: JetStream
/// streams with as many copies as there are servers, each relay's NodeId in everyone's
/// `--validator` list, then `extra`. Returns them with their NodeIds.
pub fn relay_cluster(dir: &Path, nats: &[NatsServer], extra: &[&str]) -> (Vec<Relay>, Vec<String>) {
    let datas: Vec<PathBuf> = ["a", "b", "c"].iter().map(|n| dir.join(n)).collect();
    let ids: Vec<String> = datas.iter().map(|d| relay_id(d)).collect();
    let urls = nats
        .iter()
        .map(NatsServer::url)
        .collect::<Vec<_>>()
        .join(",");
    let (replicas, validators) = (nats.len().to_string(), ids.join(","));
    let mut flags = vec![
        "--nats",
        urls.as_str(),
        "--nats-replicas",
        replicas.as_str(),
        "--validator",
        validators.as_str(),
    ];
    flags.extend(extra);
    let relays = datas.iter().map(|d| Relay::start(d, 0, &flags)).collect();
    (relays, ids)
}
