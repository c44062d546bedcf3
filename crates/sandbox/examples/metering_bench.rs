//! The metering's overhead: a guest run as it was built, and the same guest prepared (fuel charged
//! per run, NaNs canonical, calls counted), same input, on wasmtime (the native nodes' runner) and
//! on wasmi (the reference), beside the guest's function compiled natively (the physical limit),
//! in one process. `scripts/bench.sh wasm` runs it; the ratios go in docs/BENCHMARKS.md.
//!   cargo run --release -p edgenet-sandbox --features wasmtime --example metering_bench -- GUEST.wasm [DIR]
//! With DIR it also writes the prepared module, the input and the prepared guest's median on
//! wasmtime there, for `scripts/bench_wasm_browser.mjs` to run the same in Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use std::time::Instant;

use edgenet_sandbox::runner::{ALLOC, ENTRY, MEMORY};
use edgenet_sandbox::{FUEL_EXPORT, Limits, prepare};
use wasmi::{Config, Engine, Linker, Module, Store, Val};

/// Instantiates `bytes` and runs the ABI on `input`: seconds for the call to `run`.
fn call(engine: &Engine, bytes: &[u8], input: &[u8]) -> (f64, usize) {
    let module = Module::new(engine, bytes).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Linker::<()>::new(engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
    if let Some(fuel) = instance.get_global(&store, FUEL_EXPORT) {
        fuel.set(&mut store, Val::I64(i64::MAX)).unwrap();
    }
    let memory = instance.get_memory(&store, MEMORY).unwrap();
    let alloc = instance.get_typed_func::<i32, i32>(&store, ALLOC).unwrap();
    let run = instance
        .get_typed_func::<(i32, i32), i64>(&store, ENTRY)
        .unwrap();
    let at = alloc.call(&mut store, input.len() as i32).unwrap();
    memory.write(&mut store, at as usize, input).unwrap();
    let started = Instant::now();
    let packed = run.call(&mut store, (at, input.len() as i32)).unwrap();
    (
        started.elapsed().as_secs_f64(),
        (packed as u64 & 0xffff_ffff) as usize,
    )
}

/// As [`call`], on wasmtime (Cranelift, compiled once per module before the timed call).
fn call_wasmtime(engine: &wasmtime::Engine, bytes: &[u8], input: &[u8]) -> (f64, usize) {
    let module = wasmtime::Module::new(engine, bytes).unwrap();
    let mut store = wasmtime::Store::new(engine, ());
    let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
    if let Some(fuel) = instance.get_global(&mut store, FUEL_EXPORT) {
        fuel.set(&mut store, wasmtime::Val::I64(i64::MAX)).unwrap();
    }
    let memory = instance.get_memory(&mut store, MEMORY).unwrap();
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut store, ALLOC)
        .unwrap();
    let run = instance
        .get_typed_func::<(i32, i32), i64>(&mut store, ENTRY)
        .unwrap();
    let at = alloc.call(&mut store, input.len() as i32).unwrap();
    memory.write(&mut store, at as usize, input).unwrap();
    let started = Instant::now();
    let packed = run.call(&mut store, (at, input.len() as i32)).unwrap();
    (
        started.elapsed().as_secs_f64(),
        (packed as u64 & 0xffff_ffff) as usize,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let path = std::env::args().nth(1).expect("a guest's .wasm");
    let original = std::fs::read(&path).unwrap();
    let started = Instant::now();
    let prepared = prepare(&original, &Limits::default()).unwrap();
    let prepare_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut config = Config::default();
    config
        .wasm_simd(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true);
    let engine = Engine::new(&config);
    let words = [
        "the", "cat", "sat", "on", "a", "mat", "and", "δelta", "x1", "end",
    ];
    let text: String = (0..400_000)
        .map(|i| words[(i * 7 + i / 3) % words.len()])
        .collect::<Vec<_>>()
        .join(" ");
    let input = text.as_bytes();
    let wasmtime = wasmtime::Engine::default();
    let mut t: [Vec<f64>; 5] = Default::default();
    for _ in 0..5 {
        let (a, out_a) = call(&engine, &original, input);
        let (b, out_b) = call(&engine, &prepared.bytes, input);
        let (c, out_c) = call_wasmtime(&wasmtime, &original, input);
        let (d, out_d) = call_wasmtime(&wasmtime, &prepared.bytes, input);
        let started = Instant::now();
        let native = edgenet_guest::samples::word_count(std::hint::black_box(input));
        t[4].push(started.elapsed().as_secs_f64());
        assert!(out_a == out_b && out_b == out_c && out_c == out_d && out_d == native.len());
        for (i, v) in [a, b, c, d].into_iter().enumerate() {
            t[i].push(v);
        }
    }
    let [wasmi_plain, wasmi_metered, wt_plain, wt_metered, native] = t.map(median);
    println!(
        "guest: {path} ({} bytes, prepared {} bytes in {prepare_ms:.1} ms)",
        original.len(),
        prepared.bytes.len()
    );
    println!("input: {} bytes of text", input.len());
    println!("| engine | as built | prepared | ratio (prepared / as built) |");
    println!("|---|---|---|---|");
    for (name, plain, metered) in [
        ("wasmtime 48 (Cranelift)", wt_plain, wt_metered),
        ("wasmi 2.0", wasmi_plain, wasmi_metered),
    ] {
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2}× |",
            plain * 1e3,
            metered * 1e3,
            metered / plain
        );
    }
    println!(
        "| native (the same Rust function) | {:.1} ms | | |",
        native * 1e3
    );
    println!(
        "speed of the prepared guest on wasmtime: {:.2}× native, {:.1}× wasmi's",
        native / wt_metered,
        wasmi_metered / wt_metered
    );
    if let Some(dir) = std::env::args().nth(2) {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("prepared.wasm"), &prepared.bytes).unwrap();
        std::fs::write(dir.join("input.txt"), input).unwrap();
        std::fs::write(dir.join("wasmtime_ms"), format!("{}", wt_metered * 1e3)).unwrap();
    }
}
