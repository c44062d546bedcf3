//! Valid modules in the allowed feature set (wasm-smith), prepared: each prepares (the rewrite
//! never refuses or breaks a module it should take), and running every exported function ends
//! the same way on the reference engine (wasmi, twice) and on the native nodes' (wasmtime): the
//! same values, bit for bit, or a trap on both, and the same fuel.
#![no_main]

use arbitrary::Unstructured;
use edgenet_sandbox::{FUEL_EXPORT, Limits, prepare};
use wasmi::{Config, Engine, ExternType, Linker, Module, Store, Val};
use std::sync::OnceLock;

fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        allow_start_export: false,
        max_memories: 1,
        max_tables: 2,
        max_memory32_bytes: 256 << 20,
        memory64_enabled: false,
        max_table_elements: 100_000,
        threads_enabled: false,
        relaxed_simd_enabled: false,
        tail_call_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        export_everything: true,
        // No externref: the sandbox refuses it (wasmtime without a collector cannot compile it).
        reference_types_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// Every exported function called with zeros: how each ended and the fuel it used.
fn run_all(bytes: &[u8]) -> Vec<String> {
    let mut c = Config::default();
    c.wasm_simd(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true);
    c.set_max_recursion_depth(4 * Limits::default().max_depth as usize);
    let engine = Engine::new(&c);
    let module = Module::new(&engine, bytes).expect("a prepared module compiles");
    let mut store = Store::new(&engine, ());
    let instance = match Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module) {
        Ok(i) => i,
        Err(_) => return vec!["instantiation trapped".into()],
    };
    let fuel = instance.get_global(&store, FUEL_EXPORT).expect("prepared");
    let mut out = Vec::new();
    for export in module.exports() {
        let ExternType::Func(ty) = export.ty() else {
            continue;
        };
        let Some(f) = instance.get_func(&store, export.name()) else {
            continue;
        };
        fuel.set(&mut store, Val::I64(100_000)).expect("an i64");
        let args: Vec<Val> = ty.params().iter().map(|t| Val::default(*t)).collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default(*t)).collect();
        let ended = match f.call(&mut store, &args, &mut results) {
            Ok(()) => results.iter().map(wasmi_bits).collect::<Vec<_>>().join(","),
            Err(_) => "trap".into(),
        };
        let left = match fuel.get(&store) {
            Val::I64(v) => v,
            _ => 0,
        };
        out.push(format!(
            "{}: {ended} ({} fuel)",
            export.name(),
            100_000 - left
        ));
    }
    out
}

/// The function exports, in the order wasmi lists them (as [`run_all`] calls them).
fn func_exports(bytes: &[u8]) -> Vec<String> {
    let mut c = Config::default();
    c.wasm_simd(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true);
    let module = Module::new(&Engine::new(&c), bytes).expect("a prepared module compiles");
    module
        .exports()
        .filter(|e| matches!(e.ty(), ExternType::Func(_)))
        .map(|e| e.name().to_owned())
        .collect()
}

/// A wasmi value as its type and bits (what both engines' values are compared by).
fn wasmi_bits(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x}"),
        Val::I64(x) => format!("i64:{x}"),
        Val::F32(x) => format!("f32:{:#x}", x.to_bits()),
        Val::F64(x) => format!("f64:{:#x}", x.to_bits()),
        Val::V128(x) => format!("v128:{:#x}", x.as_u128()),
        // No reference types are generated (`config`): no reference values either.
        _ => "ref".into(),
    }
}

/// A wasmtime value as [`wasmi_bits`] writes it.
fn wasmtime_bits(v: &wasmtime::Val) -> String {
    use wasmtime::Val as W;
    match v {
        W::I32(x) => format!("i32:{x}"),
        W::I64(x) => format!("i64:{x}"),
        W::F32(x) => format!("f32:{x:#x}"),
        W::F64(x) => format!("f64:{x:#x}"),
        W::V128(x) => format!("v128:{:#x}", x.as_u128()),
        _ => "ref".into(),
    }
}

/// As [`run_all`], on wasmtime (the sandbox's configuration), calling the exports in the order
/// wasmi listed them (`names`; calls share the store, so order matters, and the engines list
/// exports in different orders).
fn run_all_wasmtime(bytes: &[u8], names: &[String]) -> Vec<String> {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let mut c = wasmtime::Config::new();
        c.wasm_relaxed_simd(false).wasm_multi_memory(false).wasm_memory64(false).wasm_tail_call(false);
        wasmtime::Engine::new(&c).expect("an engine")
    });
    let module = wasmtime::Module::new(engine, bytes).expect("a prepared module compiles");
    let mut store = wasmtime::Store::new(engine, ());
    let instance = match wasmtime::Instance::new(&mut store, &module, &[]) {
        Ok(i) => i,
        Err(_) => return vec!["instantiation trapped".into()],
    };
    let fuel = instance.get_global(&mut store, FUEL_EXPORT).expect("prepared");
    let mut out = Vec::new();
    for name in names {
        let Some(f) = instance.get_func(&mut store, name) else {
            continue;
        };
        let ty = f.ty(&store);
        fuel.set(&mut store, wasmtime::Val::I64(100_000)).expect("an i64");
        let args: Vec<wasmtime::Val> = ty.params().map(|t| wasmtime::Val::default_for_ty(&t).expect("defaultable")).collect();
        let mut results: Vec<wasmtime::Val> = ty.results().map(|t| wasmtime::Val::default_for_ty(&t).expect("defaultable")).collect();
        let ended = match f.call(&mut store, &args, &mut results) {
            Ok(()) => results.iter().map(wasmtime_bits).collect::<Vec<_>>().join(","),
            Err(_) => "trap".into(),
        };
        let left = fuel.get(&mut store).i64().unwrap_or(0);
        out.push(format!("{name}: {ended} ({} fuel)", 100_000 - left));
    }
    out
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(module) = wasm_smith::Module::new(config(), &mut u) else {
        return;
    };
    let bytes = module.to_bytes();
    let prepared = match prepare(&bytes, &Limits::default()) {
        Ok(p) => p,
        // A name the sandbox reserves is the module's own doing.
        Err(edgenet_sandbox::SandboxError::Reserved(_)) => return,
        Err(e) => panic!("a valid module in the allowed set was refused: {e}"),
    };
    let reference = run_all(&prepared.bytes);
    assert_eq!(reference, run_all(&prepared.bytes));
    let names = func_exports(&prepared.bytes);
    assert_eq!(reference, run_all_wasmtime(&prepared.bytes, &names), "wasmtime differs from wasmi");
});
