//! The relay serves the embedding model's files to browser Workers: each hashes to the SHA-256
//! the package pins (`pkg/src/models.js`), revalidates with its ETag, and nothing outside the
//! four names is served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use sha2::{Digest, Sha256};

use edgenet_e2e::{Relay, model_dir};

/// `file` → pinned SHA-256, read from the package's own source.
fn pinned() -> Vec<(String, String)> {
    let js = include_str!("../../../pkg/src/models.js");
    js.lines()
        .filter_map(|l| {
            let file = l.split("file: '").nth(1)?.split('\'').next()?;
            let sha = l.split("sha256: '").nth(1)?.split('\'').next()?;
            Some((file.to_owned(), sha.to_owned()))
        })
        .collect()
}

#[test]
fn the_model_files_hash_to_the_published_sha256_and_revalidate() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &["--model-dir", &model_dir()]);
    let files = pinned();
    assert_eq!(files.len(), 4, "{files:?}");
    for (file, sha) in &files {
        let (status, head, body) = relay.fetch(
            &format!("/models/minilm/{file}"),
            &[("Origin", "https://site.example")],
        );
        assert_eq!(status, 200, "{file}: {head}");
        let got = data_encoding::HEXLOWER.encode(&Sha256::digest(&body));
        assert_eq!(&got, sha, "{file} does not hash to the package's pin");
        assert!(
            head.contains("cache-control: public, max-age=31536000, immutable"),
            "{head}"
        );
        assert!(head.contains("access-control-allow-origin: *"), "{head}");
        let (status, _, body) = relay.fetch(
            &format!("/models/minilm/{file}"),
            &[("If-None-Match", &format!("\"{sha}\""))],
        );
        assert_eq!((status, body.len()), (304, 0), "{file}: revalidation");
    }
    let weights = files
        .iter()
        .find(|(f, _)| f.ends_with(".safetensors"))
        .unwrap();
    let (_, head, _) = relay.fetch(&format!("/models/minilm/{}", weights.0), &[]);
    assert!(
        head.contains("content-length: 454"),
        "f16 weights are about 45 MB: {head}"
    );
    // One range of the weights: those bytes only, as the whole file has them.
    let path = format!("/models/minilm/{}", weights.0);
    let (_, _, whole) = relay.fetch(&path, &[]);
    let (status, head, part) = relay.fetch(&path, &[("Range", "bytes=100-199")]);
    assert_eq!(status, 206, "{head}");
    assert_eq!(part, whole[100..200]);
    let total = whole.len();
    assert!(
        head.contains(&format!("content-range: bytes 100-199/{total}")),
        "{head}"
    );
    let (status, _, tail) = relay.fetch(&path, &[("Range", "bytes=-8")]);
    assert_eq!((status, tail.as_slice()), (206, &whole[total - 8..]));
    let (status, head, _) = relay.fetch(&path, &[("Range", &format!("bytes={total}-"))]);
    assert_eq!(status, 416, "{head}");
    assert!(
        head.contains(&format!("content-range: bytes */{total}")),
        "{head}"
    );
    for path in [
        "/models/minilm/model.safetensors",
        "/models/minilm/../../etc/passwd",
        "/models/other/config.json",
        "/models/minilm/",
    ] {
        assert_eq!(relay.fetch(path, &[]).0, 404, "{path}");
    }
}

#[test]
fn a_relay_without_the_model_answers_404_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-model");
    std::fs::create_dir_all(&empty).unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--model-dir", empty.to_str().unwrap()],
    );
    let (status, _, body) = relay.fetch("/models/minilm/config.json", &[]);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("EN-410"));
    // The rest of the relay is unaffected.
    assert_eq!(relay.get("/api/status")["service"], "edgenet-relay");
}
