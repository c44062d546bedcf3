//! The reference runner (feature `runner`): a prepared module called through the entry-point ABI
//! on wasmi with its deterministic profile. Other runners (wasmtime natively, the browser's own
//! engine) must end every call as this one does: the same output bytes or the same trap code,
//! and the same fuel.
//!
//! **The ABI.** The module exports its memory as [`MEMORY`], `alloc(len: i32) -> i32` ([`ALLOC`]),
//! which returns where the runner may write `len` input bytes, and `run(ptr: i32, len: i32) -> i64`
//! ([`ENTRY`]), which returns where its output is: `ptr << 32 | len`. Both run on the task's fuel.

use edgenet_core::ErrorCode;
use wasmi::{Config, Engine, Instance, Linker, Memory, Module, Store, Val};

use crate::{DEPTH_EXPORT, FUEL_EXPORT, Limits, Prepared};

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

/// Runs `prepared` on `input` with `fuel`, under `limits` (those it was prepared with).
pub fn run(prepared: &Prepared, input: &[u8], fuel: u64, limits: &Limits) -> Run {
    let mut config = Config::default();
    config
        .wasm_simd(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        // Deeper than the module's own bound, which stops a call first.
        .set_max_recursion_depth(4 * limits.max_depth as usize + 64);
    let engine = Engine::new(&config);
    let fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
    let abi = |m: &str| Run {
        ended: Ended::Trap(Trap::Abi(m.to_owned())),
        fuel_used: 0,
    };
    let Ok(module) = Module::new(&engine, &prepared.bytes[..]) else {
        return abi("the prepared module does not compile");
    };
    let mut store = Store::new(&engine, ());
    let Ok(instance) = Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module) else {
        return abi("the module does not instantiate");
    };
    let Some(fuel_global) = instance.get_global(&store, FUEL_EXPORT) else {
        return abi("not a prepared module");
    };
    if fuel_global.set(&mut store, Val::I64(fuel)).is_err() {
        return abi("not a prepared module");
    }
    let ended = call(&mut store, &instance, input);
    let left = match fuel_global.get(&store) {
        Val::I64(v) => v,
        _ => 0,
    };
    let depth = match instance
        .get_global(&store, DEPTH_EXPORT)
        .map(|g| g.get(&store))
    {
        Some(Val::I32(v)) => v,
        _ => 0,
    };
    classify(ended, fuel, left, depth, limits)
}

/// How a call ended, from what it returned and the globals it left: every runner ends a call
/// this way, so that they agree on the trap as on the fuel.
pub(crate) fn classify(
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
pub(crate) fn unpack(packed: i64) -> Result<(usize, usize), Trap> {
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

/// The ABI's failures every runner words alike.
pub(crate) mod abi {
    use super::{ALLOC, ENTRY, MEMORY, Trap};

    pub(crate) fn no_memory() -> Trap {
        Trap::Abi(format!("no memory exported as {MEMORY:?}"))
    }
    pub(crate) fn no_alloc() -> Trap {
        Trap::Abi(format!("no {ALLOC:?}: (i32) -> i32"))
    }
    pub(crate) fn no_entry() -> Trap {
        Trap::Abi(format!("no {ENTRY:?}: (i32, i32) -> i64"))
    }
    pub(crate) fn input_too_large() -> Trap {
        Trap::Abi("input too large".into())
    }
    pub(crate) fn bad_alloc() -> Trap {
        Trap::Abi("alloc gave room outside the memory".into())
    }
    pub(crate) fn output_outside() -> Trap {
        Trap::Abi("the output lies outside the memory".into())
    }
}

/// `alloc`, the input written, `run`, the output read.
fn call(store: &mut Store<()>, instance: &Instance, input: &[u8]) -> Result<Vec<u8>, Trap> {
    let wasm = |e: wasmi::Error| Trap::Wasm(e.to_string());
    let memory: Memory = instance
        .get_memory(&*store, MEMORY)
        .ok_or_else(abi::no_memory)?;
    let alloc = instance
        .get_typed_func::<i32, i32>(&*store, ALLOC)
        .map_err(|_| abi::no_alloc())?;
    let entry = instance
        .get_typed_func::<(i32, i32), i64>(&*store, ENTRY)
        .map_err(|_| abi::no_entry())?;
    let len = i32::try_from(input.len()).map_err(|_| abi::input_too_large())?;
    let at = alloc.call(&mut *store, len).map_err(wasm)?;
    let at = u32::try_from(at).map_err(|_| abi::bad_alloc())? as usize;
    memory
        .write(&mut *store, at, input)
        .map_err(|_| abi::bad_alloc())?;
    let packed = entry.call(&mut *store, (at as i32, len)).map_err(wasm)?;
    let (ptr, out_len) = unpack(packed)?;
    let mut output = vec![0u8; out_len];
    memory
        .read(&*store, ptr, &mut output)
        .map_err(|_| abi::output_outside())?;
    Ok(output)
}
