//! The encoder on the GPU (feature `gpu`): the WGSL kernels of `edgenet_kernels::gpu::nn` with
//! the weights uploaded once, and each text one recorded graph — the embedding layer norm, six
//! layers of fused QKV, attention, output, add & norm, GELU feed-forward, add & norm, then
//! pooling — read back as one 384-float vector. The same code runs on Vulkan natively (lavapipe
//! in CI) and on WebGPU in a browser. `tests/gpu.rs` holds it to sentence-transformers' vectors.

use edgenet_kernels::gpu::Gpu;
use edgenet_kernels::gpu::nn::Tensor;
use edgenet_kernels::nn::ops::QkvLayout;

use crate::config::BertConfig;
use crate::embeddings::TokenEmbeddings;
use crate::weights::Weights;
use crate::{EmbedError, ModelFiles, WordPiece};

/// Texts of the lengths tasks carry (a phrase, a sentence, a paragraph of about 120 tokens) for
/// [`GpuEmbedder::compare`].
pub const PROBE_TEXTS: [&str; 3] = [
    "Idle computers, shared.",
    "A browser tab lends its idle processor to a network that embeds sentences for others.",
    "Sentence embeddings map a text to a point in a space where texts that mean the same \
     thing are close together: a search engine compares a query's point with its documents' \
     points, a recommender compares what a reader liked with what it could show next, and a \
     router sends a task to the agent whose description is nearest to it. The encoder that \
     makes them reads the text as word pieces, lets every piece attend to every other one \
     through six layers, and averages what comes out into one vector of 384 numbers.",
];

/// What [`GpuEmbedder::compare`] measured.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// The lowest cosine between the GPU's and the CPU's vector for a probe text.
    pub worst_cosine: f64,
    /// Probe texts per second on the GPU.
    pub gpu_per_s: f64,
    /// Probe texts per second on the CPU.
    pub cpu_per_s: f64,
}

struct Layer {
    qkv_w: Tensor,
    qkv_b: Tensor,
    out_w: Tensor,
    out_b: Tensor,
    attn_norm: Tensor,
    ffn_in_w: Tensor,
    ffn_in_b: Tensor,
    ffn_out_w: Tensor,
    ffn_out_b: Tensor,
    ffn_norm: Tensor,
}

/// all-MiniLM-L6-v2 with its weights on a GPU.
pub struct GpuEmbedder {
    gpu: Gpu,
    cfg: BertConfig,
    tokenizer: WordPiece,
    tokens: TokenEmbeddings,
    embed_norm: Tensor,
    zeros: Tensor,
    layers: Vec<Layer>,
}

impl GpuEmbedder {
    /// Builds the model on `gpu` from its files.
    pub fn from_files(gpu: Gpu, files: &ModelFiles<'_>) -> Result<Self, EmbedError> {
        let cfg = BertConfig::parse(files.config, files.sentence_config)?;
        let tokenizer = WordPiece::from_json(files.tokenizer)?;
        let weights = Weights::parse(files.weights)?;
        let h = cfg.hidden;
        let up = |name: &str, shape: &[usize]| weights.get(name, shape).map(|v| gpu.tensor(&v));
        let norm = |prefix: &str| -> Result<Tensor, EmbedError> {
            let gamma = weights.get(&format!("{prefix}.weight"), &[h])?;
            let beta = weights.get(&format!("{prefix}.bias"), &[h])?;
            Ok(gpu.tensor(&[gamma, beta].concat()))
        };
        let mut layers = Vec::with_capacity(cfg.layers);
        for l in 0..cfg.layers {
            let p = format!("encoder.layer.{l}");
            let (mut w, mut b) = (Vec::with_capacity(3 * h * h), Vec::with_capacity(3 * h));
            for part in ["query", "key", "value"] {
                w.extend(weights.get(&format!("{p}.attention.self.{part}.weight"), &[h, h])?);
                b.extend(weights.get(&format!("{p}.attention.self.{part}.bias"), &[h])?);
            }
            let i = cfg.intermediate;
            layers.push(Layer {
                qkv_w: gpu.tensor(&w),
                qkv_b: gpu.tensor(&b),
                out_w: up(&format!("{p}.attention.output.dense.weight"), &[h, h])?,
                out_b: up(&format!("{p}.attention.output.dense.bias"), &[h])?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                ffn_in_w: up(&format!("{p}.intermediate.dense.weight"), &[i, h])?,
                ffn_in_b: up(&format!("{p}.intermediate.dense.bias"), &[i])?,
                ffn_out_w: up(&format!("{p}.output.dense.weight"), &[h, i])?,
                ffn_out_b: up(&format!("{p}.output.dense.bias"), &[h])?,
                ffn_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Self {
            tokens: TokenEmbeddings::load(&cfg, &weights)?,
            embed_norm: norm("embeddings.LayerNorm")?,
            zeros: gpu.tensor(&vec![0.0; cfg.max_tokens * h]),
            layers,
            tokenizer,
            cfg,
            gpu,
        })
    }

    /// Width of the embeddings.
    pub fn dim(&self) -> usize {
        self.cfg.hidden
    }

    /// The adapter it runs on.
    pub fn adapter(&self) -> &str {
        self.gpu.adapter()
    }

    /// Whether that adapter is a CPU implementation (lavapipe, SwiftShader).
    pub fn is_software(&self) -> bool {
        self.gpu.is_software()
    }

    /// Embeds [`PROBE_TEXTS`] here and on `cpu` (its matmuls on `threads`): how close the
    /// vectors are, and how fast each side is (the best of three runs, after a warm-up). A native
    /// node runs its text tasks on the GPU only when it agrees and is faster.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn compare(&self, cpu: &crate::Embedder, threads: usize) -> Result<Comparison, EmbedError> {
        use edgenet_kernels::nn::reference::cosine;
        let on_gpu = self.embed(&PROBE_TEXTS)?;
        let on_cpu = cpu.embed_threads(&PROBE_TEXTS, threads);
        let worst_cosine = on_gpu
            .iter()
            .zip(&on_cpu)
            .map(|(g, c)| cosine(g, c))
            .fold(1.0, f64::min);
        let per_s = |run: &mut dyn FnMut() -> Result<(), EmbedError>| {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let start = std::time::Instant::now();
                run()?;
                best = best.min(start.elapsed().as_secs_f64());
            }
            Ok::<_, EmbedError>(PROBE_TEXTS.len() as f64 / best.max(1e-9))
        };
        Ok(Comparison {
            worst_cosine,
            gpu_per_s: per_s(&mut || self.embed(&PROBE_TEXTS).map(drop))?,
            cpu_per_s: per_s(&mut || {
                cpu.embed_threads(&PROBE_TEXTS, threads);
                Ok(())
            })?,
        })
    }

    /// The embedding of each text (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        pollster::block_on(self.embed_async(texts))
    }

    /// The embedding of each text, one graph (one submission) per text.
    pub async fn embed_async(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            out.push(
                self.one(&self.tokenizer.encode(text, self.cfg.max_tokens))
                    .await?,
            );
        }
        Ok(out)
    }

    async fn one(&self, ids: &[u32]) -> Result<Vec<f32>, EmbedError> {
        let bad = |e: edgenet_kernels::KernelError| EmbedError::Weights(format!("GPU: {e}"));
        let (h, eps) = (self.cfg.hidden, self.cfg.layer_norm_eps);
        let n = ids.len().clamp(1, self.cfg.max_tokens);
        let mut input = vec![0.0f32; n * h];
        self.tokens.gather(ids, n, &mut input);
        let gpu = &self.gpu;
        let raw = gpu.tensor(&input);
        let (x, x1) = (gpu.scratch(n * h), gpu.scratch(n * h));
        let (qkv, ctx, attended) = (
            gpu.scratch(n * 3 * h),
            gpu.scratch(n * h),
            gpu.scratch(n * h),
        );
        let (inter, ffn) = (gpu.scratch(n * self.cfg.intermediate), gpu.scratch(n * h));
        let pooled = gpu.scratch(h);
        let layout = QkvLayout {
            stride: 3 * h,
            q_off: 0,
            k_off: h,
            v_off: 2 * h,
        };
        let mut g = gpu.graph();
        // The embedding layer norm is add & norm with a zero residual.
        let zeros = &self.zeros;
        g.add_layer_norm(&raw, zeros, h, &self.embed_norm, eps, &x)
            .map_err(bad)?;
        for l in &self.layers {
            g.linear(&x, n, &l.qkv_w, &l.qkv_b, 3 * h, false, &qkv)
                .map_err(bad)?;
            g.attention(
                &qkv,
                layout,
                n,
                self.cfg.heads,
                self.cfg.head_dim(),
                n,
                &ctx,
            )
            .map_err(bad)?;
            g.linear(&ctx, n, &l.out_w, &l.out_b, h, false, &attended)
                .map_err(bad)?;
            g.add_layer_norm(&attended, &x, h, &l.attn_norm, eps, &x1)
                .map_err(bad)?;
            g.linear(
                &x1,
                n,
                &l.ffn_in_w,
                &l.ffn_in_b,
                self.cfg.intermediate,
                true,
                &inter,
            )
            .map_err(bad)?;
            g.linear(&inter, n, &l.ffn_out_w, &l.ffn_out_b, h, false, &ffn)
                .map_err(bad)?;
            g.add_layer_norm(&ffn, &x1, h, &l.ffn_norm, eps, &x)
                .map_err(bad)?;
        }
        g.mean_pool_normalize(&x, h, n, &pooled).map_err(bad)?;
        g.read(&pooled).await.map_err(bad)
    }
}
