//! The text tasks on a loaded model: what a worker runs for `embedding` and `semantic_match`.

use edgenet_core::kinds::KindError;
use edgenet_core::kinds::embedding::{Embedding, Embeddings};
use edgenet_core::kinds::semantic_match::{Matches, SemanticMatch};
use edgenet_core::kinds::vector_search::Hit;
use edgenet_core::task::TaskKind;
use edgenet_kernels::execute::ExecuteError;

use crate::{Embedder, Encode};

/// An `embedding`: one unit vector per text.
pub fn embedding(model: &dyn Encode, task: &Embedding, threads: usize) -> Embeddings {
    let texts: Vec<&str> = task.texts.iter().map(String::as_str).collect();
    let vectors = model.encode(&texts, threads);
    Embeddings {
        dim: u32::try_from(model.dim()).unwrap_or(u32::MAX),
        vectors: vectors.into_iter().flatten().collect(),
    }
}

/// A `semantic_match`: the query and candidates embedded in one batch, candidates ranked by
/// cosine (a dot product: the vectors are unit length), best first, ties to the lower index.
pub fn semantic_match(model: &dyn Encode, task: &SemanticMatch, threads: usize) -> Matches {
    let texts: Vec<&str> = std::iter::once(task.query.as_str())
        .chain(task.candidates.iter().map(String::as_str))
        .collect();
    let vectors = model.encode(&texts, threads);
    match vectors.split_first() {
        Some((query, candidates)) => rank(query, candidates, task.returned()),
        None => Matches {
            matches: Vec::new(),
        },
    }
}

/// Decodes a text task's payload, runs it and encodes the result.
pub fn execute(
    model: &dyn Encode,
    kind: TaskKind,
    payload: &[u8],
    threads: usize,
) -> Result<Vec<u8>, ExecuteError> {
    match kind {
        TaskKind::EMBEDDING => Ok(embedding(model, &Embedding::decode(payload)?, threads).encode()),
        TaskKind::SEMANTIC_MATCH => {
            Ok(semantic_match(model, &SemanticMatch::decode(payload)?, threads).encode())
        }
        other => Err(ExecuteError::NotRunHere(other)),
    }
}

/// Fault injection for tests: a text task answered with the texts' static word-embedding
/// averages instead of the encoder's (the shortcut a lazy worker might take).
pub fn execute_static(
    model: &Embedder,
    kind: TaskKind,
    payload: &[u8],
) -> Result<Vec<u8>, ExecuteError> {
    let (texts, _) = TextRun::texts_of(kind, payload)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = model.embed_static(&refs);
    Ok(match kind {
        TaskKind::EMBEDDING => Embeddings {
            dim: u32::try_from(model.dim()).unwrap_or(u32::MAX),
            vectors: vectors.concat(),
        }
        .encode(),
        _ => rank(&vectors[0], &vectors[1..], vectors.len() - 1).encode(),
    })
}

/// The kinds a loaded model runs.
pub const KINDS: &[TaskKind] = &[TaskKind::EMBEDDING, TaskKind::SEMANTIC_MATCH];

/// A loaded model as an executor of the text kinds.
pub struct TextExecutor<'a> {
    /// The model.
    pub model: &'a dyn Encode,
    /// Threads one task may use.
    pub threads: usize,
}

impl edgenet_core::kinds::Executor for TextExecutor<'_> {
    fn kinds(&self) -> Vec<TaskKind> {
        KINDS.to_vec()
    }

    fn run(&self, kind: TaskKind, payload: &[u8]) -> Result<Vec<u8>, KindError> {
        execute(self.model, kind, payload, self.threads).map_err(KindError::of)
    }
}

/// A text task run in slices, so a browser's compute Worker can hold its duty cycle and stop
/// within one slice: a unit is one text (at most 256 tokens: tens of milliseconds in wasm).
/// Texts are embedded independently, so any slicing gives the vectors one batch gives.
pub struct TextRun {
    kind: TaskKind,
    texts: Vec<String>,
    top_k: usize,
    done: Vec<Vec<f32>>,
    result: Option<Vec<u8>>,
}

impl TextRun {
    /// Decodes and checks `payload`; nothing runs yet.
    pub fn new(kind: TaskKind, payload: &[u8]) -> Result<Self, ExecuteError> {
        let (texts, top_k) = Self::texts_of(kind, payload)?;
        Ok(Self {
            kind,
            done: Vec::with_capacity(texts.len()),
            texts,
            top_k,
            result: None,
        })
    }

    /// A text task's texts (a match's query first) and the matches it returns.
    fn texts_of(kind: TaskKind, payload: &[u8]) -> Result<(Vec<String>, usize), ExecuteError> {
        Ok(match kind {
            TaskKind::EMBEDDING => (Embedding::decode(payload)?.texts, 0),
            TaskKind::SEMANTIC_MATCH => {
                let t = SemanticMatch::decode(payload)?;
                let top_k = t.returned();
                (
                    std::iter::once(t.query).chain(t.candidates).collect(),
                    top_k,
                )
            }
            other => return Err(ExecuteError::NotRunHere(other)),
        })
    }

    /// Texts not yet embedded.
    pub fn units_left(&self) -> u32 {
        u32::try_from(self.texts.len() - self.done.len()).unwrap_or(u32::MAX)
    }

    /// Embeds up to `units` more texts (at least one) on the CPU; the last step encodes the
    /// result.
    pub fn step(&mut self, model: &Embedder, units: u32) {
        let texts = self.next_texts(units);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = model.embed(&refs);
        self.push(vectors, model.dim());
    }

    /// The next up to `units` texts (at least one) to embed elsewhere (the GPU); hand their
    /// vectors to [`push`](Self::push), in order.
    pub fn next_texts(&self, units: u32) -> Vec<String> {
        let from = self.done.len();
        let to = (from + units.max(1) as usize).min(self.texts.len());
        self.texts[from..to].to_vec()
    }

    /// Takes the vectors of the texts [`next_texts`](Self::next_texts) gave (more than are left
    /// are ignored); once every text has one, encodes the result.
    pub fn push(&mut self, vectors: Vec<Vec<f32>>, dim: usize) {
        if self.result.is_some() {
            return;
        }
        let room = self.texts.len() - self.done.len();
        self.done.extend(vectors.into_iter().take(room));
        if self.done.len() < self.texts.len() {
            return;
        }
        let dim = u32::try_from(dim).unwrap_or(u32::MAX);
        self.result = Some(match self.kind {
            TaskKind::EMBEDDING => Embeddings {
                dim,
                vectors: self.done.concat(),
            }
            .encode(),
            _ => {
                let (query, candidates) = self.done.split_at(1);
                rank(&query[0], candidates, self.top_k).encode()
            }
        });
    }

    /// The encoded result, once every text is embedded (`None` before).
    pub fn result(&self) -> Option<&[u8]> {
        self.result.as_deref()
    }
}

/// Candidates by cosine with `query` (dot products of unit vectors), best first, ties to the
/// lower index, the first `top_k`.
pub fn rank(query: &[f32], candidates: &[Vec<f32>], top_k: usize) -> Matches {
    let mut matches: Vec<Hit> = candidates
        .iter()
        .enumerate()
        .map(|(i, v)| Hit {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            score: edgenet_kernels::nn::ops::dot(query, v),
        })
        .collect();
    matches.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    matches.truncate(top_k);
    Matches { matches }
}
