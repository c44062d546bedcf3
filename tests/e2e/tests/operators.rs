//! What an operator reads from a running relay: `/metrics` (linted by `promtool`, the counters
//! moved by what real tasks did), `/healthz` and `/readyz`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::HashMap;
use std::time::Duration;

use edgenet_e2e::{Relay, Worker, wait_until};

const WAIT: Duration = Duration::from_secs(20);

/// `/metrics` as sample → value (`name{labels}` as written), after `promtool check metrics`
/// accepted it.
fn scrape(relay: &Relay) -> HashMap<String, f64> {
    let (status, body) = relay.get_raw("/metrics");
    assert_eq!(status, 200, "{body}");
    lint(&body);
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// Runs `promtool check metrics` (Debian's `prometheus` package; scripts/setup.sh installs it).
fn lint(body: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool: {e} (run scripts/setup.sh)"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool refused /metrics:\n{}{}\n---\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn moved(before: &HashMap<String, f64>, after: &HashMap<String, f64>, sample: &str) -> f64 {
    let get = |m: &HashMap<String, f64>| m.get(sample).copied().unwrap_or(0.0);
    get(after) - get(before)
}

#[test]
fn metrics_count_what_real_tasks_did() {
    let dir = tempfile::tempdir().unwrap();
    // Uptime mints every 300 ms, so that credits exist to pay with.
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--uptime-period-ms", "300", "--uptime-bonus", "1000000"],
    );
    assert_eq!(relay.get_raw("/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(relay.get_raw("/readyz"), (200, "ready\n".to_owned()));
    let honest: Vec<Worker> = ["a", "b", "c"]
        .iter()
        .map(|n| Worker::start(dir.path(), n, &relay.ws_url(), &[]))
        .collect();
    let _liar = Worker::start(
        dir.path(),
        "liar",
        &relay.ws_url(),
        &["--fault-inject", "wrong-result"],
    );
    wait_until(WAIT, "4 peers", || relay.peer_count() == 4);
    // The payer earns its first credits as a worker, then stops working and submits.
    let mut honest = honest.into_iter();
    let payer = honest.next().unwrap();
    wait_until(WAIT, "the payer's first credits", || {
        relay.get(&format!("/api/ledger/{}", payer.id))["balance"]
            .as_u64()
            .unwrap()
            >= 1_000_000
    });
    let payer_key = payer.key_file.clone();
    payer.kill();
    let _workers: Vec<Worker> = honest.collect();
    wait_until(WAIT, "3 peers", || relay.peer_count() == 3);
    let before = scrape(&relay);
    assert_eq!(before["edgenet_peers{role=\"native\"}"], 3.0);
    assert_eq!(before["edgenet_peers{role=\"browser\"}"], 0.0);

    // Two tasks, one paid, each done by the three workers: the liar is outvoted in both.
    for (seed, pay) in [("1", "0"), ("2", "0.1")] {
        let out = edgenet_e2e::node_stdout(
            &payer_key,
            &[
                "submit",
                "--relay",
                &relay.ws_url(),
                "--json",
                "--seed",
                seed,
                "--pay",
                pay,
                "--redundancy",
                "3",
            ],
        );
        let report: edgenet_node::submit::Report = serde_json::from_str(&out).unwrap();
        assert!(report.verified && report.outvoted.len() == 1, "{report:?}");
    }
    let after = scrape(&relay);
    let vs = |name: &str| format!("{name}{{kind=\"vector_search\"}}");
    assert_eq!(
        moved(&before, &after, &vs("edgenet_tasks_submitted_total")),
        2.0
    );
    assert_eq!(
        moved(&before, &after, &vs("edgenet_tasks_verified_total")),
        2.0
    );
    assert_eq!(
        moved(&before, &after, &vs("edgenet_tasks_failed_total")),
        0.0
    );
    assert_eq!(
        moved(&before, &after, &vs("edgenet_task_latency_seconds_count")),
        2.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "edgenet_task_latency_seconds_bucket{kind=\"vector_search\",le=\"+Inf\"}"
        ),
        2.0
    );
    assert!(moved(&before, &after, &vs("edgenet_task_latency_seconds_sum")) > 0.0);
    let agreed = moved(
        &before,
        &after,
        "edgenet_verification_workers_total{outcome=\"agreed\"}",
    );
    let lost = moved(
        &before,
        &after,
        "edgenet_verification_workers_total{outcome=\"outvoted\"}",
    );
    assert_eq!((agreed, lost), (4.0, 2.0));
    assert!(moved(&before, &after, "edgenet_frames_received_total") >= 2.0 * 5.0);
    // The paid task: one payment per agreeing worker.
    assert!(
        moved(
            &before,
            &after,
            "edgenet_ledger_entries_written_total{kind=\"payment\"}"
        ) >= 2.0
    );
    assert!(moved(&before, &after, "edgenet_micro_credits_paid_total") >= 60_000.0);
    assert!(after["edgenet_micro_credits_minted_total"] >= 1_000_000.0);
    assert!(after["edgenet_ledger_entries"] > before["edgenet_ledger_entries"]);
    assert!(
        after["edgenet_store_commit_seconds_count"] > before["edgenet_store_commit_seconds_count"]
    );
    assert!(after["process_resident_memory_bytes"] > 1e6);
}

/// `systemd-analyze verify` on a unit file: no errors and no warnings (an unknown or misspelt
/// key is only a warning to systemd, and would silently drop a hardening line).
fn verify_unit(path: &std::path::Path, user: bool) {
    let runtime = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new("systemd-analyze");
    command.arg("verify");
    if user {
        // The user manager wants a runtime directory, which a CI shell may not have.
        command.arg("--user").env("XDG_RUNTIME_DIR", runtime.path());
    }
    let out = command
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze: {e} (the systemd package)"));
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "{}:\n{said}",
        path.display()
    );
}

#[test]
fn install_service_writes_units_systemd_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let run = |bin: &str, args: &[&str], config: &std::path::Path| {
        let out = std::process::Command::new(edgenet_e2e::bin(bin))
            .args(args)
            .env("XDG_CONFIG_HOME", config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let relay_flags = [
        "install-service",
        "--dry-run",
        "--",
        "--listen",
        "0.0.0.0:443",
    ];
    let node_flags = [
        "install-service",
        "--relay",
        "wss://relay.example.org/ws",
        "--dry-run",
    ];
    for (bin, args, low_port) in [
        ("edgenet-relay", &relay_flags[..], true),
        ("edgenet-node", &node_flags[..], false),
    ] {
        for user in [false, true] {
            let mut args = args.to_vec();
            if user {
                args.insert(1, "--user");
            }
            let printed = run(bin, &args, dir.path());
            // The first line names where the unit would go; the rest is the unit.
            let (first, unit) = printed.split_once('\n').unwrap();
            let want = if user {
                dir.path().join(format!("systemd/user/{bin}.service"))
            } else {
                std::path::PathBuf::from(format!("/etc/systemd/system/{bin}.service"))
            };
            assert_eq!(first, format!("# {}", want.display()));
            for line in [
                "NoNewPrivileges=yes",
                "ProtectSystem=strict",
                &format!("StateDirectory={bin}"),
                "Restart=on-failure",
            ] {
                assert!(
                    unit.lines().any(|l| l == line),
                    "{bin} lacks {line}:\n{unit}"
                );
            }
            assert_eq!(unit.contains("DynamicUser=yes"), !user);
            assert_eq!(
                unit.contains("CAP_NET_BIND_SERVICE"),
                low_port && !user,
                "{unit}"
            );
            // The GPU drivers of a node compile code at run time; the relay never does.
            assert_eq!(
                unit.contains("MemoryDenyWriteExecute=yes"),
                bin == "edgenet-relay"
            );
            let file = dir.path().join(format!("{bin}-{user}/{bin}.service"));
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, unit).unwrap();
            verify_unit(&file, user);
        }
    }
    // Without --dry-run the user unit is written where the user's manager reads it.
    let said = run(
        "edgenet-node",
        &[
            "install-service",
            "--relay",
            "ws://127.0.0.1:1/ws",
            "--user",
        ],
        dir.path(),
    );
    let written = dir.path().join("systemd/user/edgenet-node.service");
    assert!(
        said.contains("systemctl --user enable --now edgenet-node"),
        "{said}"
    );
    let unit = std::fs::read_to_string(&written).unwrap();
    assert!(unit.contains("run --relay ws://127.0.0.1:1/ws"), "{unit}");
    verify_unit(&written, true);
    // A relay unit keeps its data in the state directory: --data-dir is refused.
    let out = std::process::Command::new(edgenet_e2e::bin("edgenet-relay"))
        .args(["install-service", "--dry-run", "--", "--data-dir", "/tmp/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("EN-304"));
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let worker = Worker::start(dir.path(), "w", &relay.ws_url(), &["--log-format", "json"]);
    wait_until(WAIT, "the worker to join", || {
        worker.log().contains("joined relay")
    });
    let log = worker.log();
    // Every line of ours is JSON; the GPU driver's own complaints (mesa writes a line when
    // XDG_RUNTIME_DIR is unset) are not ours to format.
    for line in log
        .lines()
        .filter(|l| !l.starts_with("error: XDG_RUNTIME_DIR"))
    {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
    }
    assert!(
        log.lines()
            .any(|l| l.contains("\"message\":\"joined relay\"")),
        "{log}"
    );
}

#[test]
fn check_names_a_software_renderer_as_no_gpu() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("node.key");
    let json: serde_json::Value =
        serde_json::from_str(&edgenet_e2e::node_stdout(&key, &["check", "--json"])).unwrap();
    let text = edgenet_e2e::node_stdout(&key, &["check"]);
    let gpu_line = text
        .lines()
        .find(|l| l.starts_with("gpu:"))
        .unwrap()
        .to_owned();
    match (json["gpu"].as_str(), json["software_renderer"].as_str()) {
        (None, Some(soft)) => {
            assert!(
                ["llvmpipe", "SwiftShader", "lavapipe", "WARP"]
                    .iter()
                    .any(|n| soft.contains(n)),
                "{soft}"
            );
            assert!(gpu_line.contains("no GPU (software renderer"), "{gpu_line}");
        }
        (Some(gpu), None) => assert!(gpu_line.contains(gpu), "{gpu_line}"),
        (None, None) => assert!(gpu_line.contains("no GPU (no adapter"), "{gpu_line}"),
        (Some(_), Some(_)) => panic!("both a GPU and a software renderer: {json}"),
    }
}

#[test]
fn the_leaderboard_ranks_contributors_by_credits_earned() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--uptime-period-ms", "300", "--uptime-bonus", "1000000"],
    );
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    // The ranking is shared for 5 s, so this can take that long to see all three.
    wait_until(Duration::from_secs(30), "three contributors", || {
        relay.get("/api/leaderboard")["contributors"] == 3
    });
    let board = relay.get("/api/leaderboard");
    let top = board["top"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    for (i, place) in top.iter().enumerate() {
        assert_eq!(place["rank"], i + 1);
        if i > 0 {
            assert!(
                top[i - 1]["earned"].as_u64() >= place["earned"].as_u64(),
                "{board}"
            );
        }
    }
    for w in &workers {
        let account = relay.get(&format!("/api/ledger/{}", w.id));
        let place = top.iter().find(|p| p["account"] == w.id.as_str()).unwrap();
        assert_eq!(account["rank"], place["rank"], "{account}");
        assert_eq!(account["contributors"], 3);
    }
    assert_eq!(
        relay.get("/api/leaderboard?limit=1")["top"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // An account that never earned has no rank.
    let stranger = edgenet_core::SecretKey::generate(&mut edgenet_core::rng::os_rng()).node_id();
    assert!(relay.get(&format!("/api/ledger/{stranger}"))["rank"].is_null());
}

#[test]
fn check_estimates_earnings_from_a_relays_rewards() {
    let dir = tempfile::tempdir().unwrap();
    // 0.5 credit per 10 s online: 180 credits an hour before the multiplier.
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--uptime-period-ms", "10000", "--uptime-bonus", "500000"],
    );
    let rewards = relay.get("/api/rewards");
    assert_eq!(rewards["uptime_per_hour"], 180_000_000);
    assert_eq!(
        rewards["multiplier_ppm"], 10_000_000,
        "nothing proven yet: 10×"
    );
    let key = dir.path().join("node.key");
    let url = relay.ws_url();
    let args = [
        "check",
        "--json",
        "--relay",
        url.as_str(),
        "--idle-hours",
        "8",
    ];
    let json: serde_json::Value =
        serde_json::from_str(&edgenet_e2e::node_stdout(&key, &args)).unwrap();
    let e = &json["estimate"];
    assert_eq!(e["idle_hours"], 8.0);
    assert_eq!(e["uptime_per_day"], 180_000_000u64 * 10 * 8, "{e}");
    assert_eq!(e["tasks_per_day"], 0, "no task has been paid there yet");
    assert_eq!(e["per_day"], e["uptime_per_day"]);
    let text = edgenet_e2e::node_stdout(&key, &["check", "--relay", &url, "--idle-hours", "8"]);
    assert!(
        text.contains("earnings:   about 14400.000000 credits a day"),
        "{text}"
    );
}

/// The OpenAPI document, docs/api.md's table of paths and the routes the relay answers are the
/// same set: a route added without its `#[utoipa::path]`, or a path the docs forget, fails here.
#[test]
fn the_openapi_document_the_docs_and_the_routes_agree() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let spec = relay.get("/api/openapi.json");
    assert_eq!(spec["openapi"], "3.1.0");
    let mut in_spec: Vec<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    in_spec.push("/api/openapi.json".into());
    in_spec.sort();
    let docs = include_str!("../../../docs/api.md");
    let mut in_docs: Vec<String> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(p, _)| p.to_owned()))
        .filter(|p| p.starts_with('/'))
        .collect();
    in_docs.sort();
    assert_eq!(
        in_spec, in_docs,
        "docs/api.md's table against /api/openapi.json"
    );
    // Each described path is routed: nothing answers the site's 404.
    let node_id = relay.get("/api/status")["node_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in &in_spec {
        let concrete = path
            .replace("{account}", &node_id)
            .replace("{model}", "minilm")
            // A name the handler refuses before it loads the model (which converts 90 MB).
            .replace("{file}", "not-a-model-file");
        let (status, body) = relay.get_raw(&concrete);
        // The model route's own 404 (a file it does not serve) is the handler answering.
        let handled = body.contains("no such model file");
        assert!(
            status != 404 || handled,
            "{path} is described but not routed: {status} {body}"
        );
        // Every operation says what it answers, and the schemas it names exist.
        let get = &spec["paths"][path.as_str()]["get"];
        if path != "/api/openapi.json" {
            assert!(
                get["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{path}"
            );
        }
    }
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for name in [
        "Status",
        "PeerSummary",
        "TaskSummary",
        "AccountView",
        "Board",
        "Rewards",
    ] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
}
