//! The entry-point ABI, and how every runner ends a call (the reference runner, wasmtime, the
//! browser's engine through the browser's sandbox module): engine-free, so it builds everywhere
//! the preparation does.
//!
//! The module exports its memory as [`MEMORY`], `alloc(len: i32) -> i32` ([`ALLOC`]), which
//! returns where the runner may write `len` input bytes, and `run(ptr: i32, len: i32) -> i64`
//! ([`ENTRY`]), which returns where its output is: `ptr << 32 | len`. Both run on the task's fuel.

use edgenet_core::ErrorCode;
use edgenet_core::kinds::custom_wasm::{WasmEnd, WasmRun, WasmRuns};

use crate::Limits;

/// The memory export.
pub const MEMORY: &str = "memory";
/// The allocator export: `(len: i32) -> i32`.
pub const ALLOC: &str = "alloc";
/// The entry point: `(ptr: i32, len: i32) -> i64`, the output as `ptr << 32 | len`.
pub const ENTRY: &str = "run";
/// Largest output a call may return.
pub const MAX_OUTPUT: usize = 4 << 20;

/// How a call ended: what replicas compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The output bytes.
    Output(Vec<u8>),
    /// A trap, by its code.
    Trap(Trap),
}

/// Why a call trapped. Only the kind is compared between replicas: engines word their traps
/// differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trap {
    /// The fuel ran out.
    OutOfFuel,
    /// Past the call depth bound.
    StackExhausted,
    /// The module broke the ABI: a missing export, an output outside its memory or too large.
    Abi(String),
    /// Any other trap of the module's (`unreachable`, an access out of bounds, a division by
    /// zero, an indirect call of the wrong type).
    Wasm(String),
}

impl ErrorCode for Trap {
    fn code(&self) -> &'static str {
        match self {
            Self::Wasm(_) => "EN-610",
            Self::OutOfFuel => "EN-611",
            Self::StackExhausted => "EN-612",
            Self::Abi(_) => "EN-613",
        }
    }
}

impl core::fmt::Display for Trap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OutOfFuel => f.write_str("the module ran out of fuel"),
            Self::StackExhausted => f.write_str("the module called past the depth bound"),
            Self::Abi(m) => write!(f, "the module broke the entry-point ABI: {m}"),
            Self::Wasm(m) => write!(f, "the module trapped: {m}"),
        }
    }
}

/// A call's end and the fuel it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// How it ended.
    pub ended: Ended,
    /// Fuel used, up to the fuel given (a call that ran out used it all, and a little more: the
    /// run that took it below zero).
    pub fuel_used: u64,
}

/// How a call ended, from what it returned and the globals it left: every runner ends a call
/// this way, so that they agree on the trap as on the fuel.
pub fn classify(
    ended: Result<Vec<u8>, Trap>,
    fuel: i64,
    left: i64,
    depth: i32,
    limits: &Limits,
) -> Run {
    let ended = match ended {
        // Out of fuel, trapped at a check or returned before the next one.
        _ if left < 0 => Ended::Trap(Trap::OutOfFuel),
        Err(_) if depth > i32::try_from(limits.max_depth).unwrap_or(i32::MAX) => {
            Ended::Trap(Trap::StackExhausted)
        }
        Err(trap) => Ended::Trap(trap),
        Ok(output) => Ended::Output(output),
    };
    Run {
        ended,
        fuel_used: u64::try_from(fuel.saturating_sub(left)).unwrap_or(0),
    }
}

/// Where `run`'s packed answer says the output is (`ptr << 32 | len`), or EN-613 for one larger
/// than [`MAX_OUTPUT`].
pub fn unpack(packed: i64) -> Result<(usize, usize), Trap> {
    let (ptr, len) = (
        (packed as u64 >> 32) as usize,
        (packed as u64 & 0xffff_ffff) as usize,
    );
    if len > MAX_OUTPUT {
        return Err(Trap::Abi(format!(
            "an output of {len} bytes (at most {MAX_OUTPUT})"
        )));
    }
    Ok((ptr, len))
}

/// The ABI's failures, worded once for every runner.
pub mod fail {
    use super::{ALLOC, ENTRY, MEMORY, Trap};

    /// No memory exported as [`MEMORY`].
    pub fn no_memory() -> Trap {
        Trap::Abi(format!("no memory exported as {MEMORY:?}"))
    }
    /// No allocator of the ABI's type.
    pub fn no_alloc() -> Trap {
        Trap::Abi(format!("no {ALLOC:?}: (i32) -> i32"))
    }
    /// No entry point of the ABI's type.
    pub fn no_entry() -> Trap {
        Trap::Abi(format!("no {ENTRY:?}: (i32, i32) -> i64"))
    }
    /// An input past 2 GiB.
    pub fn input_too_large() -> Trap {
        Trap::Abi("input too large".into())
    }
    /// `alloc` gave room outside the memory.
    pub fn bad_alloc() -> Trap {
        Trap::Abi("alloc gave room outside the memory".into())
    }
    /// The output lies outside the memory.
    pub fn output_outside() -> Trap {
        Trap::Abi("the output lies outside the memory".into())
    }
}

/// A trap's EN code as the number results carry (`"EN-611"` → 611).
pub fn trap_number(trap: &Trap) -> u16 {
    trap.code().trim_start_matches("EN-").parse().unwrap_or(610)
}

/// A task's result from its runs, in input order. Outputs together stay within
/// [`WasmRuns::MAX_OUTPUT`]: a run whose output would pass it ends with EN-613 instead, the same
/// on every runner, as it depends only on the outputs before it.
pub fn runs_of(runs: impl IntoIterator<Item = Run>) -> WasmRuns {
    let mut output_left = WasmRuns::MAX_OUTPUT;
    let runs = runs
        .into_iter()
        .map(|run| {
            let end = match run.ended {
                Ended::Output(o) if o.len() <= output_left => {
                    output_left -= o.len();
                    WasmEnd::Output(o)
                }
                Ended::Output(_) => WasmEnd::Trap(trap_number(&Trap::Abi(String::new()))),
                Ended::Trap(t) => WasmEnd::Trap(trap_number(&t)),
            };
            WasmRun {
                end,
                fuel_used: run.fuel_used,
            }
        })
        .collect();
    WasmRuns { runs }
}

/// Whether a prepared module exports the ABI with the right types, read from its bytes: what the
/// engines' typed lookups check before any call (so a runner without them, the browser's, refuses
/// the same modules, before running anything, with the same fuel used: none).
pub fn check_exports(prepared: &[u8]) -> Result<(), Trap> {
    use wasmparser::{CompositeInnerType, ExternalKind, FuncType, Parser, Payload, ValType};
    let mut types: Vec<Option<FuncType>> = Vec::new();
    let mut funcs: Vec<u32> = Vec::new();
    let (mut memory, mut alloc, mut entry) = (false, None, None);
    for payload in Parser::new(0).parse_all(prepared) {
        match payload {
            Ok(Payload::TypeSection(r)) => {
                for group in r.into_iter().flatten() {
                    for sub in group.into_types() {
                        types.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Ok(Payload::FunctionSection(r)) => funcs.extend(r.into_iter().flatten()),
            Ok(Payload::ExportSection(r)) => {
                for e in r.into_iter().flatten() {
                    match (e.name, e.kind) {
                        (MEMORY, ExternalKind::Memory) => memory = true,
                        (ALLOC, ExternalKind::Func) => alloc = Some(e.index),
                        (ENTRY, ExternalKind::Func) => entry = Some(e.index),
                        _ => {}
                    }
                }
            }
            Ok(_) => {}
            Err(_) => return Err(Trap::Abi("the prepared module does not compile".into())),
        }
    }
    // A prepared module imports nothing, so function indices are its own functions'.
    let ty = |f: Option<u32>| {
        f.and_then(|i| funcs.get(i as usize))
            .and_then(|t| types.get(*t as usize).cloned().flatten())
    };
    let is = |f: Option<FuncType>, params: &[ValType], results: &[ValType]| {
        f.is_some_and(|f| f.params() == params && f.results() == results)
    };
    if !memory {
        return Err(fail::no_memory());
    }
    if !is(ty(alloc), &[ValType::I32], &[ValType::I32]) {
        return Err(fail::no_alloc());
    }
    if !is(ty(entry), &[ValType::I32, ValType::I32], &[ValType::I64]) {
        return Err(fail::no_entry());
    }
    Ok(())
}
