//! `edgenet-wasm-compute`: what a contributing page's Workers run, in a module of its own so that a
//! page that only submits, or has not been allowed to contribute, never downloads the kernels.
//!
//! - `TaskRun`: a task run in slices (`edgenet-kernels`' `SlicedRun`);
//! - `Throttle`: the duty cycle around it (`edgenet-core::throttle`);
//! - `WorkSolver`: the relay's proof-of-work challenges (`edgenet-core::work`), solved a slice at a
//!   time by the coordinator, which loads this module when contribution starts.
//!
//! An adapter only, like `edgenet-wasm`: errors are `JsError`s whose message starts with the code.
#![allow(unsafe_code)] // wasm-bindgen's generated glue

use edgenet_core::ErrorCode;
use edgenet_core::task::TaskKind;
use edgenet_core::throttle::DutyCycle;
use edgenet_kernels::backend::Executor;
use edgenet_kernels::execute::SlicedRun;
use wasm_bindgen::prelude::*;

fn js_error<E: ErrorCode + core::fmt::Display>(err: E) -> JsError {
    JsError::new(&format!("{}: {err}", err.code()))
}

fn task_kind(name: &str) -> Result<TaskKind, JsError> {
    TaskKind::from_name(name)
        .ok_or_else(|| JsError::new(&format!("EN-142: unknown task kind {name:?}")))
}

/// A task being run slice by slice.
#[wasm_bindgen]
pub struct TaskRun {
    run: SlicedRun,
    executor: Executor,
}

#[wasm_bindgen]
impl TaskRun {
    /// Decodes `payload` for `kind` (`"vector_search"` or `"encryption"`); throws EN-140/141/142.
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, payload: &[u8]) -> Result<TaskRun, JsError> {
        Ok(Self {
            run: SlicedRun::new(task_kind(kind)?, payload).map_err(js_error)?,
            executor: Executor::cpu_only(),
        })
    }

    /// Units not yet run.
    #[wasm_bindgen(js_name = unitsLeft)]
    pub fn units_left(&self) -> u32 {
        self.run.units_left()
    }

    /// Runs up to `units` units; returns whether the task finished.
    pub fn step(&mut self, units: u32) -> Result<bool, JsError> {
        self.run.step(&self.executor, units).map_err(js_error)?;
        Ok(self.run.result().is_some())
    }

    /// The encoded result once finished, else `undefined`.
    pub fn result(&self) -> Option<Vec<u8>> {
        self.run.result().map(<[u8]>::to_vec)
    }
}

/// One compute Worker's duty cycle (see `edgenet_core::throttle::DutyCycle`).
#[wasm_bindgen]
pub struct Throttle {
    duty: DutyCycle,
}

#[wasm_bindgen]
impl Throttle {
    /// A duty cycle at `limit` in [0, 1] with slices of about `slice_ms`.
    #[wasm_bindgen(constructor)]
    pub fn new(limit: f64, slice_ms: f64) -> Result<Throttle, JsError> {
        Ok(Self {
            duty: DutyCycle::new(limit, slice_ms).map_err(js_error)?,
        })
    }

    /// Changes the limit; 0 pauses.
    #[wasm_bindgen(js_name = setLimit)]
    pub fn set_limit(&mut self, limit: f64) -> Result<(), JsError> {
        self.duty.set_limit(limit).map_err(js_error)
    }

    /// Whether any work may run now.
    #[wasm_bindgen(js_name = mayRun)]
    pub fn may_run(&self) -> bool {
        self.duty.may_run()
    }

    /// Units for the next slice.
    #[wasm_bindgen(js_name = sliceUnits)]
    pub fn slice_units(&self, remaining: u32) -> u32 {
        self.duty.slice_units(remaining)
    }

    /// Records a slice; returns the milliseconds to sleep before the next.
    #[wasm_bindgen(js_name = afterSlice)]
    pub fn after_slice(&mut self, start_ms: f64, end_ms: f64, units: u32) -> f64 {
        self.duty.after_slice(start_ms, end_ms, units)
    }
}

/// The relay's proof-of-work challenges, solved a slice at a time, so the coordinator Worker can
/// yield to its socket and to pausing between slices.
#[wasm_bindgen]
pub struct WorkSolver(edgenet_core::work::Solver);

#[wasm_bindgen]
impl WorkSolver {
    /// A search for `challenge` (32 bytes) at `bits` leading zero bits.
    #[wasm_bindgen(constructor)]
    pub fn new(challenge: &[u8], bits: u8) -> Result<WorkSolver, JsError> {
        let challenge: [u8; 32] = challenge
            .try_into()
            .map_err(|_| JsError::new("EN-222: a work challenge is 32 bytes"))?;
        if bits > edgenet_core::work::MAX_BITS {
            return Err(JsError::new("EN-222: more work asked than a client does"));
        }
        Ok(Self(edgenet_core::work::Solver::new(challenge, bits)))
    }

    /// Tries the next `tries` nonces (about a millisecond each natively, a few in a browser):
    /// the nonce that proves the work, or `undefined`.
    pub fn step(&mut self, tries: u32) -> Option<f64> {
        self.0.step(tries).map(|n| n as f64)
    }
}

/// Times the k-NN scan in this browser on the same data as the native benchmark
/// (`edgenet-kernels/examples/scan_bench.rs`: seeds 7 and 11), one thread, best of `runs`;
/// returns queries per second. Only with feature `bench` (`scripts/bench.sh kernels`).
#[cfg(feature = "bench")]
#[wasm_bindgen(js_name = benchScan)]
pub fn bench_scan(n: usize, dim: usize, k: usize, runs: u32) -> Result<f64, JsError> {
    let database = edgenet_kernels::sample::uniform(n * dim, 7);
    let query = edgenet_kernels::sample::uniform(dim, 11);
    let mut best = f64::INFINITY;
    for _ in 0..runs.max(1) {
        let start = js_sys::Date::now();
        edgenet_kernels::simd::knn(edgenet_kernels::Metric::Dot, &query, &database, dim, k, 1)
            .map_err(js_error)?;
        best = best.min(js_sys::Date::now() - start);
    }
    Ok(1000.0 / best.max(0.001))
}
