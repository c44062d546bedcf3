//! Runs a task's decoded payload on the kernels and encodes its result: the one entry point that
//! the native node and the browser's compute workers share.

use edgenet_core::ErrorCode;
use edgenet_core::task::{
    Encryption, Hit, KnnResult, SearchMetric, TaskError, TaskKind, VectorSearch,
};
use thiserror::Error;

use crate::reference::{KernelError, Metric};

/// Why a task could not run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExecuteError {
    /// The payload does not decode or breaks a limit.
    #[error(transparent)]
    Task(#[from] TaskError),
    /// The kernel refused the input.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

impl ErrorCode for ExecuteError {
    fn code(&self) -> &'static str {
        match self {
            Self::Task(e) => e.code(),
            Self::Kernel(e) => e.code(),
        }
    }
}

/// Runs a `vector_search`.
pub fn vector_search(task: &VectorSearch) -> Result<KnnResult, KernelError> {
    let metric = match task.metric {
        SearchMetric::Dot => Metric::Dot,
        SearchMetric::Cosine => Metric::Cosine,
        SearchMetric::L2 => Metric::L2,
    };
    let hits = crate::simd::knn(
        metric,
        &task.queries,
        &task.database,
        task.dim as usize,
        task.k as usize,
        threads(),
    )?;
    Ok(KnnResult {
        hits: hits
            .into_iter()
            .map(|q| {
                q.into_iter()
                    .map(|n| Hit {
                        index: n.index,
                        score: n.score,
                    })
                    .collect()
            })
            .collect(),
    })
}

/// Every task kind this crate can run (what nodes list in their capabilities).
pub const KINDS: &[TaskKind] = &[TaskKind::VectorSearch, TaskKind::Encryption];

/// Threads for one task: every core natively, one in the browser (its compute Workers are the
/// parallelism there).
fn threads() -> usize {
    if cfg!(target_arch = "wasm32") {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Decodes `payload` for `kind`, runs it and encodes the result.
pub fn execute(kind: TaskKind, payload: &[u8]) -> Result<Vec<u8>, ExecuteError> {
    match kind {
        TaskKind::VectorSearch => Ok(vector_search(&VectorSearch::decode(payload)?)?.encode()),
        // Runs core's AEAD, the same code that seals envelopes.
        TaskKind::Encryption => Ok(Encryption::decode(payload)?.run()),
    }
}
