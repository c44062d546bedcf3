//! The encoder on the GPU (WGSL, feature `gpu`) against sentence-transformers on every fixture
//! text: lavapipe in CI (about 150 s for the 213 texts: it runs WGSL on the CPU), a real GPU
//! elsewhere; skipped, saying why, only without any adapter.
#![cfg(feature = "gpu")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_embed::gpu::GpuEmbedder;
use edgenet_embed::{Embedder, ModelBytes};
use edgenet_kernels::gpu::Gpu;
use edgenet_kernels::nn::reference::cosine;

mod common;

#[test]
fn the_gpu_encoder_matches_sentence_transformers() {
    let Some(gpu) = Gpu::new() else {
        eprintln!("SKIPPED: no GPU adapter at all (install mesa-vulkan-drivers for lavapipe)");
        return;
    };
    let (r, vectors) = common::reference();
    let dir = Embedder::default_dir().unwrap();
    let bytes = ModelBytes::read(&dir).unwrap_or_else(|e| panic!("{e} (run scripts/setup.sh)"));
    let files = bytes.files();
    let model = GpuEmbedder::from_files(gpu, &files).unwrap();
    let cpu = Embedder::from_files(&files).unwrap();
    let texts: Vec<&str> = r.texts.iter().map(String::as_str).collect();
    let got = model.embed(&texts).unwrap();
    let on_cpu = cpu.embed(&texts);
    let mut worst = (1.0f64, 1.0f64);
    for (i, (g, c)) in got.iter().zip(&on_cpu).enumerate() {
        let want = &vectors[i];
        let (to_reference, to_cpu) = (cosine(g, want), cosine(g, c));
        assert!(
            to_reference >= 0.999,
            "cosine {to_reference} on {:?}",
            r.texts[i]
        );
        worst = (worst.0.min(to_reference), worst.1.min(to_cpu));
    }
    eprintln!(
        "WGSL encoder on {}: worst cosine {:.7} to sentence-transformers, {:.7} to the CPU path, over {} texts",
        model.adapter(),
        worst.0,
        worst.1,
        texts.len()
    );
}
