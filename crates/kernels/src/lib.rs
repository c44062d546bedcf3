//! `edgenet-kernels`: the compute EdgeNet sells.
//!
//! Every kernel has one CPU reference implementation ([`reference`]), written for clarity rather
//! than speed: it is the oracle that the SIMD and wgpu/WGSL backends are tested
//! against on random inputs. [`execute`] runs a task's payload on them.

pub mod backend;
pub mod execute;
pub mod fuzz_targets;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod hnsw;
pub mod nn;
pub mod quantize;
pub mod reference;
pub mod sample;
pub mod simd;
pub mod topk;

pub use reference::{KernelError, Metric, Neighbor};
