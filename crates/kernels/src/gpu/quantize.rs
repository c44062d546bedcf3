//! int8 and binary quantization on the device, with the same rules and output types as
//! [`crate::quantize`].
//!
//! Binary codes are bit-identical to the CPU's. int8 codes go through a division, which WGSL
//! only promises to 2.5 ULP: a value within a rounding error of a half step may land one code
//! away from the CPU's. That is fine for search, but the network's quantization task compares
//! results byte for byte, so it runs on the CPU path everywhere (docs/decisions.md).

use super::readback::u32s;
use super::{Gpu, f32_bytes, gpu_error};
use crate::quantize::{BinaryCodes, Int8Codes};
use crate::reference::{KernelError, check};

/// Rows per dispatch: the per-dimension workgroup limit times 64 invocations.
const ROWS_PER_DISPATCH: usize = 65_535 * 64;

impl Gpu {
    /// [`crate::quantize::int8`] on the device (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn int8(&self, database: &[f32], dim: usize) -> Result<Int8Codes, KernelError> {
        pollster::block_on(self.int8_async(database, dim))
    }

    /// [`crate::quantize::int8`] on the device.
    pub async fn int8_async(&self, database: &[f32], dim: usize) -> Result<Int8Codes, KernelError> {
        let rows = check("database", database, dim)?;
        let words = dim.div_ceil(4);
        let mut codes = Vec::with_capacity(rows * dim);
        let mut scales = Vec::with_capacity(rows);
        for (start, n) in self.row_chunks(rows, dim, words) {
            let (packed, s) = self
                .quantize_rows(
                    &self.int8,
                    &database[start * dim..(start + n) * dim],
                    dim,
                    words,
                    true,
                )
                .await?;
            for row in packed.chunks_exact(words) {
                let bytes = row.iter().flat_map(|w| w.to_le_bytes());
                codes.extend(bytes.take(dim).map(|b| b as i8));
            }
            scales.extend(s);
        }
        Ok(Int8Codes::from_parts(dim, codes, scales))
    }

    /// [`crate::quantize::binary`] on the device (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn binary(&self, database: &[f32], dim: usize) -> Result<BinaryCodes, KernelError> {
        pollster::block_on(self.binary_async(database, dim))
    }

    /// [`crate::quantize::binary`] on the device.
    pub async fn binary_async(
        &self,
        database: &[f32],
        dim: usize,
    ) -> Result<BinaryCodes, KernelError> {
        let rows = check("database", database, dim)?;
        // Two u32 words per u64 word of the CPU layout, low half first.
        let words = dim.div_ceil(64) * 2;
        let mut bits = Vec::with_capacity(rows * words / 2);
        for (start, n) in self.row_chunks(rows, dim, words) {
            let (packed, _) = self
                .quantize_rows(
                    &self.binary,
                    &database[start * dim..(start + n) * dim],
                    dim,
                    words,
                    false,
                )
                .await?;
            bits.extend(
                packed
                    .chunks_exact(2)
                    .map(|w| u64::from(w[0]) | (u64::from(w[1]) << 32)),
            );
        }
        Ok(BinaryCodes::from_parts(dim, bits))
    }

    /// (start, rows) pieces that fit one dispatch and one binding.
    fn row_chunks(&self, rows: usize, dim: usize, words: usize) -> Vec<(usize, usize)> {
        let row_bytes = (dim.max(words) * 4) as u64;
        let per = ((self.max_binding / row_bytes) as usize).clamp(1, ROWS_PER_DISPATCH);
        (0..rows)
            .step_by(per)
            .map(|s| (s, per.min(rows - s)))
            .collect()
    }

    async fn quantize_rows(
        &self,
        pipeline: &wgpu::ComputePipeline,
        rows: &[f32],
        dim: usize,
        words: usize,
        with_scales: bool,
    ) -> Result<(Vec<u32>, Vec<f32>), KernelError> {
        let n = rows.len() / dim;
        let params = self.uniform([n as u32, dim as u32, words as u32, 0]);
        let data = self.init("rows", &f32_bytes(rows), wgpu::BufferUsages::STORAGE);
        let codes = self.storage("codes", (n * words * 4) as u64);
        let scales = self.storage("scales", (n * 4) as u64);
        let mut buffers = vec![&params, &data, &codes];
        if with_scales {
            buffers.push(&scales);
        }
        let bind = self.bind(pipeline, &buffers);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(n.div_ceil(64) as u32, 1, 1);
        }
        let scale_bytes = if with_scales { (n * 4) as u64 } else { 0 };
        let out = self
            .submit_and_read(
                encoder,
                &[(&codes, (n * words * 4) as u64), (&scales, scale_bytes)],
            )
            .await?;
        let scales = out[1]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if out[0].len() != n * words * 4 {
            return Err(gpu_error("short readback"));
        }
        Ok((u32s(&out[0]), scales))
    }
}
