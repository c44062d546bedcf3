//! Transformer kernels: what a BERT-style encoder's forward pass is made of.
//!
//! - [`linear`]: `y = x · Wᵀ + b` on weights packed once at load (AVX2 + FMA, wasm `simd128`, or a
//!   portable loop), optionally split across threads;
//! - [`ops`]: GELU, residual + layer norm, masked softmax attention, mean pooling, L2
//!   normalization;
//! - [`reference`]: the plain f64 oracle each of them is tested against on random shapes.

pub mod linear;
pub mod ops;
pub mod reference;

pub use linear::PackedLinear;
