//! Text tasks across real processes: native workers with the real all-MiniLM-L6-v2 embed texts
//! and rank candidates; three workers must agree (cosine quorum), the verified vectors match
//! sentence-transformers, and a worker that perturbs its vectors or runs a cheaper model is
//! outvoted and named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::Path;
use std::time::Duration;

use edgenet_e2e::{Relay, Worker, model_dir, node, submit, wait_until};
use edgenet_kernels::nn::reference::cosine;

const WAIT: Duration = Duration::from_secs(30);

#[derive(serde::Deserialize)]
struct Reference {
    dim: usize,
    texts: Vec<String>,
    embeddings_f32le_base64: String,
}

/// sentence-transformers' texts and embeddings (the fixture `crates/embed/tests` checks).
fn reference() -> (Vec<String>, Vec<Vec<f32>>) {
    let r: Reference = serde_json::from_str(include_str!(
        "../../../crates/embed/tests/fixtures/minilm_reference.json"
    ))
    .unwrap();
    let bytes = data_encoding::BASE64
        .decode(r.embeddings_f32le_base64.as_bytes())
        .unwrap();
    let flat: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (
        r.texts,
        flat.chunks_exact(r.dim).map(<[f32]>::to_vec).collect(),
    )
}

/// Fixture texts that survive a one-per-line file (no newlines, not blank), with their vectors.
fn line_texts(count: usize) -> (Vec<String>, Vec<Vec<f32>>) {
    let (texts, vectors) = reference();
    texts
        .into_iter()
        .zip(vectors)
        .filter(|(t, _)| !t.trim().is_empty() && !t.contains(['\n', '\r']) && t.len() < 400)
        .take(count)
        .unzip()
}

fn write_lines(dir: &Path, name: &str, lines: &[String]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).unwrap();
    path.display().to_string()
}

fn workers(dir: &Path, relay: &Relay, faults: &[Option<&str>]) -> Vec<Worker> {
    let model = model_dir();
    let workers: Vec<Worker> = faults
        .iter()
        .enumerate()
        .map(|(i, fault)| {
            let mut args = vec!["--model-dir", model.as_str()];
            if let Some(f) = fault {
                args.extend(["--fault-inject", f]);
            }
            Worker::start(dir, &format!("w{i}"), &relay.ws_url(), &args)
        })
        .collect();
    wait_until(WAIT, "workers with the model", || {
        relay.peer_count() == faults.len()
            && workers
                .iter()
                .all(|w| w.log().contains("embedding model loaded"))
    });
    workers
}

#[test]
fn three_workers_embed_texts_as_sentence_transformers_does() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let workers = workers(dir.path(), &relay, &[None, None, None]);
    let (texts, want) = line_texts(40);
    let file = write_lines(dir.path(), "texts.txt", &texts);

    let report = submit(
        dir.path(),
        &relay.ws_url(),
        &["--kind", "embedding", "--file", &file, "--redundancy", "3"],
    );
    assert!(report.verified);
    let mut agreeing = report.workers.clone();
    agreeing.sort();
    let mut ids: Vec<String> = workers.iter().map(|w| w.id.clone()).collect();
    ids.sort();
    assert_eq!(agreeing, ids, "all three agreed");
    assert_eq!(report.matches_local, Some(true), "and so does this machine");
    let got = report.embeddings.unwrap();
    assert_eq!(got.len(), texts.len());
    for ((g, w), t) in got.iter().zip(&want).zip(&texts) {
        let c = cosine(g, w);
        assert!(c >= 0.999, "cosine {c} with sentence-transformers on {t:?}");
    }

    // The JSON a script reads: {"embeddings": [[…]], "workers": […], "verified": true}.
    let key = dir.path().join("submitter.key");
    let out = node(
        &key,
        &[
            "submit",
            "--relay",
            &relay.ws_url(),
            "--kind",
            "embedding",
            "--file",
            &file,
            "--redundancy",
            "3",
            "--output",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["workers"].as_array().unwrap().len(), 3);
    assert_eq!(json["embeddings"].as_array().unwrap().len(), texts.len());
    assert_eq!(json["embeddings"][0].as_array().unwrap().len(), 384);
}

#[test]
fn semantic_match_ranks_candidates_as_the_reference_does() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let _workers = workers(dir.path(), &relay, &[None, None, None]);
    let (texts, vectors) = line_texts(60);
    // The query is one fixture text; the candidates are the others (the brief's use: a task
    // description against agents' descriptions).
    let query = texts[0].clone();
    let candidates = &texts[1..];
    let file = write_lines(dir.path(), "candidates.txt", candidates);
    let report = submit(
        dir.path(),
        &relay.ws_url(),
        &[
            "--kind",
            "semantic-match",
            "--query",
            &query,
            "--file",
            &file,
            "--top-k",
            "10",
            "--redundancy",
            "3",
        ],
    );
    assert!(report.verified);
    assert_eq!(report.workers.len(), 3);
    let got = report.matches.unwrap();
    assert_eq!(got.len(), 10);

    // The reference ranking: sentence-transformers' vectors, cosine with the query's.
    let mut want: Vec<(usize, f64)> = vectors[1..]
        .iter()
        .enumerate()
        .map(|(i, v)| (i, cosine(&vectors[0], v)))
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (rank, (m, (index, score))) in got.iter().zip(&want).enumerate() {
        assert!(
            (f64::from(m.score) - score).abs() < 1e-3,
            "rank {rank}: score {} vs the reference's {score}",
            m.score
        );
        // Candidates whose reference scores are within 1e-3 may swap places.
        let tie = want
            .iter()
            .any(|(i, s)| *i == m.index as usize && (s - score).abs() < 1e-3);
        assert!(
            m.index as usize == *index || tie,
            "rank {rank}: {} vs {index}",
            m.index
        );
    }
}

/// A worker answering with noisy vectors (cosine ≈ 0.98) or another model's is outvoted by two
/// honest ones, and named in the verdict.
#[test]
fn perturbed_vectors_and_another_model_are_outvoted() {
    let (texts, _) = line_texts(12);
    for fault in ["wrong-result", "other-model"] {
        let dir = tempfile::tempdir().unwrap();
        let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
        let workers = workers(dir.path(), &relay, &[None, None, Some(fault)]);
        let file = write_lines(dir.path(), "texts.txt", &texts);
        let report = submit(
            dir.path(),
            &relay.ws_url(),
            &["--kind", "embedding", "--file", &file, "--redundancy", "3"],
        );
        assert!(report.verified, "{fault}");
        assert_eq!(
            report.outvoted,
            vec![workers[2].id.clone()],
            "{fault}: the liar is named"
        );
        assert_eq!(report.workers.len(), 2, "{fault}");
        assert_eq!(
            report.matches_local,
            Some(true),
            "{fault}: the honest answer won"
        );

        let candidates = write_lines(dir.path(), "candidates.txt", &texts[1..]);
        let report = submit(
            dir.path(),
            &relay.ws_url(),
            &[
                "--kind",
                "semantic-match",
                "--query",
                &texts[0],
                "--file",
                &candidates,
                "--redundancy",
                "3",
            ],
        );
        assert_eq!(
            report.outvoted,
            vec![workers[2].id.clone()],
            "{fault}: semantic_match"
        );
        assert_eq!(report.matches_local, Some(true), "{fault}: semantic_match");
    }
}

/// Bad text tasks are refused before anything is sent, each with its code.
#[test]
fn bad_text_tasks_get_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    let texts = write_lines(dir.path(), "t.txt", &["hello".to_owned()]);
    let empty = write_lines(dir.path(), "empty.txt", &[]);
    let many = write_lines(dir.path(), "many.txt", &vec!["x".to_owned(); 300]);
    let long = write_lines(dir.path(), "long.txt", &["é".repeat(5000)]);
    let url = "ws://127.0.0.1:9/ws";
    for (args, code) in [
        (
            vec!["--kind", "embedding", "--file", &texts, "--model", "gpt-9"],
            "EN-143",
        ),
        (vec!["--kind", "embedding", "--file", &empty], "EN-141"),
        (vec!["--kind", "embedding", "--file", &many], "EN-141"),
        (vec!["--kind", "embedding", "--file", &long], "EN-141"),
        (vec!["--kind", "semantic-match", "--file", &texts], "EN-153"),
        (
            vec!["--kind", "semantic-match", "--query", "q", "--file", &empty],
            "EN-141",
        ),
    ] {
        let mut all = vec!["submit", "--relay", url];
        all.extend(args.iter().copied());
        let out = node(&key, &all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(code),
            "{args:?}: want {code}, got {err}"
        );
    }
}

/// A worker with the model gets an embedding canary (known answers built into the relay): an
/// honest one earns its first credits on it, one running a cheaper model loses reputation.
#[test]
fn the_embedding_canary_pays_the_model_and_catches_a_cheaper_one() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--canary-reward", "2000000"],
    );
    let w = workers(dir.path(), &relay, &[None, Some("other-model")]);
    let api = |id: &str| relay.get(&format!("/api/ledger/{id}"));
    // 2 credits × the curve's 10× start, once the proof of work is in.
    let reward = 20_000_000;
    wait_until(WAIT, "both canaries judged", || {
        api(&w[0].id)["balance"].as_u64() == Some(reward)
            && api(&w[1].id)["reputation"].as_u64().is_some()
    });
    assert_eq!(api(&w[1].id)["balance"].as_u64(), Some(0));
    assert_eq!(api(&w[1].id)["reputation"].as_u64(), Some(3_000));
    let tasks = relay.get("/api/tasks");
    let kinds: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["embedding", "embedding"], "{tasks}");
}

/// A node told to run text tasks on the GPU (`--text-backend gpu`: lavapipe in CI) embeds on the
/// WGSL encoder, and its vectors pass the cosine quorum beside two nodes left to choose (`auto`,
/// which leaves a software adapter alone). Skipped, saying why, only without any adapter.
#[test]
fn a_gpu_worker_agrees_with_cpu_workers() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let model = model_dir();
    let gpu = Worker::start(
        dir.path(),
        "gpu",
        &relay.ws_url(),
        &["--model-dir", &model, "--text-backend", "gpu"],
    );
    // Building the GPU encoder and probing it on lavapipe takes several seconds.
    wait_until(
        Duration::from_secs(120),
        "the GPU worker to load or refuse",
        || {
            let log = gpu.log();
            log.contains("embedding model loaded") || log.contains("EN-158")
        },
    );
    if gpu.log().contains("no GPU adapter") {
        eprintln!("SKIPPED: no GPU adapter at all (install mesa-vulkan-drivers for lavapipe)");
        return;
    }
    let log = gpu.log();
    let probe = log.lines().find(|l| l.contains("GPU encoder probed"));
    eprintln!("{}", probe.unwrap_or_else(|| panic!("no probe in {log}")));
    assert!(!log.contains("text_backend=cpu"), "{log}");
    let cpu: Vec<Worker> = (0..2)
        .map(|i| {
            Worker::start(
                dir.path(),
                &format!("auto{i}"),
                &relay.ws_url(),
                &["--model-dir", &model],
            )
        })
        .collect();
    wait_until(WAIT, "three workers with the model", || {
        relay.peer_count() == 3
            && cpu
                .iter()
                .all(|w| w.log().contains("embedding model loaded"))
    });
    for w in &cpu {
        let log = w.log();
        // On a machine with a real GPU, `auto` probes it; on lavapipe it does not try.
        assert!(
            log.contains("software adapter") || log.contains("GPU encoder probed"),
            "{log}"
        );
    }
    let (texts, want) = line_texts(8);
    let file = write_lines(dir.path(), "texts.txt", &texts);
    let report = submit(
        dir.path(),
        &relay.ws_url(),
        &["--kind", "embedding", "--file", &file, "--redundancy", "3"],
    );
    assert!(report.verified, "{report:?}");
    assert!(
        report.workers.contains(&gpu.id),
        "the GPU worker agreed: {report:?}"
    );
    assert_eq!(report.matches_local, Some(true));
    for (g, w) in report.embeddings.unwrap().iter().zip(&want) {
        assert!(cosine(g, w) >= 0.999);
    }
}
