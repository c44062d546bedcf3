//! Task payloads and results between the shim's plain JS values and core's encodings.

use edgenet_core::kinds::compression::{CompressedVectors, Compression, Quantization};
use edgenet_core::kinds::custom_wasm::{CustomWasm, WasmEnd, WasmRuns};
use edgenet_core::kinds::embedding::{Embedding, Embeddings};
use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::semantic_match::{Matches, SemanticMatch};
use edgenet_core::kinds::vector_search::{KnnResult, SearchMetric, VectorSearch};
use wasm_bindgen::prelude::*;

use crate::js::Obj;
use crate::js_error;

/// Encodes a `vector_search` payload (row-major `queries` and `database`); throws EN-141 when a
/// shape or limit is off.
#[wasm_bindgen(js_name = encodeVectorSearch)]
pub fn encode_vector_search(
    metric: &str,
    dim: u32,
    k: u32,
    queries: Vec<f32>,
    database: Vec<f32>,
) -> Result<Vec<u8>, JsError> {
    let metric = SearchMetric::from_name(metric).ok_or_else(|| {
        JsError::new(&format!(
            "EN-141: metric is \"dot\", \"cosine\" or \"l2\", got {metric:?}"
        ))
    })?;
    VectorSearch {
        metric,
        dim,
        k,
        queries,
        database,
    }
    .encode()
    .map_err(js_error)
}

/// Decodes a `vector_search` result into flat arrays: `{counts, indices, scores}` where query `q`'s
/// hits are the next `counts[q]` entries, best first.
#[wasm_bindgen(js_name = decodeKnnResult)]
pub fn decode_knn_result(bytes: &[u8]) -> Result<JsValue, JsError> {
    let result = KnnResult::decode(bytes).map_err(js_error)?;
    let counts: Vec<u32> = result.hits.iter().map(|q| q.len() as u32).collect();
    let indices: Vec<u32> = result.hits.iter().flatten().map(|h| h.index).collect();
    let scores: Vec<f32> = result.hits.iter().flatten().map(|h| h.score).collect();
    Ok(Obj::new("knn")
        .set("counts", js_sys::Uint32Array::from(counts.as_slice()))
        .set("indices", js_sys::Uint32Array::from(indices.as_slice()))
        .set("scores", js_sys::Float32Array::from(scores.as_slice()))
        .into())
}

/// Encodes an `encryption` payload (32-byte key, 12-byte nonce); throws EN-141 when a length or
/// limit is off. Its result is the ciphertext with the 16-byte tag.
#[wasm_bindgen(js_name = encodeEncryption)]
pub fn encode_encryption(
    key: &[u8],
    nonce: &[u8],
    aad: Vec<u8>,
    plaintext: Vec<u8>,
) -> Result<Vec<u8>, JsError> {
    let bad = |what: &str, want: usize, got: usize| {
        JsError::new(&format!("EN-141: {what} is {want} bytes, got {got}"))
    };
    Encryption {
        key: key.try_into().map_err(|_| bad("key", 32, key.len()))?,
        nonce: nonce
            .try_into()
            .map_err(|_| bad("nonce", 12, nonce.len()))?,
        aad,
        plaintext,
    }
    .encode()
    .map_err(js_error)
}

/// Encodes a `compression` payload (`mode` is `"int8"` or `"binary"`); throws EN-141 when a shape
/// or limit is off.
#[wasm_bindgen(js_name = encodeCompression)]
pub fn encode_compression(mode: &str, dim: u32, vectors: Vec<f32>) -> Result<Vec<u8>, JsError> {
    let mode = Quantization::from_name(mode).ok_or_else(|| {
        JsError::new(&format!(
            "EN-141: mode is \"int8\" or \"binary\", got {mode:?}"
        ))
    })?;
    Compression { mode, dim, vectors }
        .encode()
        .map_err(js_error)
}

/// Decodes a `compression` result: `{mode, dim, rows, scales, codes}` (see core's
/// `CompressedVectors` for the layout of `codes`).
#[wasm_bindgen(js_name = decodeCompressed)]
pub fn decode_compressed(bytes: &[u8]) -> Result<JsValue, JsError> {
    let c = CompressedVectors::decode(bytes).map_err(js_error)?;
    let mode = match c.mode {
        Quantization::Int8 => "int8",
        Quantization::Binary => "binary",
    };
    Ok(Obj::new("compressed")
        .set("mode", mode)
        .set("dim", c.dim)
        .set("rows", c.rows)
        .set("scales", js_sys::Float32Array::from(c.scales.as_slice()))
        .set("codes", js_sys::Uint8Array::from(c.codes.as_slice()))
        .into())
}

/// Encodes an `embedding` payload; throws EN-141 (limits) or EN-143 (a model not served).
#[wasm_bindgen(js_name = encodeEmbedding)]
pub fn encode_embedding(model: String, texts: Vec<String>) -> Result<Vec<u8>, JsError> {
    Embedding { model, texts }.encode().map_err(js_error)
}

/// Decodes an `embedding` result: `{dim, vectors}` with the vectors row-major in one array.
#[wasm_bindgen(js_name = decodeEmbeddings)]
pub fn decode_embeddings(bytes: &[u8]) -> Result<JsValue, JsError> {
    let e = Embeddings::decode(bytes).map_err(js_error)?;
    Ok(Obj::new("embeddings")
        .set("dim", e.dim)
        .set("vectors", js_sys::Float32Array::from(e.vectors.as_slice()))
        .into())
}

/// Encodes a `semantic_match` payload (`top_k` 0 returns every candidate).
#[wasm_bindgen(js_name = encodeSemanticMatch)]
pub fn encode_semantic_match(
    model: String,
    query: String,
    candidates: Vec<String>,
    top_k: u32,
) -> Result<Vec<u8>, JsError> {
    SemanticMatch {
        model,
        query,
        candidates,
        top_k,
    }
    .encode()
    .map_err(js_error)
}

/// Decodes a `semantic_match` result: `{indices, scores}`, best first.
#[wasm_bindgen(js_name = decodeMatches)]
pub fn decode_matches(bytes: &[u8]) -> Result<JsValue, JsError> {
    let m = Matches::decode(bytes).map_err(js_error)?;
    let indices: Vec<u32> = m.matches.iter().map(|h| h.index).collect();
    let scores: Vec<f32> = m.matches.iter().map(|h| h.score).collect();
    Ok(Obj::new("matches")
        .set("indices", js_sys::Uint32Array::from(indices.as_slice()))
        .set("scores", js_sys::Float32Array::from(scores.as_slice()))
        .into())
}

/// Encodes a `custom_wasm` payload: the module, its inputs, fuel per input and memory in MiB;
/// throws EN-141 past a bound (docs/custom-wasm.md, "The task").
#[wasm_bindgen(js_name = encodeCustomWasm)]
pub fn encode_custom_wasm(
    module: Vec<u8>,
    inputs: Vec<js_sys::Uint8Array>,
    fuel: f64,
    memory_mib: u32,
) -> Result<Vec<u8>, JsError> {
    CustomWasm {
        module,
        inputs: inputs.iter().map(js_sys::Uint8Array::to_vec).collect(),
        fuel: fuel as u64,
        memory_mib,
    }
    .encode()
    .map_err(js_error)
}

/// Decodes a `custom_wasm` result: `{runs, fuelUsed}`, each run `{output}` or `{trap: 'EN-61x'}`
/// with its `fuelUsed`, in input order.
#[wasm_bindgen(js_name = decodeWasmRuns)]
pub fn decode_wasm_runs(bytes: &[u8]) -> Result<JsValue, JsError> {
    let r = WasmRuns::decode(bytes).map_err(js_error)?;
    let runs = js_sys::Array::new();
    for run in &r.runs {
        let o = js_sys::Object::new();
        let (key, value): (&str, JsValue) = match &run.end {
            WasmEnd::Output(b) => ("output", js_sys::Uint8Array::from(&b[..]).into()),
            WasmEnd::Trap(code) => ("trap", format!("EN-{code}").into()),
        };
        let _ = js_sys::Reflect::set(&o, &key.into(), &value);
        let _ = js_sys::Reflect::set(&o, &"fuelUsed".into(), &(run.fuel_used as f64).into());
        runs.push(&o);
    }
    Ok(Obj::new("runs")
        .set("runs", runs)
        .set("fuelUsed", r.fuel_used() as f64)
        .into())
}
