//! The text tasks on a loaded model: what a worker runs for `embedding` and `semantic_match`.

use edgenet_core::task::{Embedding, Embeddings, Hit, Matches, SemanticMatch, TaskKind};
use edgenet_kernels::execute::ExecuteError;

use crate::Embedder;

/// An `embedding`: one unit vector per text.
pub fn embedding(model: &Embedder, task: &Embedding, threads: usize) -> Embeddings {
    let texts: Vec<&str> = task.texts.iter().map(String::as_str).collect();
    let vectors = model.embed_threads(&texts, threads);
    Embeddings {
        dim: u32::try_from(model.dim()).unwrap_or(u32::MAX),
        vectors: vectors.into_iter().flatten().collect(),
    }
}

/// A `semantic_match`: the query and candidates embedded in one batch, candidates ranked by
/// cosine (a dot product: the vectors are unit length), best first, ties to the lower index.
pub fn semantic_match(model: &Embedder, task: &SemanticMatch, threads: usize) -> Matches {
    let texts: Vec<&str> = std::iter::once(task.query.as_str())
        .chain(task.candidates.iter().map(String::as_str))
        .collect();
    let vectors = model.embed_threads(&texts, threads);
    let (query, candidates) = vectors
        .split_first()
        .map_or((&[][..], &[][..]), |(q, c)| (q.as_slice(), c));
    let mut matches: Vec<Hit> = candidates
        .iter()
        .enumerate()
        .map(|(i, v)| Hit {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            score: edgenet_kernels::nn::ops::dot(query, v),
        })
        .collect();
    matches.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    matches.truncate(task.returned());
    Matches { matches }
}

/// Decodes a text task's payload, runs it and encodes the result.
pub fn execute(
    model: &Embedder,
    kind: TaskKind,
    payload: &[u8],
    threads: usize,
) -> Result<Vec<u8>, ExecuteError> {
    match kind {
        TaskKind::Embedding => Ok(embedding(model, &Embedding::decode(payload)?, threads).encode()),
        TaskKind::SemanticMatch => {
            Ok(semantic_match(model, &SemanticMatch::decode(payload)?, threads).encode())
        }
        _ => edgenet_kernels::execute::execute(kind, payload),
    }
}
