//! `edgenet-wasm-collections`: a page's client for shared vector collections, in a module of its
//! own: the protocol module every page loads stays within its size budget, and a page that never
//! uses a collection never downloads this. The coordinator loads it on the first collection task.
//!
//! - `createCollection`: an owner-signed spec and the message that creates it;
//! - `readCreated`: the relay's answer to that message;
//! - `planInsert`: ids and vectors checked, cut into per-shard batches and signed
//!   (`collection::plan_inserts`, the same cut as the native client's);
//! - `encodeShardSearch`, `readInsertAnswer`, `mergeAnswers`: a shard's search, and what shards
//!   answered, merged into each query's top k (`collection::merge_top_k`).
//!
//! An adapter only: errors are `JsError`s whose message starts with the code.
#![allow(unsafe_code)] // wasm-bindgen's generated glue

use edgenet_core::collection::{
    self as col, CollectionId, CollectionSpec, ShardAnswer, ShardSearch, SignedCollection,
};
use edgenet_core::kinds::vector_search::SearchMetric;
use edgenet_core::{ErrorCode, SecretKey};
use edgenet_proto::message::{ClientMsg, CollectionDown, CollectionUp};
use wasm_bindgen::prelude::*;

fn js_error<E: ErrorCode + core::fmt::Display>(err: E) -> JsError {
    JsError::new(&format!("{}: {err}", err.code()))
}

fn secret_key(seed: &[u8]) -> Result<SecretKey, JsError> {
    let seed: &[u8; 32] = seed
        .try_into()
        .map_err(|_| JsError::new("EN-502: an identity seed is 32 bytes"))?;
    Ok(SecretKey::from_seed(seed))
}

fn collection_id(hex: &str) -> Result<CollectionId, JsError> {
    hex.parse().map_err(js_error)
}

/// A plain object built field by field (no serde: it costs size).
struct Obj(js_sys::Object);

impl Obj {
    fn new(kind: &str) -> Self {
        Self(js_sys::Object::new()).set("type", kind)
    }

    fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }
}

impl From<Obj> for JsValue {
    fn from(o: Obj) -> Self {
        o.0.into()
    }
}

/// A collection owned by the identity `secret`: `{ collection, message }`, the id (hex) and the
/// bytes to send as a collection message. Throws EN-190 when a field breaks a rule (name 1..64
/// bytes, dim 1..4096, shards 1..64, replicas 1..7) and EN-502 for an unknown metric.
#[wasm_bindgen(js_name = createCollection)]
pub fn create_collection(
    secret: &[u8],
    name: &str,
    dim: u32,
    metric: &str,
    shards: u16,
    replicas: u8,
) -> Result<JsValue, JsError> {
    let key = secret_key(secret)?;
    let metric = SearchMetric::from_name(metric).ok_or_else(|| {
        JsError::new(&format!(
            "EN-502: metric is \"dot\", \"cosine\" or \"l2\", got {metric:?}"
        ))
    })?;
    let spec = CollectionSpec::new(&key.node_id(), name, dim, metric, shards, replicas);
    let signed = SignedCollection::sign(&key, &spec).map_err(js_error)?;
    let ClientMsg::Collection(message) = CollectionUp::Create(signed).to_msg() else {
        return Err(JsError::new("EN-190: a creation is a collection message"));
    };
    Ok(Obj::new("create")
        .set("collection", spec.id().to_string())
        // What a relay that prices collections asks to be escrowed first, and under which id.
        .set("deposit", spec.id().deposit_task().to_string())
        .set("depositMicroCredits", spec.deposit() as f64)
        .set("message", js_sys::Uint8Array::from(message.as_slice()))
        .into())
}

/// The relay's answer to a creation, `{ collection, code, message }` (`code` null when it was
/// created), or `undefined` for any other collection message (those are for holders).
#[wasm_bindgen(js_name = readCreated)]
pub fn read_created(bytes: &[u8]) -> Result<JsValue, JsError> {
    Ok(match CollectionDown::decode(bytes).map_err(js_error)? {
        CollectionDown::Created {
            collection,
            code,
            message,
        } => Obj::new("created")
            .set("collection", collection.to_string())
            .set("code", code.map_or(JsValue::NULL, JsValue::from))
            .set("message", message)
            .into(),
        _ => JsValue::UNDEFINED,
    })
}

/// `ids` (integers in 0..2^53) and their `vectors` (row-major, `dim` values each) as signed
/// batches, each `{ shard, vectors, payload }` (`vectors` the batch's count), each signed to
/// follow the one before it in its shard and the first to follow the shard's state now: `counts`
/// holds each shard's vectors and batches (`[v0, b0, v1, b1, …]`) and `digests` their digests'
/// hex, one after another, as the relay's collection view shows them. Throws EN-404 (not whole
/// vectors of `dim`), EN-401 (NaN or infinity), EN-405 (an id twice), EN-502 (an id that is not
/// such an integer, or states that are not one per shard).
#[wasm_bindgen(js_name = planInsert)]
#[allow(clippy::too_many_arguments)] // one flat call across the wasm boundary
pub fn plan_insert(
    secret: &[u8],
    collection: &str,
    shards: u16,
    dim: u32,
    ids: Vec<f64>,
    vectors: Vec<f32>,
    counts: Vec<f64>,
    digests: &str,
) -> Result<js_sys::Array, JsError> {
    let key = secret_key(secret)?;
    let collection = collection_id(collection)?;
    const MAX_ID: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is exact in JS
    let ids = ids
        .iter()
        .map(|&id| {
            ((0.0..MAX_ID).contains(&id) && id.fract() == 0.0)
                .then_some(id as u64)
                .ok_or_else(|| {
                    JsError::new(&format!("EN-502: an id is an integer in 0..2^53, got {id}"))
                })
        })
        .collect::<Result<Vec<u64>, JsError>>()?;
    let planned =
        col::plan_inserts(collection, shards, dim as usize, &ids, &vectors).map_err(js_error)?;
    let bad_states = || JsError::new("EN-502: the shards' states are not one per shard");
    if counts.len() != 2 * usize::from(shards) || digests.len() != 64 * usize::from(shards) {
        return Err(bad_states());
    }
    let mut states = counts
        .chunks(2)
        .zip(digests.as_bytes().chunks(64))
        .map(|(n, d)| {
            let d = core::str::from_utf8(d).ok()?;
            col::ShardState::from_view(n[0] as u64, n[1] as u64, d)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad_states)?;
    let signed = col::sign_batches(&key, &planned, &mut states).map_err(js_error)?;
    let out = js_sys::Array::new();
    for (insert, signed) in planned.iter().zip(signed) {
        out.push(
            &Obj::new("batch")
                .set("shard", insert.shard)
                .set("vectors", insert.ids.len() as u32)
                .set(
                    "payload",
                    js_sys::Uint8Array::from(signed.encode().as_slice()),
                )
                .into(),
        );
    }
    Ok(out)
}

/// One shard's search for the `k` nearest of each query (row-major); `ef` 0 for the default.
/// Throws EN-190 when k, ef or the queries break a limit.
#[wasm_bindgen(js_name = encodeShardSearch)]
pub fn encode_shard_search(
    collection: &str,
    shard: u16,
    k: u32,
    ef: u16,
    queries: Vec<f32>,
) -> Result<Vec<u8>, JsError> {
    ShardSearch {
        collection: collection_id(collection)?,
        shard,
        k,
        ef,
        queries,
    }
    .encode()
    .map_err(js_error)
}

fn answer(bytes: &[u8]) -> Result<ShardAnswer, JsError> {
    let answer = ShardAnswer::decode(bytes).map_err(js_error)?;
    if let Some((code, message)) = &answer.refused {
        return Err(JsError::new(&format!("{code}: {message}")));
    }
    Ok(answer)
}

/// A shard's verified answer to an insert: `{ vectors, batches }`, what the shard holds now.
/// Throws the shard's refusal (EN-404, EN-405, …) when it refused the batch.
#[wasm_bindgen(js_name = readInsertAnswer)]
pub fn read_insert_answer(bytes: &[u8]) -> Result<JsValue, JsError> {
    let answer = answer(bytes)?;
    Ok(Obj::new("inserted")
        .set("vectors", answer.state.vectors as f64)
        .set("batches", answer.state.batches as f64)
        .into())
}

/// Every shard's verified answer to one search, merged: per query its `k` best `{ id, score }`,
/// closest first, ties by id (as every submitter merges). Throws a shard's refusal.
#[wasm_bindgen(js_name = mergeAnswers)]
pub fn merge_answers(answers: Vec<js_sys::Uint8Array>, k: u32) -> Result<js_sys::Array, JsError> {
    let answers = answers
        .iter()
        .map(|a| answer(&a.to_vec()))
        .collect::<Result<Vec<ShardAnswer>, JsError>>()?;
    let queries = answers.iter().map(|a| a.hits.len()).max().unwrap_or(0);
    let out = js_sys::Array::new();
    for q in 0..queries {
        let merged = col::merge_top_k(
            answers
                .iter()
                .filter_map(|a| a.hits.get(q).map(Vec::as_slice)),
            k as usize,
        );
        let hits = js_sys::Array::new();
        for h in merged {
            hits.push(
                &Obj::new("hit")
                    .set("id", h.id as f64)
                    .set("score", h.score)
                    .into(),
            );
        }
        out.push(&hits);
    }
    Ok(out)
}
