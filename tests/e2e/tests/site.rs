//! The relay binary as a web server: status API, static site, identity across restarts, SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_e2e::Relay;

#[test]
fn serves_status_and_site_keeps_identity_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<h1>EdgeNet test page</h1>").unwrap();
    std::fs::write(www.path().join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir(www.path().join(".git")).unwrap();
    std::fs::write(www.path().join(".git").join("config"), "[core]").unwrap();
    let site = [
        "--www",
        www.path().to_str().unwrap(),
        "--pkg",
        "/nonexistent",
    ];

    let relay = Relay::start(data.path(), 0, &site);
    let status = relay.get("/api/status");
    assert_eq!(status["service"], "edgenet-relay");
    assert_eq!(status["protocol_version"], edgenet_proto::PROTOCOL_VERSION);
    let node_id = status["node_id"].as_str().unwrap().to_owned();
    assert!(node_id.parse::<edgenet_core::NodeId>().is_ok(), "{node_id}");
    let (code, body) = relay.get_raw("/");
    assert_eq!(code, 200);
    assert!(body.contains("EdgeNet test page"));
    assert_eq!(relay.get_raw("/missing.html").0, 404);
    // Dotfiles are never served, however they are asked for.
    for hidden in [
        "/.env",
        "/.git/config",
        "/x/../.env",
        "/%2eenv",
        "/%2Egit/config",
    ] {
        let (code, body) = relay.get_raw(hidden);
        assert!(code == 404 || code == 400, "{hidden}: {code}");
        assert!(
            !body.contains("SECRET") && !body.contains("[core]"),
            "{hidden}: {body}"
        );
    }
    // Responses carry headers that stop content sniffing and referrer leaks.
    let head = relay.get_head("/");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    assert!(relay.terminate().success(), "SIGTERM is a clean shutdown");

    let relay = Relay::start(data.path(), 0, &site);
    assert_eq!(
        relay.get("/api/status")["node_id"],
        node_id.as_str(),
        "identity survives a restart"
    );
}
