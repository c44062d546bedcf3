//! Runs a task's decoded payload on the kernels and encodes its result: the one entry point that
//! the native node and the browser's compute workers share.

use edgenet_core::ErrorCode;
use edgenet_core::kinds::KindError;
use edgenet_core::kinds::compression::{CompressedVectors, Compression, Quantization};
use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::vector_search::{Hit, KnnResult, SearchMetric, VectorSearch};
use edgenet_core::task::{TaskError, TaskKind};
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
    /// The kind is not one the kernels run ([`KINDS`]); its own executor runs it (a model, a
    /// shard store).
    #[error("{} is not run by the kernels", .0.name())]
    NotRunHere(TaskKind),
}

impl ErrorCode for ExecuteError {
    fn code(&self) -> &'static str {
        match self {
            Self::Task(e) => e.code(),
            Self::Kernel(e) => e.code(),
            Self::NotRunHere(_) => "EN-414",
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
    let hits = executor.knn(
        metric_of(task.metric),
        &task.queries,
        &task.database,
        task.dim as usize,
        task.k as usize,
    )?;
    Ok(to_knn_result(hits))
}

/// Runs a `vector_search` on the GPU: the browser's WebGPU path (natively the [`Executor`] holds
/// the GPU and chooses per size).
#[cfg(feature = "gpu")]
pub async fn vector_search_gpu(
    gpu: &crate::gpu::Gpu,
    task: &VectorSearch,
) -> Result<KnnResult, KernelError> {
    let hits = gpu
        .knn_async(
            metric_of(task.metric),
            &task.queries,
            &task.database,
            task.dim as usize,
            task.k as usize,
        )
        .await?;
    Ok(to_knn_result(hits))
}

/// The kernels' metric for a task's (core does not depend on kernels, so it has its own enum).
fn metric_of(metric: SearchMetric) -> Metric {
    match metric {
        SearchMetric::Dot => Metric::Dot,
        SearchMetric::Cosine => Metric::Cosine,
        SearchMetric::L2 => Metric::L2,
    }
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

/// Runs a `compression`: the same int8 and binary quantizers the quantized search uses.
pub fn compress(task: &Compression) -> Result<CompressedVectors, KernelError> {
    let dim = task.dim as usize;
    let rows = u32::try_from(task.vectors.len() / dim.max(1)).unwrap_or(u32::MAX);
    let (scales, codes) = match task.mode {
        Quantization::Int8 => {
            let q = crate::quantize::int8(&task.vectors, dim)?;
            let codes = q.codes().iter().map(|&c| c as u8).collect();
            (q.scales().to_vec(), codes)
        }
        Quantization::Binary => {
            let q = crate::quantize::binary(&task.vectors, dim)?;
            let codes = q.bits().iter().flat_map(|w| w.to_le_bytes()).collect();
            (Vec::new(), codes)
        }
    };
    Ok(CompressedVectors {
        mode: task.mode,
        dim: task.dim,
        rows,
        scales,
        codes,
    })
}

/// [`fnv1a`](crate::sample::fnv1a) of the encoded result of [`compression_fixture`] per mode, committed: the native test
/// (`tests/execute.rs`) and the browser test (`crates/wasm/tests/kernels.rs`) both check them, so
/// the two platforms produce identical bytes.
pub const COMPRESSION_FINGERPRINTS: [(Quantization, u64); 2] = [
    (Quantization::Int8, 0x854d_421c_6874_65f1),
    (Quantization::Binary, 0xbb16_592f_d237_935d),
];

/// The `compression` payload whose results' fingerprints are committed in the native and browser
/// tests: 300 rows of dim 37 (not a multiple of 8 or 64), values of both signs, some exactly 0.
pub fn compression_fixture(mode: Quantization) -> Compression {
    let mut vectors = crate::sample::uniform(300 * 37, 0xc0ff_ee11);
    for v in vectors.iter_mut().step_by(13) {
        *v = 0.0;
    }
    Compression {
        mode,
        dim: 37,
        vectors,
    }
}

/// Every task kind the kernels run (what nodes list in their capabilities): the registry's kinds
/// that need nothing but the kernels.
pub const KINDS: &[TaskKind] = &[
    TaskKind::VECTOR_SEARCH,
    TaskKind::ENCRYPTION,
    TaskKind::COMPRESSION,
];

impl edgenet_core::kinds::Executor for Executor {
    fn kinds(&self) -> Vec<TaskKind> {
        KINDS.to_vec()
    }

    fn run(&self, kind: TaskKind, payload: &[u8]) -> Result<Vec<u8>, KindError> {
        execute_on(self, kind, payload).map_err(KindError::of)
    }
}

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
        TaskKind::VECTOR_SEARCH => {
            Ok(vector_search_on(executor, &VectorSearch::decode(payload)?)?.encode())
        }
        // Runs core's AEAD, the same code that seals envelopes.
        TaskKind::ENCRYPTION => Ok(Encryption::decode(payload)?.run()),
        TaskKind::COMPRESSION => Ok(compress(&Compression::decode(payload)?)?.encode()),
        other => Err(ExecuteError::NotRunHere(other)),
    }
}

/// A task run in slices, so a compute worker can hold a duty cycle and stop within one slice.
///
/// A unit is one query of a `vector_search` (queries are independent, so running them in any
/// grouping gives the same hits as one batch; a query costs at most one pass over a payload's
/// ≤ 240,000 values), and the whole of an `encryption` (≤ 768 KiB of ChaCha20-Poly1305) or of a
/// `compression` (one pass over ≤ 240,000 values): a few ms each.
pub struct SlicedRun {
    state: Sliced,
}

enum Sliced {
    Search {
        task: VectorSearch,
        done_queries: usize,
        hits: Vec<Vec<Neighbor>>,
    },
    Encrypt(Encryption),
    Compress(Compression),
    Finished(Vec<u8>),
}

impl SlicedRun {
    /// Decodes and checks `payload` for `kind`; nothing runs yet.
    pub fn new(kind: TaskKind, payload: &[u8]) -> Result<Self, ExecuteError> {
        let state = match kind {
            TaskKind::VECTOR_SEARCH => {
                let task = VectorSearch::decode(payload)?;
                Sliced::Search {
                    hits: Vec::with_capacity(task.query_count()),
                    task,
                    done_queries: 0,
                }
            }
            TaskKind::ENCRYPTION => Sliced::Encrypt(Encryption::decode(payload)?),
            TaskKind::COMPRESSION => Sliced::Compress(Compression::decode(payload)?),
            other => return Err(ExecuteError::NotRunHere(other)),
        };
        Ok(Self { state })
    }

    /// Units not yet run.
    pub fn units_left(&self) -> u32 {
        let left = match &self.state {
            Sliced::Search {
                task, done_queries, ..
            } => task.query_count() - done_queries,
            Sliced::Encrypt(_) | Sliced::Compress(_) => 1,
            Sliced::Finished(_) => 0,
        };
        u32::try_from(left).unwrap_or(u32::MAX)
    }

    /// Runs up to `units` more units (at least one) on `executor`.
    pub fn step(&mut self, executor: &Executor, units: u32) -> Result<(), ExecuteError> {
        match &mut self.state {
            Sliced::Search {
                task,
                done_queries,
                hits,
            } => {
                let dim = task.dim as usize;
                let take = (units.max(1) as usize).min(task.query_count() - *done_queries);
                let queries = &task.queries[*done_queries * dim..(*done_queries + take) * dim];
                let metric = metric_of(task.metric);
                hits.extend(executor.knn(metric, queries, &task.database, dim, task.k as usize)?);
                *done_queries += take;
                if *done_queries == task.query_count() {
                    let result = to_knn_result(std::mem::take(hits)).encode();
                    self.state = Sliced::Finished(result);
                }
            }
            Sliced::Encrypt(task) => self.state = Sliced::Finished(task.run()),
            Sliced::Compress(task) => self.state = Sliced::Finished(compress(task)?.encode()),
            Sliced::Finished(_) => {}
        }
        Ok(())
    }

    /// The encoded result, once every unit ran (`None` before).
    pub fn result(&self) -> Option<&[u8]> {
        match &self.state {
            Sliced::Finished(result) => Some(result),
            _ => None,
        }
    }
}
