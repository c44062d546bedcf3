//! The relay over TLS (`--tls-cert`, `--tls-key`) with a certificate made here by a private CA:
//! native workers and a submitter reach it over `wss://` when told to trust that CA
//! (`--ca-cert`), `earnings` reads its API over HTTPS, and without the CA the certificate is
//! refused with EN-157.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::Path;
use std::time::Duration;

use edgenet_e2e::{Relay, Worker, node, node_stdout, submit};

/// A CA and a relay certificate it signed for `localhost` and 127.0.0.1: (ca.pem, cert.pem,
/// key.pem) in `dir`.
fn certificates(dir: &Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_owned()
    };
    (
        write("ca.pem", ca.pem()),
        write("cert.pem", cert.pem()),
        write("key.pem", key.serialize_pem()),
    )
}

#[test]
fn nodes_work_through_a_relay_over_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let url = format!("wss://{}/ws", relay.addr);
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &url, &["--ca-cert", &ca]))
        .collect();
    // The workers are up once a submission over TLS is answered by all three.
    let mut report = None;
    for _ in 0..40 {
        let r = submit(dir.path(), &url, &["--ca-cert", &ca, "--seed", "3"]);
        if r.agreeing.len() == 3 {
            report = Some(r);
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let report = report.expect("three workers over wss:// agreed");
    assert!(report.matches_local == Some(true));
    // The HTTP API over HTTPS, with the same trust.
    let earnings = node_stdout(
        &workers[0].key_file,
        &["earnings", "--relay", &url, "--json", "--ca-cert", &ca],
    );
    let figures: serde_json::Value = serde_json::from_str(&earnings).unwrap();
    assert_eq!(figures["account"].as_str(), Some(workers[0].id.as_str()));
    // Without the CA the relay's certificate is not trusted.
    let out = node(
        &dir.path().join("stranger.key"),
        &["submit", "--relay", &url, "--n", "10", "--dim", "4"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("EN-157"), "{stderr}");
}
