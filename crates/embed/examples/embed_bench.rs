//! Sentences per second of our encoder, for `scripts/bench.sh embed` (which runs
//! sentence-transformers and onnxruntime on the same texts in the same run).
//!
//! `cargo run --release -p edgenet-embed --example embed_bench -- MODEL_DIR TEXTS_JSON`
//! where TEXTS_JSON is `{"short": [...], "long": [...]}`; prints one JSON line per measurement.
//! `embed_bench --f16 MODEL_DIR OUT` writes the f16 weights the relay serves to browsers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark tool: failing loudly is the point

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args[1] == "--f16" {
        let dir = std::path::Path::new(&args[2]);
        let f32_weights = std::fs::read(dir.join("model.safetensors")).unwrap();
        std::fs::write(
            &args[3],
            edgenet_embed::weights::to_f16(&f32_weights).unwrap(),
        )
        .unwrap();
        return;
    }
    let model = edgenet_embed::Embedder::load(std::path::Path::new(&args[1])).unwrap();
    let corpus: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&args[2]).unwrap()).unwrap();
    for set in ["short", "long"] {
        let texts: Vec<&str> = corpus[set]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let tokens = model.tokenize(texts[0]).len();
        for threads in [1, 2] {
            for batch in [1usize, 32] {
                let _ = model.embed_threads(&texts[..batch], threads); // warm-up
                let start = Instant::now();
                let mut done = 0;
                while done < texts.len() || start.elapsed().as_secs_f64() < 2.0 {
                    let from = done % texts.len();
                    let chunk = &texts[from..(from + batch).min(texts.len())];
                    std::hint::black_box(model.embed_threads(chunk, threads));
                    done += chunk.len();
                }
                let rate = done as f64 / start.elapsed().as_secs_f64();
                println!(
                    "{}",
                    serde_json::json!({"impl": "edgenet", "backend": edgenet_kernels::nn::linear::backend(),
                        "set": set, "tokens": tokens, "threads": threads, "batch": batch, "per_s": rate})
                );
            }
        }
    }
}
