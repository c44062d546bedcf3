//! The native nodes' runner (feature `wasmtime`): a prepared module compiled by wasmtime's
//! Cranelift, called through the same ABI and ended the same way as the reference runner
//! ([`crate::runner`]), so the two agree on output, trap and fuel.
//!
//! - **Memory**: the prepared module's maximum already caps it; a store limiter holds the store
//!   to the same bound, a second wall.
//! - **Wall clock**: epoch interruption, ticked by a thread of the runner's, stops a call that
//!   runs past [`Wasmtime::wall_clock`]. That is the machine's failure (too slow, overloaded), not
//!   the module's, and not a result: the task is given up and the relay assigns it elsewhere.
//! - **Compiled modules** are kept by the prepared module's hash, [`COMPILED_MODULES`] at most,
//!   so a job's tasks compile its module once.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, Instance, Module, Store, StoreLimits, StoreLimitsBuilder, Val};

use crate::abi::{ALLOC, ENTRY, MEMORY, Run, Trap, classify, fail, unpack};
use crate::executor::{Backstop, Runner};
use crate::recent::Recent;
use crate::{DEPTH_EXPORT, FUEL_EXPORT, Limits, Prepared};

/// Compiled modules kept.
pub const COMPILED_MODULES: usize = 16;
/// How often the epoch ticks.
const TICK: Duration = Duration::from_millis(50);

/// wasmtime with its compiled modules.
pub struct Wasmtime {
    engine: Engine,
    compiled: Recent<[u8; 32], Module>,
    wall_clock: Duration,
    /// Stops the ticking thread when the runner goes.
    _ticker: Arc<()>,
}

impl Wasmtime {
    /// A runner whose calls stop after `wall_clock` (the backstop; fuel ends honest runs first).
    pub fn new(wall_clock: Duration) -> Result<Self, String> {
        let mut config = Config::new();
        config
            .wasm_simd(true)
            .wasm_relaxed_simd(false)
            .wasm_multi_memory(false)
            .wasm_memory64(false)
            .wasm_tail_call(false)
            // wasmtime's own stack bound stays its default (512 KiB, within a blocking thread's
            // stack): the module's depth bound stops ordinary recursion first.
            .epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| e.to_string())?;
        let ticker = Arc::new(());
        let weak = Arc::downgrade(&ticker);
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while weak.strong_count() > 0 {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Self {
            engine,
            compiled: Recent::new(COMPILED_MODULES),
            wall_clock,
            _ticker: ticker,
        })
    }

    /// `prepared` compiled, from the cache when it was compiled before.
    fn compiled(&self, prepared: &Prepared) -> Result<Module, String> {
        self.compiled.get_or_make(prepared.hash, || {
            Module::new(&self.engine, &prepared.bytes).map_err(|e| e.to_string())
        })
    }
}

impl Runner for Wasmtime {
    fn run(
        &self,
        prepared: &Prepared,
        input: &[u8],
        fuel: u64,
        limits: &Limits,
    ) -> Result<Run, Backstop> {
        let fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
        let abi_run = |m: &str| {
            Ok(Run {
                ended: crate::abi::Ended::Trap(Trap::Abi(m.to_owned())),
                fuel_used: 0,
            })
        };
        let Ok(module) = self.compiled(prepared) else {
            return abi_run("the prepared module does not compile");
        };
        let memory_bytes = (limits.max_memory_pages as usize).saturating_mul(65536);
        let mut store = Store::new(
            &self.engine,
            StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .memories(1)
                .instances(1)
                .build(),
        );
        store.limiter(|l: &mut StoreLimits| l);
        let ticks = (self.wall_clock.as_millis() / TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let Ok(instance) = Instance::new(&mut store, &module, &[]) else {
            return abi_run("the module does not instantiate");
        };
        let Some(fuel_global) = instance.get_global(&mut store, FUEL_EXPORT) else {
            return abi_run("not a prepared module");
        };
        if fuel_global.set(&mut store, Val::I64(fuel)).is_err() {
            return abi_run("not a prepared module");
        }
        let ended = call(&mut store, &instance, input);
        if let Err(Stop::Backstop) = ended {
            return Err(Backstop(self.wall_clock));
        }
        let ended = ended.map_err(|s| match s {
            Stop::Trap(t) => t,
            Stop::Backstop => Trap::Wasm(String::new()),
        });
        let left = fuel_global.get(&mut store).i64().unwrap_or(0);
        let depth = instance
            .get_global(&mut store, DEPTH_EXPORT)
            .and_then(|g| g.get(&mut store).i32())
            .unwrap_or(0);
        Ok(classify(ended, fuel, left, depth, limits))
    }
}

/// Why a call stopped early.
enum Stop {
    /// The module trapped.
    Trap(Trap),
    /// The wall clock ran out.
    Backstop,
}

/// A wasmtime error as a trap, or the backstop when the epoch interrupted it.
fn stopped(e: wasmtime::Error) -> Stop {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => Stop::Backstop,
        _ => Stop::Trap(Trap::Wasm(e.to_string())),
    }
}

/// `alloc`, the input written, `run`, the output read (as the reference runner does).
fn call(
    store: &mut Store<StoreLimits>,
    instance: &Instance,
    input: &[u8],
) -> Result<Vec<u8>, Stop> {
    let memory = instance
        .get_memory(&mut *store, MEMORY)
        .ok_or_else(|| Stop::Trap(fail::no_memory()))?;
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut *store, ALLOC)
        .map_err(|_| Stop::Trap(fail::no_alloc()))?;
    let entry = instance
        .get_typed_func::<(i32, i32), i64>(&mut *store, ENTRY)
        .map_err(|_| Stop::Trap(fail::no_entry()))?;
    let len = i32::try_from(input.len()).map_err(|_| Stop::Trap(fail::input_too_large()))?;
    let at = alloc.call(&mut *store, len).map_err(stopped)?;
    let at = u32::try_from(at).map_err(|_| Stop::Trap(fail::bad_alloc()))? as usize;
    memory
        .write(&mut *store, at, input)
        .map_err(|_| Stop::Trap(fail::bad_alloc()))?;
    let packed = entry.call(&mut *store, (at as i32, len)).map_err(stopped)?;
    let (ptr, out_len) = unpack(packed).map_err(Stop::Trap)?;
    let mut output = vec![0u8; out_len];
    memory
        .read(&*store, ptr, &mut output)
        .map_err(|_| Stop::Trap(fail::output_outside()))?;
    Ok(output)
}
