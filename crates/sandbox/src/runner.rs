//! The reference runner (feature `runner`): a prepared module called through the entry-point ABI
//! ([`crate::abi`]) on wasmi with its deterministic profile. Other runners (wasmtime natively, the
//! browser's own engine) must end every call as this one does: the same output bytes or the same
//! trap code, and the same fuel.

use wasmi::{Config, Engine, Instance, Linker, Memory, Module, Store, Val};

pub use crate::abi::{ALLOC, ENTRY, Ended, MAX_OUTPUT, MEMORY, Run, Trap};
use crate::abi::{classify, fail, unpack};
use crate::{DEPTH_EXPORT, FUEL_EXPORT, Limits, Prepared};

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

/// `alloc`, the input written, `run`, the output read.
fn call(store: &mut Store<()>, instance: &Instance, input: &[u8]) -> Result<Vec<u8>, Trap> {
    let wasm = |e: wasmi::Error| Trap::Wasm(e.to_string());
    let memory: Memory = instance
        .get_memory(&*store, MEMORY)
        .ok_or_else(fail::no_memory)?;
    let alloc = instance
        .get_typed_func::<i32, i32>(&*store, ALLOC)
        .map_err(|_| fail::no_alloc())?;
    let entry = instance
        .get_typed_func::<(i32, i32), i64>(&*store, ENTRY)
        .map_err(|_| fail::no_entry())?;
    let len = i32::try_from(input.len()).map_err(|_| fail::input_too_large())?;
    let at = alloc.call(&mut *store, len).map_err(wasm)?;
    let at = u32::try_from(at).map_err(|_| fail::bad_alloc())? as usize;
    memory
        .write(&mut *store, at, input)
        .map_err(|_| fail::bad_alloc())?;
    let packed = entry.call(&mut *store, (at as i32, len)).map_err(wasm)?;
    let (ptr, out_len) = unpack(packed)?;
    let mut output = vec![0u8; out_len];
    memory
        .read(&*store, ptr, &mut output)
        .map_err(|_| fail::output_outside())?;
    Ok(output)
}
