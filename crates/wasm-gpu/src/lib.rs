//! `edgenet-wasm-gpu`: the browser's WebGPU path, a module of its own so the core package stays
//! small. One compute Worker loads it after the visitor allowed the GPU; it opens the adapter,
//! times the GPU against WebAssembly SIMD on the same probe scan as native nodes
//! (`kernels::backend`), and then runs the `vector_search` tasks whose size the GPU won.
//!
//! Everything here is async: the browser never blocks on the GPU.

use edgenet_core::ErrorCode as _;
use edgenet_core::kinds::vector_search::VectorSearch;
use edgenet_core::task::TaskKind;
use edgenet_kernels::backend::{self, BATCH_FROM, PROBE_DIM, PROBE_QUERIES, same_ids};
use edgenet_kernels::gpu::Gpu;
use edgenet_kernels::{Metric, execute, simd};
use wasm_bindgen::prelude::*;

/// The GPU and the sizes it won.
#[wasm_bindgen]
pub struct GpuKernels {
    gpu: Gpu,
    single: bool,
    batch: bool,
    choice: js_sys::Object,
}

/// Opens the GPU and chooses: `mode` "auto" times both backends, "gpu" uses the GPU for every
/// size (it must still agree with the CPU on the probe). Resolves to `undefined` when there is
/// no adapter or it gives wrong answers.
#[wasm_bindgen(js_name = openGpu)]
pub async fn open_gpu(mode: String) -> Option<GpuKernels> {
    let gpu = Gpu::new_async().await?;
    let (database, queries) = backend::probe_data();
    let dim = PROBE_DIM;
    let one = &queries[..dim];
    let cpu = |q: &[f32]| simd::knn(Metric::Dot, q, &database, dim, 10, 1);
    let on_gpu = |q: &'_ [f32]| {
        let (gpu, database) = (&gpu, &database);
        let q = q.to_vec();
        async move { gpu.knn_async(Metric::Dot, &q, database, dim, 10).await }
    };
    let agrees = match (cpu(&queries), on_gpu(&queries).await) {
        (Ok(c), Ok(g)) => same_ids(&g, &c),
        _ => false,
    };
    if !agrees {
        return None;
    }
    let measurements = js_sys::Array::new();
    let record = |name: &str, queries: usize, seconds: f64| {
        let qps = queries as f64 / seconds.max(1e-9);
        measurements.push(
            &Obj::new()
                .set("backend", name)
                .set("queries", queries as u32)
                .set("qps", qps)
                .into(),
        );
        qps
    };
    let simd_single = record(
        simd::backend(),
        1,
        best_of(3, || async { drop(cpu(one)) }).await,
    );
    let simd_batch = record(
        simd::backend(),
        PROBE_QUERIES,
        best_of(3, || async { drop(cpu(&queries)) }).await,
    );
    let gpu_single = record(
        "gpu",
        1,
        best_of(3, || async { drop(on_gpu(one).await) }).await,
    );
    let gpu_batch = record(
        "gpu",
        PROBE_QUERIES,
        best_of(3, || async { drop(on_gpu(&queries).await) }).await,
    );
    let forced = mode == "gpu";
    let single = forced || gpu_single > simd_single;
    let batch = forced || gpu_batch > simd_batch;
    let name = |gpu_wins: bool| if gpu_wins { "gpu" } else { simd::backend() };
    let choice = Obj::new()
        .set("adapter", gpu.adapter())
        .set("single", name(single))
        .set("batch", name(batch))
        .set("forced", forced)
        .set("measurements", measurements)
        .0;
    Some(GpuKernels {
        gpu,
        single,
        batch,
        choice,
    })
}

#[wasm_bindgen]
impl GpuKernels {
    /// `{adapter, single, batch, forced, measurements: [{backend, queries, qps}]}`.
    #[wasm_bindgen(getter)]
    pub fn choice(&self) -> js_sys::Object {
        self.choice.clone()
    }

    /// Runs a task on the GPU when its kind and size are the GPU's; resolves to `undefined` when
    /// the CPU path should run it instead. Throws an `EN-…` error for a bad payload.
    #[wasm_bindgen(js_name = runTask)]
    pub async fn run_task(
        &self,
        kind: String,
        payload: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, JsError> {
        if TaskKind::from_name(&kind) != Some(TaskKind::VECTOR_SEARCH) {
            return Ok(None);
        }
        let task = VectorSearch::decode(&payload).map_err(|e| coded(e.code(), &e))?;
        let nq = task.queries.len() / (task.dim as usize).max(1);
        let ours = if nq >= BATCH_FROM {
            self.batch
        } else {
            self.single
        };
        if !ours {
            return Ok(None);
        }
        let result = execute::vector_search_gpu(&self.gpu, &task)
            .await
            .map_err(|e| coded(e.code(), &e))?;
        Ok(Some(result.encode()))
    }
}

fn coded(code: &str, e: &dyn std::fmt::Display) -> JsError {
    JsError::new(&format!("{code}: {e}"))
}

/// Best of `runs` wall times of `f`, in seconds (`performance.now()`: Workers have no clock in
/// std on wasm32).
async fn best_of<F, Fut>(runs: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm-up: pipelines, caches
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let start = now_ms();
        f().await;
        best = best.min(now_ms() - start);
    }
    best / 1e3
}

fn now_ms() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
    performance
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
            now.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&p)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// A plain object built field by field.
struct Obj(js_sys::Object);

impl Obj {
    fn new() -> Self {
        Self(js_sys::Object::new())
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
