//! `edgenet-embed`: sentence embeddings for the text kinds ([`task::KINDS`]).
//!
//! all-MiniLM-L6-v2 (sentence-transformers) as a BERT encoder on the kernels' transformer path
//! ([`edgenet_kernels::nn`]: packed AVX2 / wasm `simd128` matmuls), with its WordPiece tokenizer
//! and sentence-transformers' mean pooling and L2 normalization. Everything is read from the
//! model's own files — `config.json`, `sentence_bert_config.json`, `tokenizer.json`,
//! `model.safetensors` — as bytes, so the same code runs natively and in a browser Worker.
//!
//! `tests/reference.rs` checks it against sentence-transformers' own output (a committed fixture
//! made by `scripts/make_embedding_fixture.py`): cosine ≥ 0.999 on every text.

pub mod bert;
pub mod config;
mod embeddings;
mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod fuzz_targets;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod task;
pub mod tokenizer;
pub mod weights;

pub use bert::Bert;
pub use config::BertConfig;
pub use error::EmbedError;
pub use tokenizer::WordPiece;

pub use edgenet_model_files::MINILM;

/// The files of a model, as bytes.
pub struct ModelFiles<'a> {
    /// Hugging Face's `config.json`.
    pub config: &'a [u8],
    /// sentence-transformers' `sentence_bert_config.json` (sets the truncation length), if any.
    pub sentence_config: Option<&'a [u8]>,
    /// `tokenizer.json`.
    pub tokenizer: &'a [u8],
    /// `model.safetensors`.
    pub weights: &'a [u8],
}

/// A tokenizer and an encoder: texts in, unit vectors out.
pub struct Embedder {
    tokenizer: WordPiece,
    bert: Bert,
}

impl Embedder {
    /// Builds the model from its files.
    pub fn from_files(files: &ModelFiles<'_>) -> Result<Self, EmbedError> {
        let cfg = BertConfig::parse(files.config, files.sentence_config)?;
        let tokenizer = WordPiece::from_json(files.tokenizer)?;
        let weights = weights::Weights::parse(files.weights)?;
        Ok(Self {
            tokenizer,
            bert: Bert::load(cfg, &weights)?,
        })
    }

    /// Reads the model from a directory laid out as sentence-transformers saves one.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(dir: &std::path::Path) -> Result<Self, EmbedError> {
        Self::from_files(&ModelBytes::read(dir)?.files())
    }

    /// Where `scripts/setup.sh` puts all-MiniLM-L6-v2 (`edgenet_model_files::default_dir`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn default_dir() -> Option<std::path::PathBuf> {
        edgenet_model_files::default_dir()
    }

    /// The token ids of `text` as the encoder sees them (truncated to the model's length).
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.bert.config().max_tokens)
    }

    /// The embedding of each text: unit vectors of the model's width.
    pub fn embed(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        self.embed_threads(texts, 1)
    }

    /// Like [`embed`](Self::embed), with the matmuls on `threads` threads.
    pub fn embed_threads(&self, texts: &[&str], threads: usize) -> Vec<Vec<f32>> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenize(t)).collect();
        self.bert.embed(&ids, threads)
    }

    /// The mean of each text's word embeddings, normalized: a far cheaper "model" with no
    /// encoder. Nothing serves it; tests use it as the shortcut a dishonest worker might return,
    /// which verification must outvote.
    pub fn embed_static(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        texts
            .iter()
            .map(|t| {
                let mut v = self.bert.static_embedding(&self.tokenize(t));
                edgenet_kernels::nn::ops::l2_normalize(&mut v);
                v
            })
            .collect()
    }

    /// Width of the embeddings.
    pub fn dim(&self) -> usize {
        self.bert.config().hidden
    }
}

/// A model directory's files read into memory (what [`Embedder::load`] and a node's GPU
/// encoder build from).
pub struct ModelBytes {
    config: Vec<u8>,
    sentence_config: Option<Vec<u8>>,
    tokenizer: Vec<u8>,
    weights: Vec<u8>,
}

impl ModelBytes {
    /// Reads `config.json`, `tokenizer.json`, `model.safetensors` and, if it is there,
    /// `sentence_bert_config.json` from `dir`.
    pub fn read(dir: &std::path::Path) -> Result<Self, EmbedError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| EmbedError::Missing {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        };
        Ok(Self {
            sentence_config: read("sentence_bert_config.json").ok(),
            config: read("config.json")?,
            tokenizer: read("tokenizer.json")?,
            weights: read("model.safetensors")?,
        })
    }

    /// The files, borrowed.
    pub fn files(&self) -> ModelFiles<'_> {
        ModelFiles {
            config: &self.config,
            sentence_config: self.sentence_config.as_deref(),
            tokenizer: &self.tokenizer,
            weights: &self.weights,
        }
    }
}

/// What the text tasks ([`task`]) embed with: [`Embedder`] on the CPU, or a native node's
/// encoder that runs on the GPU when that was measured faster.
pub trait Encode: Sync {
    /// Width of the embeddings.
    fn dim(&self) -> usize;
    /// The unit-length embedding of each text, the CPU's matmuls on `threads` threads.
    fn encode(&self, texts: &[&str], threads: usize) -> Vec<Vec<f32>>;
}

impl Encode for Embedder {
    fn dim(&self) -> usize {
        Embedder::dim(self)
    }

    fn encode(&self, texts: &[&str], threads: usize) -> Vec<Vec<f32>> {
        self.embed_threads(texts, threads)
    }
}
