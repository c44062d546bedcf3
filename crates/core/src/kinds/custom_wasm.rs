//! `custom_wasm`: the submitter's own WebAssembly module, run on each of a task's inputs in a
//! sandbox (`edgenet-sandbox` prepares and runs it; this module only describes the task).
//!
//! A task carries the module once and a batch of inputs; the result is one [`WasmRun`] per input,
//! in input order: the output bytes or a trap's code, and the fuel the run used. The prepared
//! module meters itself, so every honest runner (wasmtime, wasmi, a browser's engine) returns the
//! same bytes: results are compared byte for byte. It is priced by the fuel it may use
//! ([`Rules::price`]), per 10⁹ fuel.

use serde::{Deserialize, Serialize};

use super::codec::{TaskError, decode_checked, encode_checked};
use super::{KindError, KindInfo, KindRules, Needs, PayloadRules, Price, TaskKind};

impl TaskKind {
    /// `custom_wasm`.
    pub const CUSTOM_WASM: Self = Self::from_wire(7);
}

/// The registry's entry. No canaries: a known module would give them away (docs/threat-model.md,
/// "custom_wasm", says how such tasks are checked instead).
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::CUSTOM_WASM,
    name: "custom_wasm",
    needs: Needs::Sandbox,
    exact: true,
    canary_rank: None,
};

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::CUSTOM_WASM
    }

    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        a == b && WasmRuns::decode(a).is_ok()
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // 0.01 credit per 10⁹ fuel (about 10⁹ WebAssembly instructions): the embedding kind's
        // rate per operation of the model, rounded (docs/ledger.md, "Prices").
        Price {
            micro_credits: 10_000,
            per: 1_000_000_000,
            unit: "fuel",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        CustomWasm::decode(payload).map(drop).map_err(KindError::of)
    }

    /// The fuel the task allows: its fuel per input times its inputs.
    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        let t = CustomWasm::decode(payload).map_err(KindError::of)?;
        Ok(t.fuel_allowed())
    }

    fn fuzz(&self, data: &[u8]) {
        if let Ok(t) = CustomWasm::decode(data) {
            assert!(t.fuel_allowed() <= CustomWasm::MAX_TASK_FUEL);
        }
        if WasmRuns::decode(data).is_ok() {
            assert!(
                self.agree(data, data),
                "a custom_wasm result disagrees with itself"
            );
        }
    }

    /// One fuel more on the last run: still decodes, but differs.
    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], _lie: super::Lie) -> Result<Vec<u8>, KindError> {
        let mut runs = WasmRuns::decode(result).map_err(KindError::of)?;
        if let Some(last) = runs.runs.last_mut() {
            last.fuel_used += 1;
        }
        runs.encode().map_err(KindError::of)
    }
}

/// A `custom_wasm` task: run `module`'s entry point on each input with `fuel` and `memory_mib`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomWasm {
    /// The submitter's module as written (every worker prepares it the same way).
    pub module: Vec<u8>,
    /// The inputs, one run each.
    pub inputs: Vec<Vec<u8>>,
    /// Fuel each run may use (about one per instruction).
    pub fuel: u64,
    /// Memory each run may reach, in MiB.
    pub memory_mib: u32,
}

impl CustomWasm {
    /// Largest module (with its inputs, a sealed payload must fit one 1 MiB frame).
    pub const MAX_MODULE: usize = 512 * 1024;
    /// Most inputs in one task.
    pub const MAX_INPUTS: usize = 1024;
    /// Most bytes of module and inputs together.
    pub const MAX_PAYLOAD: usize = 768 * 1024;
    /// Most fuel one task may use, over all its inputs (about a minute of a fast runner).
    pub const MAX_TASK_FUEL: u64 = 100_000_000_000;
    /// Fuel per run when the submitter names none (about 10 s of a fast runner).
    pub const DEFAULT_FUEL: u64 = 10_000_000_000;
    /// Most memory a run may reach, in MiB (the brief's 256 MB default and bound).
    pub const MAX_MEMORY_MIB: u32 = 256;

    /// The fuel the task allows in all (saturating).
    pub fn fuel_allowed(&self) -> u64 {
        self.fuel.saturating_mul(self.inputs.len() as u64)
    }

    /// Checks the limits.
    pub fn validate(&self) -> Result<(), TaskError> {
        let bytes: usize = self.module.len() + self.inputs.iter().map(Vec::len).sum::<usize>();
        let bad = |m: String| Err(TaskError::OutOfBounds(m));
        if self.module.len() > Self::MAX_MODULE {
            return bad(format!(
                "a module of {} bytes (at most {})",
                self.module.len(),
                Self::MAX_MODULE
            ));
        }
        if self.inputs.is_empty() || self.inputs.len() > Self::MAX_INPUTS {
            return bad(format!(
                "{} inputs; a task takes 1 to {}",
                self.inputs.len(),
                Self::MAX_INPUTS
            ));
        }
        if bytes > Self::MAX_PAYLOAD {
            return bad(format!(
                "{bytes} bytes of module and inputs (at most {})",
                Self::MAX_PAYLOAD
            ));
        }
        if self.fuel == 0 || self.fuel_allowed() > Self::MAX_TASK_FUEL {
            return bad(format!(
                "fuel {} per input over {} inputs (1 to {} in all)",
                self.fuel,
                self.inputs.len(),
                Self::MAX_TASK_FUEL
            ));
        }
        if self.memory_mib == 0 || self.memory_mib > Self::MAX_MEMORY_MIB {
            return bad(format!(
                "memory of {} MiB (1 to {})",
                self.memory_mib,
                Self::MAX_MEMORY_MIB
            ));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WasmEnd {
    /// The entry point returned these bytes.
    Output(Vec<u8>),
    /// The run trapped; the number of its EN code (610 to 613: docs/errors.md).
    Trap(u16),
}

/// One input's run: how it ended and the fuel it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmRun {
    /// How it ended.
    pub end: WasmEnd,
    /// Fuel used.
    pub fuel_used: u64,
}

/// A `custom_wasm` result: one run per input, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmRuns {
    /// The runs.
    pub runs: Vec<WasmRun>,
}

impl WasmRuns {
    /// Most output bytes of all runs together (a sealed result must fit one 1 MiB frame). A run
    /// whose output would pass it ends with EN-613 instead, the same on every runner.
    pub const MAX_OUTPUT: usize = 768 * 1024;

    /// Checks the limits.
    pub fn validate(&self) -> Result<(), TaskError> {
        let bytes: usize = self
            .runs
            .iter()
            .map(|r| match &r.end {
                WasmEnd::Output(o) => o.len(),
                WasmEnd::Trap(_) => 0,
            })
            .sum();
        if self.runs.len() > CustomWasm::MAX_INPUTS || bytes > Self::MAX_OUTPUT {
            return Err(TaskError::OutOfBounds(format!(
                "{} runs (at most {}) with {bytes} output bytes (at most {})",
                self.runs.len(),
                CustomWasm::MAX_INPUTS,
                Self::MAX_OUTPUT
            )));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }

    /// Fuel used by all runs (saturating).
    pub fn fuel_used(&self) -> u64 {
        self.runs
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.fuel_used))
    }
}
