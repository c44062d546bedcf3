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

#[test]
fn a_relay_started_anywhere_serves_its_built_in_site_and_package_compressed_and_revalidated() {
    let dir = tempfile::tempdir().unwrap();
    // Started in an empty folder, with no --www or --pkg.
    let relay = Relay::start_with_built_in_assets(&dir.path().join("relay"), 0);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (code, _, page) = relay.fetch("/", &[]);
    assert_eq!(code, 200);
    assert_eq!(page, std::fs::read(root.join("www/index.html")).unwrap());

    // A script of the package, asked for with brotli: compressed, and it decompresses to the file.
    let path = "/pkg/src/edgenet.js";
    let file = std::fs::read(root.join("pkg/src/edgenet.js")).unwrap();
    let (code, head, body) = relay.fetch(path, &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(code, 200);
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(
        body.len() < file.len(),
        "not smaller: {} >= {}",
        body.len(),
        file.len()
    );
    let mut plain = Vec::new();
    brotli_decompress(&body, &mut plain);
    assert_eq!(plain, file);
    // gzip where brotli is not accepted; nothing where nothing is.
    let (_, head, _) = relay.fetch(path, &[("Accept-Encoding", "gzip")]);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let (_, head, body) = relay.fetch(path, &[]);
    assert!(!head.contains("content-encoding"), "{head}");
    assert_eq!(body, file);

    // A second request with the ETag revalidates: 304, no body.
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an etag")
        .to_owned();
    let (code, _, body) = relay.fetch(path, &[("If-None-Match", &etag)]);
    assert_eq!(code, 304);
    assert!(body.is_empty());
    assert_eq!(relay.fetch("/pkg/no-such-file.js", &[]).0, 404);
    assert_eq!(relay.fetch("/pkg/wasm/.gitignore", &[]).0, 404);
}

/// Brotli, decoded with the relay's own dependency (the test needs only to read it back).
fn brotli_decompress(input: &[u8], out: &mut Vec<u8>) {
    brotli::BrotliDecompress(&mut &input[..], out).unwrap();
}
