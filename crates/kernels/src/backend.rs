//! Which backend runs vector searches on this machine, decided by a short start-up micro-benchmark
//! (tens of milliseconds): the SIMD CPU path and, with feature `gpu` and an adapter, the
//! wgpu path are timed on the same small scan, once for a single query and once for a batch, and
//! the faster wins for each. A GPU whose answer disagrees with the CPU's is never chosen.

use std::time::Instant;

#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
use crate::gpu::Gpu;
use crate::reference::{KernelError, Metric, Neighbor};
use crate::simd;

/// Queries at or above this count use the batch choice.
pub const BATCH_FROM: usize = 8;

/// The micro-benchmark's scan: rows, dimension, and queries in the batch timing. The browser's
/// GPU module times the same scan, so both worlds choose on the same evidence.
pub const PROBE_ROWS: usize = 8_000;
/// See [`PROBE_ROWS`].
pub const PROBE_DIM: usize = 128;
/// See [`PROBE_ROWS`].
pub const PROBE_QUERIES: usize = 16;

/// The probe's database and queries (fixed seeds).
pub fn probe_data() -> (Vec<f32>, Vec<f32>) {
    (
        crate::sample::uniform(PROBE_ROWS * PROBE_DIM, 0x2545_f491),
        crate::sample::uniform(PROBE_QUERIES * PROBE_DIM, 0x1b87_3593),
    )
}

/// A backend for vector searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The SIMD CPU path on every core.
    Simd,
    /// The wgpu/WGSL path.
    Gpu,
}

impl Backend {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Simd => simd::backend(),
            Self::Gpu => "gpu",
        }
    }
}

/// One timing of the micro-benchmark.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Backend name.
    pub backend: &'static str,
    /// Queries per call.
    pub queries: usize,
    /// Queries per second.
    pub qps: f64,
}

/// The decision and the numbers behind it.
#[derive(Debug, Clone)]
pub struct Choice {
    /// For fewer than [`BATCH_FROM`] queries.
    pub single: Backend,
    /// For [`BATCH_FROM`] queries or more.
    pub batch: Backend,
    /// The GPU adapter, if any.
    pub gpu_adapter: Option<String>,
    /// That adapter runs on the CPU (lavapipe, SwiftShader): not a GPU to count or advertise.
    pub gpu_software: bool,
    /// What was measured.
    pub measurements: Vec<Measurement>,
}

/// Runs vector searches on the chosen backend.
pub struct Executor {
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    gpu: Option<Gpu>,
    choice: Choice,
}

impl Executor {
    /// SIMD only, no benchmark (the browser's compute Workers, and builds without `gpu`).
    pub fn cpu_only() -> Self {
        Self {
            #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
            gpu: None,
            choice: Choice {
                single: Backend::Simd,
                batch: Backend::Simd,
                gpu_adapter: None,
                gpu_software: false,
                measurements: Vec::new(),
            },
        }
    }

    /// Finds the GPU (with feature `gpu`) and times both backends.
    pub fn detect() -> Self {
        let dim = PROBE_DIM;
        let (database, queries) = probe_data();
        let mut exec = Self::cpu_only();
        let mut measurements = Vec::new();
        let simd_single = time(&mut measurements, simd::backend(), 1, || {
            exec.run(Backend::Simd, &queries[..dim], &database, dim)
        });
        let simd_batch = time(&mut measurements, simd::backend(), PROBE_QUERIES, || {
            exec.run(Backend::Simd, &queries, &database, dim)
        });
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        {
            exec.gpu = Gpu::new();
            if let Some(gpu) = &exec.gpu {
                exec.choice.gpu_adapter = Some(gpu.adapter().to_owned());
                exec.choice.gpu_software = gpu.is_software();
                let reference = exec.run(Backend::Simd, &queries, &database, dim);
                let agrees = exec
                    .run(Backend::Gpu, &queries, &database, dim)
                    .ok()
                    .zip(reference.ok())
                    .is_some_and(|(g, c)| same_ids(&g, &c));
                if agrees {
                    let gpu_single = time(&mut measurements, "gpu", 1, || {
                        exec.run(Backend::Gpu, &queries[..dim], &database, dim)
                    });
                    let gpu_batch = time(&mut measurements, "gpu", PROBE_QUERIES, || {
                        exec.run(Backend::Gpu, &queries, &database, dim)
                    });
                    if gpu_single > simd_single {
                        exec.choice.single = Backend::Gpu;
                    }
                    if gpu_batch > simd_batch {
                        exec.choice.batch = Backend::Gpu;
                    }
                }
            }
        }
        let _ = (simd_single, simd_batch);
        exec.choice.measurements = measurements;
        exec
    }

    /// The decision and its numbers.
    pub fn choice(&self) -> &Choice {
        &self.choice
    }

    /// k-NN on the backend chosen for this many queries.
    pub fn knn(
        &self,
        metric: Metric,
        queries: &[f32],
        database: &[f32],
        dim: usize,
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        let nq = queries.len().checked_div(dim).unwrap_or(0);
        let backend = if nq >= BATCH_FROM {
            self.choice.batch
        } else {
            self.choice.single
        };
        self.knn_on(backend, metric, queries, database, dim, k)
    }

    fn run(
        &self,
        backend: Backend,
        queries: &[f32],
        database: &[f32],
        dim: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        self.knn_on(backend, Metric::Dot, queries, database, dim, 10)
    }

    fn knn_on(
        &self,
        backend: Backend,
        metric: Metric,
        queries: &[f32],
        database: &[f32],
        dim: usize,
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        match backend {
            #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
            Backend::Gpu => match &self.gpu {
                Some(gpu) => gpu.knn(metric, queries, database, dim, k),
                None => simd::knn(metric, queries, database, dim, k, threads()),
            },
            _ => simd::knn(metric, queries, database, dim, k, threads()),
        }
    }
}

/// Threads for one task: every core natively, one in the browser (its compute Workers are the
/// parallelism there).
pub(crate) fn threads() -> usize {
    if cfg!(target_arch = "wasm32") {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Best-of-2 queries per second of `f`, recorded.
fn time(
    out: &mut Vec<Measurement>,
    backend: &'static str,
    queries: usize,
    mut f: impl FnMut() -> Result<Vec<Vec<Neighbor>>, KernelError>,
) -> f64 {
    let _ = f(); // warm-up (and, for the GPU, pipeline caches)
    let best = (0..2)
        .map(|_| {
            let t = Instant::now();
            let _ = f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let qps = queries as f64 / best.max(1e-9);
    out.push(Measurement {
        backend,
        queries,
        qps,
    });
    qps
}

/// Whether two k-NN answers name the same rows in the same order (a GPU that disagrees with the
/// CPU on the probe is never chosen).
pub fn same_ids(a: &[Vec<Neighbor>], b: &[Vec<Neighbor>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.iter().map(|h| h.index).eq(y.iter().map(|h| h.index)))
}
