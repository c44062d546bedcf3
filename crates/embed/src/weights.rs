//! Tensors out of a safetensors file, as f32 (f16 and bf16 files are widened on load).

use safetensors::tensor::TensorView;
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

/// The same file with every f32 tensor rounded to f16 (round to nearest even; other types kept):
/// half the bytes for a browser to fetch. Deterministic: the same input gives the same bytes
/// (safetensors orders tensors by alignment, then name), so the result's SHA-256 can be published.
pub fn to_f16(bytes: &[u8]) -> Result<Vec<u8>, EmbedError> {
    let bad = |e: safetensors::SafeTensorError| EmbedError::Weights(e.to_string());
    let tensors = SafeTensors::deserialize(bytes).map_err(bad)?;
    let mut converted: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in tensors.tensors() {
        let data = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .flat_map(|b| {
                    half::f16::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes()
                })
                .collect(),
            _ => view.data().to_vec(),
        };
        let dtype = if view.dtype() == Dtype::F32 {
            Dtype::F16
        } else {
            view.dtype()
        };
        converted.push((name, dtype, view.shape().to_vec(), data));
    }
    let views = converted
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    safetensors::serialize(views, None).map_err(bad)
}
