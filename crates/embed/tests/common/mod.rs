//! The sentence-transformers fixture, as the model tests read it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

/// `fixtures/minilm_reference.json` (written by `scripts/make_embedding_fixture.py`).
#[derive(serde::Deserialize)]
pub(crate) struct Reference {
    pub(crate) max_seq_length: usize,
    pub(crate) dim: usize,
    pub(crate) texts: Vec<String>,
    pub(crate) token_ids: Vec<Vec<u32>>,
    embeddings_f32le_base64: String,
}

/// The fixture and its vectors, one per text.
pub(crate) fn reference() -> (Reference, Vec<Vec<f32>>) {
    let r: Reference =
        serde_json::from_str(include_str!("../fixtures/minilm_reference.json")).unwrap();
    let bytes = data_encoding::BASE64
        .decode(r.embeddings_f32le_base64.as_bytes())
        .unwrap();
    let flat: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let vectors = flat.chunks_exact(r.dim).map(<[f32]>::to_vec).collect();
    (r, vectors)
}
