//! `edgenet-wasm-embed`: the embedding model in the browser, in a module of its own (the model's
//! code and tables would otherwise weigh on every page). One compute Worker loads it when the
//! first text task arrives, with the model's files fetched from the relay and checked against
//! the package's pinned SHA-256 (`pkg/src/models.js`).
//!
//! - `Model`: all-MiniLM-L6-v2 built from its files' bytes (`edgenet-embed`);
//! - `TextRun`: a text kind's task (one of `edgenet_embed::task::KINDS`) run one slice of texts at a time.
//!
//! An adapter only: errors are `JsError`s whose message starts with the code.
#![allow(unsafe_code)] // wasm-bindgen's generated glue

use edgenet_core::ErrorCode;
use edgenet_core::task::TaskKind;
use edgenet_embed::{Embedder, ModelFiles};
use wasm_bindgen::prelude::*;

fn js_error<E: ErrorCode + core::fmt::Display>(err: E) -> JsError {
    JsError::new(&format!("{}: {err}", err.code()))
}

/// A loaded model.
#[wasm_bindgen]
pub struct Model {
    embedder: Embedder,
}

#[wasm_bindgen]
impl Model {
    /// Builds the model from `config.json`, `sentence_bert_config.json`, `tokenizer.json` and
    /// the safetensors weights (f32 or f16); throws EN-411/412/413 when one is not what it
    /// should be. The weights' bytes are copied in and dropped once the model is built.
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: &[u8],
        sentence_config: &[u8],
        tokenizer: &[u8],
        weights: &[u8],
    ) -> Result<Model, JsError> {
        let embedder = Embedder::from_files(&ModelFiles {
            config,
            sentence_config: Some(sentence_config),
            tokenizer,
            weights,
        })
        .map_err(js_error)?;
        Ok(Self { embedder })
    }

    /// Width of the embeddings.
    pub fn dim(&self) -> usize {
        self.embedder.dim()
    }

    /// The embedding of one text (for the module's own checks and the benchmark).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.embedder.embed(&[text]).pop().unwrap_or_default()
    }

    /// The embeddings of several texts in one batch, row-major (the benchmark's batch of 32).
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(&self, texts: Vec<String>) -> Vec<f32> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.embedder.embed(&refs).concat()
    }

    /// The token ids the model sees for `text`.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.embedder.tokenize(text)
    }
}

/// A text task being run slice by slice.
#[wasm_bindgen]
pub struct TextRun {
    run: edgenet_embed::task::TextRun,
}

#[wasm_bindgen]
impl TextRun {
    /// Decodes `payload` for `kind` (a text kind's name); throws
    /// EN-140/141/142/143.
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, payload: &[u8]) -> Result<TextRun, JsError> {
        let kind = TaskKind::from_name(kind)
            .filter(|k| k.needs_model())
            .ok_or_else(|| JsError::new(&format!("EN-142: {kind:?} is not a text task")))?;
        Ok(Self {
            run: edgenet_embed::task::TextRun::new(kind, payload).map_err(js_error)?,
        })
    }

    /// Texts not yet embedded.
    #[wasm_bindgen(js_name = unitsLeft)]
    pub fn units_left(&self) -> u32 {
        self.run.units_left()
    }

    /// Embeds up to `units` more texts with `model`; returns whether the task finished.
    pub fn step(&mut self, model: &Model, units: u32) -> bool {
        self.run.step(&model.embedder, units);
        self.run.result().is_some()
    }

    /// The next up to `units` texts, to embed on the GPU ([`GpuModel`]).
    #[wasm_bindgen(js_name = nextTexts)]
    pub fn next_texts(&self, units: u32) -> Vec<String> {
        self.run.next_texts(units)
    }

    /// The vectors of those texts, row-major, `dim` wide; returns whether the task finished.
    pub fn push(&mut self, flat: Vec<f32>, dim: usize) -> bool {
        let rows = flat.chunks_exact(dim.max(1)).map(<[f32]>::to_vec).collect();
        self.run.push(rows, dim);
        self.run.result().is_some()
    }

    /// The encoded result once finished, else `undefined`.
    pub fn result(&self) -> Option<Vec<u8>> {
        self.run.result().map(<[u8]>::to_vec)
    }
}

/// The module's matmul backend (`"wasm-simd128"` when built with SIMD, as the package is).
#[wasm_bindgen]
pub fn backend() -> String {
    edgenet_kernels::nn::linear::backend().into()
}

/// The model on WebGPU (the `webgpu` build only).
#[cfg(feature = "webgpu")]
#[wasm_bindgen]
pub struct GpuModel {
    inner: std::rc::Rc<edgenet_embed::gpu::GpuEmbedder>,
}

#[cfg(feature = "webgpu")]
#[wasm_bindgen]
impl GpuModel {
    /// Opens WebGPU and builds the model there from its files; resolves to `undefined` when the
    /// browser has no adapter. Throws EN-411/412/413 for bad files.
    pub async fn open(
        config: Vec<u8>,
        sentence_config: Vec<u8>,
        tokenizer: Vec<u8>,
        weights: Vec<u8>,
    ) -> Result<Option<GpuModel>, JsError> {
        let Some(gpu) = edgenet_kernels::gpu::Gpu::new_async().await else {
            return Ok(None);
        };
        let files = ModelFiles {
            config: &config,
            sentence_config: Some(&sentence_config),
            tokenizer: &tokenizer,
            weights: &weights,
        };
        let inner = edgenet_embed::gpu::GpuEmbedder::from_files(gpu, &files).map_err(js_error)?;
        Ok(Some(Self {
            inner: std::rc::Rc::new(inner),
        }))
    }

    /// The adapter's name.
    pub fn adapter(&self) -> String {
        self.inner.adapter().into()
    }

    /// Width of the embeddings.
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// The embeddings of `texts`, row-major (a promise: the GPU answers asynchronously).
    pub fn embed(&self, texts: Vec<String>) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = inner
                .embed_async(&refs)
                .await
                .map_err(|e| JsValue::from(js_error(e)))?;
            Ok(js_sys::Float32Array::from(vectors.concat().as_slice()).into())
        })
    }
}
