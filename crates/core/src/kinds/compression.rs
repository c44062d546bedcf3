//! `compression`: quantization of vectors to int8 codes or sign bits (the brief's "adaptive
//! quantization"). Deterministic (IEEE division and rounding only), so honest workers return
//! identical bytes on every platform and results are compared byte for byte.

use serde::{Deserialize, Serialize};

use super::codec::{TaskError, decode_checked, encode_checked};
use super::vector_search::limits;
use super::{KindError, KindInfo, KindRules, Needs, PayloadRules, Price, TaskKind};

impl TaskKind {
    /// `compression`.
    pub const COMPRESSION: Self = Self::from_wire(2);
}

/// The registry's entry.
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::COMPRESSION,
    name: "compression",
    needs: Needs::Kernels,
    exact: false,
    canary_rank: None,
};

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::COMPRESSION
    }

    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        a == b && CompressedVectors::decode(a).is_ok()
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // The brief: 0.2 credit per MB of vectors (4 bytes a value).
        Price {
            micro_credits: 200_000,
            per: 1 << 20,
            unit: "byte",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        Compression::decode(payload)
            .map(drop)
            .map_err(KindError::of)
    }

    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        let t = Compression::decode(payload).map_err(KindError::of)?;
        Ok(t.vectors.len() as u64 * 4)
    }

    fn fuzz(&self, data: &[u8]) {
        let _ = Compression::decode(data);
        if CompressedVectors::decode(data).is_ok() {
            assert!(
                self.agree(data, data),
                "a compression result disagrees with itself"
            );
        }
    }

    /// Flips a bit of the last code byte: still decodes, but differs.
    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], _lie: super::Lie) -> Result<Vec<u8>, KindError> {
        Ok(super::encryption::flip_last_bit(result))
    }
}

/// How a `compression` task quantizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quantization {
    /// One signed byte per value and one f32 scale per row (`row ≈ scale × code`): 4× smaller.
    Int8,
    /// One sign bit per value (set when the value is > 0), rows padded to 64 bits: 32× smaller.
    Binary,
}

impl Quantization {
    /// The mode named `"int8"` or `"binary"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "int8" => Some(Self::Int8),
            "binary" => Some(Self::Binary),
            _ => None,
        }
    }

    /// Bytes of codes per row of `dim` values.
    pub fn row_bytes(self, dim: u32) -> usize {
        match self {
            Self::Int8 => dim as usize,
            Self::Binary => (dim as usize).div_ceil(64) * 8,
        }
    }
}

/// A `compression` task: quantize `vectors` (rows × dim, row-major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compression {
    /// Int8 or binary.
    pub mode: Quantization,
    /// Vector dimension.
    pub dim: u32,
    /// The vectors.
    pub vectors: Vec<f32>,
}

impl Compression {
    /// Checks shapes and limits (finite values are the kernels' check).
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.dim == 0 || self.dim > limits::MAX_DIM {
            return Err(TaskError::OutOfBounds(format!(
                "dim {} not in 1..={}",
                self.dim,
                limits::MAX_DIM
            )));
        }
        if self.vectors.is_empty()
            || !self.vectors.len().is_multiple_of(self.dim as usize)
            || self.vectors.len() > limits::MAX_VALUES
        {
            return Err(TaskError::OutOfBounds(format!(
                "vectors must be a non-empty multiple of dim with at most {} values",
                limits::MAX_VALUES
            )));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }
}

/// The result of a `compression`: per row, its codes (and for int8 its scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompressedVectors {
    /// The mode used.
    pub mode: Quantization,
    /// Vector dimension.
    pub dim: u32,
    /// Number of rows.
    pub rows: u32,
    /// Int8: one scale per row. Binary: empty.
    pub scales: Vec<f32>,
    /// `rows × mode.row_bytes(dim)` bytes: int8 codes as two's-complement bytes, or sign bits as
    /// little-endian 64-bit words (bit i of a row is value i).
    pub codes: Vec<u8>,
}

impl CompressedVectors {
    /// Checks that the lengths fit the shape.
    pub fn validate(&self) -> Result<(), TaskError> {
        let rows = self.rows as usize;
        let scales = if self.mode == Quantization::Int8 {
            rows
        } else {
            0
        };
        let fits = self.dim > 0
            && self.dim <= limits::MAX_DIM
            && rows <= limits::MAX_VALUES
            && self.scales.len() == scales
            && Some(self.codes.len()) == rows.checked_mul(self.mode.row_bytes(self.dim));
        if fits {
            Ok(())
        } else {
            Err(TaskError::OutOfBounds(format!(
                "{} rows of dim {} do not match {} scales and {} code bytes",
                self.rows,
                self.dim,
                self.scales.len(),
                self.codes.len()
            )))
        }
    }

    /// Encodes the result.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }
}
