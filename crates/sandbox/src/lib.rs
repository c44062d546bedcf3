//! `custom_wasm`'s preparation: a submitter's WebAssembly module made fit to run on volunteers'
//! machines, the same way on every one of them. Pure (no IO), built natively and for wasm32.
//!
//! [`prepare`] takes a module and the task's [`Limits`] and returns new module bytes, or refuses
//! with a stable code (EN-6xx):
//! - **validated** against the allowed feature set (the MVP with mutable globals, saturating
//!   float-to-int, sign extension, multi-value, bulk memory, reference types (`funcref` only) and
//!   128-bit SIMD; no threads, relaxed SIMD, memory64, multiple memories, tail calls, exceptions
//!   or GC), with no import and no start function, and within the size bounds of [`Limits`];
//! - **memory capped**: its one memory's maximum is at most the task's memory limit;
//! - **metered**: an `i64` fuel global, exported as [`FUEL_EXPORT`], that the runner sets to the
//!   task's fuel before a call. Every straight-line run of instructions pays its cost (one per
//!   instruction, [`meter`]) before it runs, and bulk memory and table operations and growth pay
//!   for their size; a run that takes the fuel below zero traps. Fuel used is the same number on
//!   every engine: the module counts it itself;
//! - **NaNs canonical**: after every float operation that may produce a NaN (scalar and SIMD), a
//!   NaN becomes the canonical one, so engines that pick NaN bits differently agree;
//! - **stack bounded**: an `i32` depth global, exported as [`DEPTH_EXPORT`], counts the calls in
//!   progress; a call past [`Limits::max_depth`] traps, long before any engine's own stack limit.
//!
//! The output depends only on the input bytes and the limits: the same on every platform
//! (`tests/prepare.rs` pins a hash). The runner tells the traps apart by the globals: fuel
//! below zero is out of fuel (EN-611), depth past the bound is a stack overflow (EN-612).

pub mod abi;
mod error;
#[cfg(feature = "runner")]
pub mod executor;
#[doc(hidden)]
pub mod fuzz_targets;
mod limits;
pub mod meter;
mod prepare;
#[cfg(feature = "runner")]
mod recent;
#[cfg(feature = "runner")]
pub mod runner;
#[doc(hidden)]
pub mod vectors;
#[cfg(feature = "wasmtime")]
pub mod wasmtime_runner;

pub use error::SandboxError;
pub use limits::Limits;
pub use prepare::{Prepared, prepare};

/// The exported `i64` global that holds the fuel left (set by the runner before a call).
pub const FUEL_EXPORT: &str = "edgenet_fuel";
/// The exported `i32` global that counts the calls in progress.
pub const DEPTH_EXPORT: &str = "edgenet_depth";
