//! Valid modules in the allowed feature set (wasm-smith), prepared: each prepares (the rewrite
//! never refuses or breaks a module it should take), and running every exported function on the
//! reference engine ends the same way twice, with the same fuel.
#![no_main]

use arbitrary::Unstructured;
use edgenet_sandbox::{FUEL_EXPORT, Limits, prepare};
use wasmi::{Config, Engine, ExternType, Linker, Module, Store, Val};

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
            Ok(()) => results
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(","),
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
    assert_eq!(run_all(&prepared.bytes), run_all(&prepared.bytes));
});
