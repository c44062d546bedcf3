//! The BERT encoder's forward pass, then sentence-transformers' mean pooling and normalization.
//!
//! Texts are not padded: the tokens of every text of a batch are stacked into one matrix, so the
//! linear layers (almost all of the work) run as one large matmul, and attention runs text by
//! text over exactly its own tokens. This computes what a padded batch with an attention mask
//! computes, without the padding's wasted rows.

use edgenet_kernels::nn::PackedLinear;
use edgenet_kernels::nn::ops::{self, QkvLayout};

use crate::EmbedError;
use crate::config::BertConfig;
use crate::embeddings::TokenEmbeddings;
use crate::weights::Weights;

/// Token rows per pass through the encoder: bounds the activations (the feed-forward block's
/// buffer is `rows × intermediate` floats: 12 MiB for MiniLM) whatever the batch.
const MAX_ROWS_PER_PASS: usize = 2048;

/// Layer norm parameters.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// One encoder layer.
struct Layer {
    /// Query, key and value fused into one `3·hidden`-wide layer.
    qkv: PackedLinear,
    attn_out: PackedLinear,
    attn_norm: Norm,
    ffn_in: PackedLinear,
    ffn_out: PackedLinear,
    ffn_norm: Norm,
}

/// A loaded BERT encoder.
pub struct Bert {
    cfg: BertConfig,
    tokens: TokenEmbeddings,
    embed_norm: Norm,
    layers: Vec<Layer>,
}

impl Bert {
    /// Loads the encoder's tensors (Hugging Face's `BertModel` names) from `weights`.
    pub fn load(cfg: BertConfig, weights: &Weights<'_>) -> Result<Self, EmbedError> {
        let h = cfg.hidden;
        let norm = |prefix: &str| -> Result<Norm, EmbedError> {
            Ok(Norm {
                gamma: weights.get(&format!("{prefix}.weight"), &[h])?,
                beta: weights.get(&format!("{prefix}.bias"), &[h])?,
            })
        };
        let linear = |prefix: &str, out: usize, inp: usize| -> Result<PackedLinear, EmbedError> {
            let w = weights.get(&format!("{prefix}.weight"), &[out, inp])?;
            let b = weights.get(&format!("{prefix}.bias"), &[out])?;
            PackedLinear::new(&w, out, inp, &b).map_err(|e| EmbedError::Weights(e.to_string()))
        };
        let mut layers = Vec::with_capacity(cfg.layers);
        for l in 0..cfg.layers {
            let p = format!("encoder.layer.{l}");
            let mut w = Vec::with_capacity(3 * h * h);
            let mut b = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                w.extend(weights.get(&format!("{p}.attention.self.{part}.weight"), &[h, h])?);
                b.extend(weights.get(&format!("{p}.attention.self.{part}.bias"), &[h])?);
            }
            let qkv = PackedLinear::new(&w, 3 * h, h, &b)
                .map_err(|e| EmbedError::Weights(e.to_string()))?;
            layers.push(Layer {
                qkv,
                attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                ffn_in: linear(&format!("{p}.intermediate.dense"), cfg.intermediate, h)?,
                ffn_out: linear(&format!("{p}.output.dense"), h, cfg.intermediate)?,
                ffn_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Self {
            tokens: TokenEmbeddings::load(&cfg, weights)?,
            embed_norm: norm("embeddings.LayerNorm")?,
            layers,
            cfg,
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// The pooled, unit-length embedding of each token sequence (ids as the tokenizer made them,
    /// each at most `max_tokens` long; ids past the vocabulary count as `[UNK]`'s neighbour 0).
    /// The linear layers run on `threads` threads.
    pub fn embed(&self, sequences: &[Vec<u32>], threads: usize) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(sequences.len());
        let mut start = 0;
        while start < sequences.len() {
            // A pass takes sequences until the row budget is spent (always at least one).
            let mut end = start;
            let mut rows = 0;
            while end < sequences.len() {
                let len = sequences[end].len().clamp(1, self.cfg.max_tokens);
                if end > start && rows + len > MAX_ROWS_PER_PASS {
                    break;
                }
                rows += len;
                end += 1;
            }
            out.extend(self.pass_threads(&sequences[start..end], threads));
            start = end;
        }
        out
    }

    /// One pass; with several threads and several texts, the texts are split into groups of
    /// about equal tokens, one per thread, each a pass on one thread (a text's own matmuls split
    /// across threads gain less: attention and GELU between them stay on one). One text splits
    /// its matmuls instead.
    fn pass_threads(&self, sequences: &[Vec<u32>], requested: usize) -> Vec<Vec<f32>> {
        let threads = requested.min(sequences.len());
        #[cfg(not(target_arch = "wasm32"))]
        if threads == 1 && requested > 1 {
            // The pass runs on one of rayon's workers, so that each split matmul is queued
            // where the other worker, spinning between them, takes its half at once. From
            // outside the pool every split put this thread to sleep on a lock and woke it (a
            // few syscalls; 24 matmuls a text): a short text gained 1.1× from a second thread,
            // against onnxruntime's 1.5× (its pool spins too).
            return rayon::scope(|_| self.pass(sequences, requested));
        }
        if threads <= 1 || cfg!(target_arch = "wasm32") {
            return self.pass(sequences, requested);
        }
        let total: usize = sequences.iter().map(Vec::len).sum();
        let mut groups = Vec::with_capacity(threads);
        let (mut from, mut tokens) = (0, 0);
        for (i, s) in sequences.iter().enumerate() {
            tokens += s.len();
            if tokens * threads >= total * (groups.len() + 1) && groups.len() + 1 < threads {
                groups.push(from..i + 1);
                from = i + 1;
            }
        }
        groups.push(from..sequences.len());
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            let parts: Vec<Vec<Vec<f32>>> = groups
                .into_par_iter()
                .map(|g| self.pass(&sequences[g], 1))
                .collect();
            parts.into_iter().flatten().collect()
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = groups;
            self.pass(sequences, 1)
        }
    }

    /// The mean of the word embeddings of `ids` (see [`crate::Embedder::embed_static`]).
    pub fn static_embedding(&self, ids: &[u32]) -> Vec<f32> {
        self.tokens.word_sum(ids)
    }

    fn pass(&self, sequences: &[Vec<u32>], threads: usize) -> Vec<Vec<f32>> {
        let h = self.cfg.hidden;
        let lens: Vec<usize> = sequences
            .iter()
            .map(|s| s.len().clamp(1, self.cfg.max_tokens))
            .collect();
        let rows: usize = lens.iter().sum();
        let mut x = vec![0.0f32; rows * h];
        let mut row = 0;
        for (seq, &len) in sequences.iter().zip(&lens) {
            self.tokens
                .gather(seq, len, &mut x[row * h..(row + len) * h]);
            row += len;
        }
        let eps = self.cfg.layer_norm_eps;
        ops::layer_norm(
            &mut x,
            h,
            &self.embed_norm.gamma,
            &self.embed_norm.beta,
            eps,
        );

        let mut qkv = vec![0.0f32; rows * 3 * h];
        let mut context = vec![0.0f32; rows * h];
        let mut attended = vec![0.0f32; rows * h];
        let mut inter = vec![0.0f32; rows * self.cfg.intermediate];
        let layout = QkvLayout {
            stride: 3 * h,
            q_off: 0,
            k_off: h,
            v_off: 2 * h,
        };
        for layer in &self.layers {
            layer.qkv.forward_threads(&x, rows, &mut qkv, threads);
            let mut first = 0;
            for &len in &lens {
                ops::attention_threads(
                    &qkv[first * 3 * h..(first + len) * 3 * h],
                    layout,
                    len,
                    self.cfg.heads,
                    self.cfg.head_dim(),
                    len,
                    &mut context[first * h..(first + len) * h],
                    threads,
                );
                first += len;
            }
            layer
                .attn_out
                .forward_threads(&context, rows, &mut attended, threads);
            let n = &layer.attn_norm;
            ops::add_layer_norm(&mut attended, &x, h, &n.gamma, &n.beta, eps);
            // `attended` is now the block's input to the feed-forward; `x` is free for its output.
            layer
                .ffn_in
                .forward_threads(&attended, rows, &mut inter, threads);
            ops::gelu_threads(&mut inter, threads);
            layer.ffn_out.forward_threads(&inter, rows, &mut x, threads);
            let n = &layer.ffn_norm;
            ops::add_layer_norm(&mut x, &attended, h, &n.gamma, &n.beta, eps);
        }

        let mut first = 0;
        lens.iter()
            .map(|&len| {
                let mut v = ops::mean_pool(&x[first * h..(first + len) * h], h, len);
                ops::l2_normalize(&mut v);
                first += len;
                v
            })
            .collect()
    }
}
