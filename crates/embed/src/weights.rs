//! Tensors out of a safetensors file, as f32 (f16 and bf16 files are widened on load).

use safetensors::{Dtype, SafeTensors};

use crate::EmbedError;

/// A parsed safetensors file.
pub struct Weights<'a> {
    tensors: SafeTensors<'a>,
}

impl<'a> Weights<'a> {
    /// Parses the header; tensors are read on demand.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EmbedError> {
        let tensors =
            SafeTensors::deserialize(bytes).map_err(|e| EmbedError::Weights(e.to_string()))?;
        Ok(Self { tensors })
    }

    /// The tensor `name` as raw f16 bits, if the file stores it in f16 (checked to have `shape`).
    pub fn get_f16_bits(&self, name: &str, shape: &[usize]) -> Option<Vec<u16>> {
        let view = self.tensors.tensor(name).ok()?;
        if view.dtype() != Dtype::F16 || view.shape() != shape {
            return None;
        }
        let bits: Vec<u16> = view
            .data()
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        bits.iter()
            .all(|&b| half::f16::from_bits(b).is_finite())
            .then_some(bits)
    }

    /// The first dimension of tensor `name` (0 when it is missing or a scalar).
    pub fn rows(&self, name: &str) -> usize {
        self.tensors
            .tensor(name)
            .ok()
            .and_then(|t| t.shape().first().copied())
            .unwrap_or(0)
    }

    /// The tensor `name` as f32, checked to have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError> {
        let bad = |m: String| EmbedError::Weights(format!("{name}: {m}"));
        let view = self.tensors.tensor(name).map_err(|e| bad(e.to_string()))?;
        if view.shape() != shape {
            return Err(bad(format!("shape {:?}, expected {shape:?}", view.shape())));
        }
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => return Err(bad(format!("dtype {other:?}, expected F32, F16 or BF16"))),
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("value {i} is not finite")));
        }
        Ok(values)
    }
}

/// The same file with every f32 tensor rounded to f16 (`edgenet_model_files::to_f16`, which
/// the relay uses without the kernels).
pub fn to_f16(bytes: &[u8]) -> Result<Vec<u8>, EmbedError> {
    edgenet_model_files::to_f16(bytes).map_err(|e| EmbedError::Weights(e.0))
}
