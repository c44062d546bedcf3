//! Runs a task's decoded payload on the kernels and encodes its result: the one entry point that
//! the native node and the browser's compute workers share.

use edgenet_core::ErrorCode;
use edgenet_core::task::{
    Encryption, Hit, KnnResult, SearchMetric, TaskError, TaskKind, VectorSearch,
};
use thiserror::Error;

use crate::backend::Executor;
use crate::reference::{KernelError, Metric, Neighbor};

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

/// Runs a `vector_search` on the SIMD CPU path.
pub fn vector_search(task: &VectorSearch) -> Result<KnnResult, KernelError> {
    vector_search_on(&Executor::cpu_only(), task)
}

/// Runs a `vector_search` on `executor`'s chosen backend.
pub fn vector_search_on(
    executor: &Executor,
    task: &VectorSearch,
) -> Result<KnnResult, KernelError> {
    let metric = match task.metric {
        SearchMetric::Dot => Metric::Dot,
        SearchMetric::Cosine => Metric::Cosine,
        SearchMetric::L2 => Metric::L2,
    };
    let hits = executor.knn(
        metric,
        &task.queries,
        &task.database,
        task.dim as usize,
        task.k as usize,
    )?;
    Ok(to_knn_result(hits))
}

/// Kernel hits as the task result that travels (sealed) back to the submitter.
pub fn to_knn_result(hits: Vec<Vec<Neighbor>>) -> KnnResult {
    KnnResult {
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
    }
}

/// Every task kind this crate can run (what nodes list in their capabilities).
pub const KINDS: &[TaskKind] = &[TaskKind::VectorSearch, TaskKind::Encryption];

/// Decodes `payload` for `kind`, runs it on the SIMD CPU path and encodes the result.
pub fn execute(kind: TaskKind, payload: &[u8]) -> Result<Vec<u8>, ExecuteError> {
    execute_on(&Executor::cpu_only(), kind, payload)
}

/// Like [`execute`], on `executor`'s chosen backend.
pub fn execute_on(
    executor: &Executor,
    kind: TaskKind,
    payload: &[u8],
) -> Result<Vec<u8>, ExecuteError> {
    match kind {
        TaskKind::VectorSearch => {
            Ok(vector_search_on(executor, &VectorSearch::decode(payload)?)?.encode())
        }
        // Runs core's AEAD, the same code that seals envelopes.
        TaskKind::Encryption => Ok(Encryption::decode(payload)?.run()),
    }
}
