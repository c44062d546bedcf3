//! The relay binary on a real socket: status API, static files, identity persistence, SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Relay {
    child: Child,
    addr: String,
}

impl Relay {
    fn start(data_dir: &std::path::Path, www: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_edgenet-relay"))
            .args(["--listen", "127.0.0.1:0", "--pkg", "/nonexistent"])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--www")
            .arg(www)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("edgenet-relay listening on http://")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"))
            .to_owned();
        Self { child, addr }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

#[test]
fn serves_status_and_site_keeps_identity_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<h1>EdgeNet test page</h1>").unwrap();

    let relay = Relay::start(data.path(), www.path());
    let (code, body) = relay.get("/api/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["service"], "edgenet-relay");
    assert_eq!(status["protocol_version"], 1);
    let node_id = status["node_id"].as_str().unwrap().to_owned();
    assert!(node_id.parse::<edgenet_core::NodeId>().is_ok(), "{node_id}");

    let (code, body) = relay.get("/");
    assert_eq!(code, 200);
    assert!(body.contains("EdgeNet test page"));
    assert_eq!(relay.get("/missing.html").0, 404);
    assert!(relay.terminate().success(), "SIGTERM is a clean shutdown");

    let relay = Relay::start(data.path(), www.path());
    let status: serde_json::Value = serde_json::from_str(&relay.get("/api/status").1).unwrap();
    assert_eq!(
        status["node_id"],
        node_id.as_str(),
        "identity survives a restart"
    );
    relay.terminate();
}
