//! The anchor of the job throughput benchmark (`scripts/bench.sh wasm-job`): a job's inputs run
//! here, one after another, by the executor on wasmtime, as one worker would run them all.
//!   cargo run --release -p edgenet-sandbox --features wasmtime --example local_job -- GUEST.wasm DIR FUEL
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use std::time::{Duration, Instant};

use edgenet_core::kinds::custom_wasm::CustomWasm;
use edgenet_sandbox::executor::WasmExecutor;
use edgenet_sandbox::wasmtime_runner::Wasmtime;

fn main() {
    let mut args = std::env::args().skip(1);
    let module = std::fs::read(args.next().expect("GUEST.wasm")).unwrap();
    let dir = args.next().expect("DIR");
    let fuel: u64 = args.next().expect("FUEL").parse().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let inputs: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let executor = WasmExecutor::new(Wasmtime::new(Duration::from_secs(600)).unwrap());
    let started = Instant::now();
    let mut fuel_used = 0u64;
    // In tasks of at most the kind's fuel bound, as a job would be cut.
    let per_task = usize::try_from(CustomWasm::MAX_TASK_FUEL / fuel)
        .unwrap()
        .max(1);
    for chunk in inputs.chunks(per_task) {
        let task = CustomWasm {
            module: module.clone(),
            inputs: chunk.to_vec(),
            fuel,
            memory_mib: 16,
        };
        fuel_used += executor.run_task(&task).unwrap().fuel_used();
    }
    println!(
        "{{\"inputs\": {}, \"seconds\": {:.3}, \"fuel_used\": {fuel_used}}}",
        inputs.len(),
        started.elapsed().as_secs_f64()
    );
}
