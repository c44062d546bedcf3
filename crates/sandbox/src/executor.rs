//! `custom_wasm` as a kind an executor runs (feature `runner`): a task's module prepared once
//! (and kept by its hash, a bounded number of them), then run on each input, in order, by a
//! [`Runner`]; the runs become the kind's result.

use edgenet_core::ErrorCode;
use edgenet_core::kinds::custom_wasm::{CustomWasm, WasmRuns};
use edgenet_core::kinds::{Executor, KindError, TaskKind};
use sha2::{Digest, Sha256};

use crate::abi::{Run, runs_of};
use crate::recent::Recent;
use crate::{Limits, Prepared, prepare};

/// Something that runs a prepared module on one input: the reference runner, wasmtime.
pub trait Runner: Sync + Send {
    /// Runs `prepared` (prepared under `limits`) on `input` with `fuel`: how the call ended, or
    /// the runner's own wall-clock backstop, which is no result at all.
    fn run(
        &self,
        prepared: &Prepared,
        input: &[u8],
        fuel: u64,
        limits: &Limits,
    ) -> Result<Run, Backstop>;
}

/// A call stopped by the runner's wall clock (EN-614): this machine was too slow, which says
/// nothing of the module. The task is given up, not answered, and the relay reassigns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the run passed this runner's wall-clock backstop of {0:?}; the task is given up")]
pub struct Backstop(pub std::time::Duration);

impl ErrorCode for Backstop {
    fn code(&self) -> &'static str {
        "EN-614"
    }
}

/// The reference runner (wasmi), which has no wall clock: fuel alone ends its calls.
pub struct Reference;

impl Runner for Reference {
    fn run(
        &self,
        prepared: &Prepared,
        input: &[u8],
        fuel: u64,
        limits: &Limits,
    ) -> Result<Run, Backstop> {
        Ok(crate::runner::run(prepared, input, fuel, limits))
    }
}

/// Prepared modules kept: a job's tasks share their module, so each worker prepares it once per
/// job.
const CACHED_MODULES: usize = 16;

/// A submitted module by its SHA-256, with the memory limit it is prepared for.
type ModuleKey = ([u8; 32], u32);

/// Runs `custom_wasm` tasks with a [`Runner`].
pub struct WasmExecutor<R> {
    runner: R,
    /// Prepared modules.
    prepared: Recent<ModuleKey, Prepared>,
}

impl<R: Runner> WasmExecutor<R> {
    /// An executor running tasks on `runner`.
    pub fn new(runner: R) -> Self {
        Self {
            runner,
            prepared: Recent::new(CACHED_MODULES),
        }
    }

    /// The task's module prepared, from the cache when a task of the same job was here before.
    pub fn prepared(&self, task: &CustomWasm) -> Result<Prepared, KindError> {
        let key: ModuleKey = (Sha256::digest(&task.module).into(), task.memory_mib);
        self.prepared.get_or_make(key, || {
            prepare(&task.module, &Limits::for_task(task.memory_mib)).map_err(KindError::of)
        })
    }

    /// Runs every input of `task`, in order.
    pub fn run_task(&self, task: &CustomWasm) -> Result<WasmRuns, KindError> {
        let prepared = self.prepared(task)?;
        let limits = Limits::for_task(task.memory_mib);
        let runs = task
            .inputs
            .iter()
            .map(|input| self.runner.run(&prepared, input, task.fuel, &limits))
            .collect::<Result<Vec<Run>, Backstop>>()
            .map_err(KindError::of)?;
        Ok(runs_of(runs))
    }
}

impl<R: Runner> Executor for WasmExecutor<R> {
    fn kinds(&self) -> Vec<TaskKind> {
        vec![TaskKind::CUSTOM_WASM]
    }

    fn run(&self, kind: TaskKind, payload: &[u8]) -> Result<Vec<u8>, KindError> {
        if kind != TaskKind::CUSTOM_WASM {
            return Err(KindError::not_run_here(kind));
        }
        let task = CustomWasm::decode(payload).map_err(KindError::of)?;
        self.run_task(&task)?.encode().map_err(KindError::of)
    }
}
