//! The model against sentence-transformers: the committed fixture holds its embeddings of 200+
//! varied texts (`scripts/make_embedding_fixture.py`); ours must reach cosine ≥ 0.999 on each,
//! on one thread and on several, one text at a time and in batches.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_embed::Embedder;
use edgenet_kernels::nn::reference::cosine;

mod common;
use common::reference;

fn model() -> Embedder {
    let dir = Embedder::default_dir().expect("no model directory: run scripts/setup.sh");
    Embedder::load(&dir).unwrap_or_else(|e| panic!("{e} (run scripts/setup.sh)"))
}

/// The smallest cosine against the reference, and the text where it is.
fn worst(got: &[Vec<f32>], want: &[Vec<f32>], texts: &[String]) -> (f64, String) {
    got.iter()
        .zip(want)
        .zip(texts)
        .map(|((g, w), t)| (cosine(g, w), t.clone()))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
}

#[test]
fn embeddings_match_sentence_transformers_on_every_text() {
    let (r, want) = reference();
    assert!(r.texts.len() >= 200);
    assert_eq!(r.max_seq_length, 256);
    let model = model();
    assert_eq!(model.dim(), r.dim);
    // The tokenizer feeds the model exactly what the reference's did (truncation included).
    for (text, ids) in r.texts.iter().zip(&r.token_ids) {
        assert_eq!(&model.tokenize(text), ids, "{text:?}");
    }
    assert!(
        r.token_ids.iter().any(|ids| ids.len() == 256),
        "no text exercises truncation"
    );

    let texts: Vec<&str> = r.texts.iter().map(String::as_str).collect();
    let batched = model.embed_threads(&texts, 2);
    let (min, text) = worst(&batched, &want, &r.texts);
    assert!(min >= 0.999, "cosine {min} on {text:?}");
    eprintln!(
        "batched, 2 threads: worst cosine {min:.7} on {:?}",
        text.chars().take(60).collect::<String>()
    );

    // One text at a time on one thread: the same vectors to float noise.
    for (i, text) in texts.iter().enumerate().step_by(7) {
        let single = model.embed(&[text]);
        let c = cosine(&single[0], &want[i]);
        assert!(c >= 0.999, "cosine {c} on {text:?} alone");
        assert!(
            cosine(&single[0], &batched[i]) > 0.99999,
            "batching changed {text:?}"
        );
    }
    for v in &batched {
        let norm: f64 = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "not unit length: {norm}");
    }
}

/// The weights browsers fetch: every f32 tensor rounded to f16 (half the bytes). The model built
/// from them still reaches cosine ≥ 0.999 with sentence-transformers on every text, and the
/// conversion is deterministic (the package pins the file's SHA-256).
#[test]
fn f16_weights_keep_the_reference_cosine() {
    let (r, want) = reference();
    let dir = Embedder::default_dir().unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let f32_weights = read("model.safetensors");
    let f16 = edgenet_embed::weights::to_f16(&f32_weights).unwrap();
    assert!(
        f16.len() * 100 < f32_weights.len() * 51,
        "{} bytes",
        f16.len()
    );
    assert_eq!(
        f16,
        edgenet_embed::weights::to_f16(&f32_weights).unwrap(),
        "deterministic"
    );
    let (config, sentence, tokenizer) = (
        read("config.json"),
        read("sentence_bert_config.json"),
        read("tokenizer.json"),
    );
    let model = Embedder::from_files(&edgenet_embed::ModelFiles {
        config: &config,
        sentence_config: Some(&sentence),
        tokenizer: &tokenizer,
        weights: &f16,
    })
    .unwrap();
    let texts: Vec<&str> = r.texts.iter().map(String::as_str).collect();
    let got = model.embed_threads(&texts, 2);
    let (min, text) = worst(&got, &want, &r.texts);
    eprintln!(
        "f16 weights: worst cosine {min:.7} on {:?}",
        text.chars().take(60).collect::<String>()
    );
    assert!(min >= 0.999, "cosine {min} on {text:?}");
}
