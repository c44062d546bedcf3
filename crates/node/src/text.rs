//! The encoder a native node runs the text kinds on (`edgenet_embed::task::KINDS`): the CPU's SIMD kernels,
//! or the WGSL encoder on the GPU when it agrees with the CPU and was measured faster at start
//! (`--text-backend auto`, the default), or because it was asked for (`--text-backend gpu`).
//!
//! A software adapter (lavapipe, SwiftShader) runs WGSL on the same cores the SIMD kernels
//! use, so `auto` does not even try it; `gpu` does, which is how tests run the GPU path on CI
//! machines without a GPU.

use std::path::{Path, PathBuf};

use edgenet_core::ErrorCode;
use edgenet_core::kinds::embedding::EMBEDDING_MIN_COSINE;
use edgenet_embed::gpu::GpuEmbedder;
use edgenet_embed::{Embedder, Encode, ModelBytes};
use edgenet_kernels::gpu::Gpu;

use crate::error::NodeError;

/// Where text tasks run (`--text-backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TextBackend {
    /// The GPU when a hardware adapter agrees with the CPU and is faster on the probe texts.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
    /// The GPU, software adapters included; an error when there is none or it disagrees.
    Gpu,
}

/// The loaded model: always on the CPU, and on the GPU when that was chosen.
pub struct TextEncoder {
    cpu: Embedder,
    gpu: Option<GpuEmbedder>,
}

impl TextEncoder {
    /// The CPU encoder (also what the test-only faults use).
    pub fn cpu(&self) -> &Embedder {
        &self.cpu
    }

    /// The GPU adapter text tasks run on, if they run on one.
    pub fn gpu_adapter(&self) -> Option<&str> {
        self.gpu.as_ref().map(GpuEmbedder::adapter)
    }
}

impl Encode for TextEncoder {
    fn dim(&self) -> usize {
        self.cpu.dim()
    }

    fn encode(&self, texts: &[&str], threads: usize) -> Vec<Vec<f32>> {
        if let Some(gpu) = &self.gpu {
            match gpu.embed(texts) {
                Ok(vectors) => return vectors,
                // A lost device or a failed readback: this task runs on the CPU instead.
                Err(e) => {
                    tracing::warn!(code = e.code(), error = %e, "GPU encoder failed; this task runs on the CPU")
                }
            }
        }
        self.cpu.encode(texts, threads)
    }
}

/// Loads the model from `dir` off the async threads (a fraction of a second: 90 MB read and
/// repacked) and picks where it runs. A missing default directory only turns the text tasks
/// off; a missing `--model-dir` (`required`) is an error.
pub async fn load(
    dir: Option<PathBuf>,
    required: bool,
    backend: TextBackend,
    threads: usize,
) -> Result<Option<TextEncoder>, NodeError> {
    let Some(dir) = dir else {
        return Ok(None);
    };
    let shown = dir.display().to_string();
    let loaded = tokio::task::spawn_blocking(move || -> Result<TextEncoder, NodeError> {
        let cpu = Embedder::load(&dir)?;
        let gpu = choose_gpu(&dir, &cpu, backend, threads)?;
        Ok(TextEncoder { cpu, gpu })
    })
    .await
    .map_err(|e| NodeError::Input(format!("model loading failed: {e}")))?;
    match loaded {
        Ok(encoder) => {
            let on = encoder.gpu_adapter().unwrap_or("cpu");
            tracing::info!(dir = %shown, backend = edgenet_kernels::nn::linear::backend(), text_backend = on, "embedding model loaded: text kinds on");
            Ok(Some(encoder))
        }
        Err(NodeError::Model(e)) if !required => {
            tracing::info!(code = e.code(), error = %e, "no embedding model: text kinds off");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The GPU encoder when `backend` and the probe say so.
fn choose_gpu(
    dir: &Path,
    cpu: &Embedder,
    backend: TextBackend,
    threads: usize,
) -> Result<Option<GpuEmbedder>, NodeError> {
    let forced = match backend {
        TextBackend::Cpu => return Ok(None),
        TextBackend::Auto => false,
        TextBackend::Gpu => true,
    };
    let unusable = |why: String| -> Result<Option<GpuEmbedder>, NodeError> {
        if forced {
            return Err(NodeError::TextGpu(why));
        }
        tracing::info!(reason = %why, "text tasks run on the CPU");
        Ok(None)
    };
    let Some(gpu) = Gpu::new() else {
        return unusable("no GPU adapter".into());
    };
    if gpu.is_software() && !forced {
        return unusable(format!(
            "{} is a software adapter (it runs on the CPU's cores)",
            gpu.adapter()
        ));
    }
    let model = GpuEmbedder::from_files(gpu, &ModelBytes::read(dir)?.files())?;
    let c = model.compare(cpu, threads)?;
    tracing::info!(
        adapter = model.adapter(),
        worst_cosine = c.worst_cosine,
        gpu_per_s = c.gpu_per_s,
        cpu_per_s = c.cpu_per_s,
        "GPU encoder probed"
    );
    if c.worst_cosine < EMBEDDING_MIN_COSINE {
        return unusable(format!(
            "the GPU's vectors are off (cosine {:.6} to the CPU's, under {EMBEDDING_MIN_COSINE})",
            c.worst_cosine
        ));
    }
    if !forced && c.gpu_per_s <= c.cpu_per_s {
        return unusable(format!(
            "the GPU is slower ({:.1} against {:.1} texts/s)",
            c.gpu_per_s, c.cpu_per_s
        ));
    }
    Ok(Some(model))
}
