//! `edgenet-wasm-sandbox`: a page's side of `custom_wasm`, in a module of its own that a compute
//! Worker loads on its first task of the kind (a page that never runs one never downloads it).
//! The module runs in the browser's own engine, in a sandbox Worker (`pkg/src/sandbox-worker.js`);
//! this module does what must be the same on every runner:
//!
//! - `prepareTask`: the task's payload read (EN-140/141) and its module prepared with the
//!   task's limits (EN-601 to EN-606), its ABI checked from the bytes (so a module without it
//!   is told apart before anything runs, as the engines' typed lookups do);
//! - `finishRuns`: what the sandbox Worker saw of each run (output, ABI failure or trap, and the
//!   fuel and depth globals after it) ended as every runner ends a call
//!   (`edgenet_sandbox::abi::classify`), and the task's result encoded.
//!
//! An adapter only: errors are `JsError`s whose message starts with the code.
#![allow(unsafe_code)] // wasm-bindgen's generated glue

use edgenet_core::ErrorCode;
use edgenet_core::kinds::custom_wasm::CustomWasm;
use edgenet_sandbox::abi::{self, MAX_OUTPUT, Run, Trap};
use edgenet_sandbox::{Limits, prepare};
use wasm_bindgen::prelude::*;

fn js_error<E: ErrorCode + core::fmt::Display>(err: E) -> JsError {
    JsError::new(&format!("{}: {err}", err.code()))
}

fn set(obj: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object does not fail.
    let _ = js_sys::Reflect::set(obj, &key.into(), value);
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// A task's payload read and its module prepared: `{module, hash, inputs, fuel, memoryMib,
/// maxDepth, maxOutput, abi}` (`module` the prepared bytes, `hash` their SHA-256 in hex, `abi` a
/// message when the module lacks the entry-point ABI, else `undefined`).
#[wasm_bindgen(js_name = prepareTask)]
pub fn prepare_task(payload: &[u8]) -> Result<JsValue, JsError> {
    let task = CustomWasm::decode(payload).map_err(js_error)?;
    let limits = Limits::for_task(task.memory_mib);
    let prepared = prepare(&task.module, &limits).map_err(js_error)?;
    let out = js_sys::Object::new();
    let inputs = js_sys::Array::new();
    for input in &task.inputs {
        inputs.push(&js_sys::Uint8Array::from(&input[..]).into());
    }
    set(
        &out,
        "module",
        &js_sys::Uint8Array::from(&prepared.bytes[..]).into(),
    );
    set(
        &out,
        "hash",
        &edgenet_core::radix::hex(&prepared.hash).into(),
    );
    set(&out, "inputs", &inputs.into());
    // At most 10¹¹: exact as a double.
    set(&out, "fuel", &(task.fuel as f64).into());
    set(&out, "memoryMib", &task.memory_mib.into());
    set(&out, "maxDepth", &limits.max_depth.into());
    set(&out, "maxOutput", &(MAX_OUTPUT as u32).into());
    if let Err(trap) = abi::check_exports(&prepared.bytes) {
        set(&out, "abi", &trap.to_string().into());
    }
    Ok(out.into())
}

/// The task's encoded result from what the sandbox Worker saw of each run, in input order: each
/// `{output: Uint8Array}`, `{abi: string}` or `{trapped: string}`, with `left` (the fuel global
/// after the call, a number) and `depth` (the depth global). `fuel` is the task's fuel per run.
#[wasm_bindgen(js_name = finishRuns)]
pub fn finish_runs(fuel: f64, memory_mib: u32, runs: js_sys::Array) -> Result<Vec<u8>, JsError> {
    let limits = Limits::for_task(memory_mib);
    let fuel = fuel as i64;
    let runs: Vec<Run> = runs
        .iter()
        .map(|r| {
            let output = get(&r, "output");
            let abi = get(&r, "abi");
            let ended = if let Some(bytes) = output.dyn_ref::<js_sys::Uint8Array>() {
                Ok(bytes.to_vec())
            } else if let Some(m) = abi.as_string() {
                Err(Trap::Abi(m))
            } else {
                Err(Trap::Wasm(
                    get(&r, "trapped").as_string().unwrap_or_default(),
                ))
            };
            let left = get(&r, "left").as_f64().unwrap_or(0.0) as i64;
            let depth = get(&r, "depth").as_f64().unwrap_or(0.0) as i32;
            abi::classify(ended, fuel, left, depth, &limits)
        })
        .collect();
    abi::runs_of(runs).encode().map_err(js_error)
}
