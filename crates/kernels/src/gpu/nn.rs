//! The transformer kernels of [`crate::nn`] in WGSL (`nn.wgsl`): linear layers (with GELU fused),
//! residual + layer norm, masked attention, mean pooling with normalization. Each call uploads
//! its inputs and reads its output back; they are the building blocks a resident forward pass
//! will chain, and are tested one by one against [`crate::nn::reference`] (`tests/gpu_nn.rs`,
//! on lavapipe in CI; in Chromium on WebGPU through the same code).

use super::{Gpu, f32_bytes, gpu_error};
use crate::nn::ops::QkvLayout;
use crate::reference::KernelError;

const NN: &str = include_str!("nn.wgsl");
/// Widest attention head the shader's private accumulator holds.
pub const MAX_HEAD_DIM: usize = 64;

impl Gpu {
    /// `x · Wᵀ + b` (`weight` is `out_dim × in`), with GELU after when `gelu` (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn linear(
        &self,
        x: &[f32],
        rows: usize,
        weight: &[f32],
        out_dim: usize,
        bias: &[f32],
        gelu: bool,
    ) -> Result<Vec<f32>, KernelError> {
        pollster::block_on(self.linear_async(x, rows, weight, out_dim, bias, gelu))
    }

    /// [`Gpu::linear`] for async callers.
    pub async fn linear_async(
        &self,
        x: &[f32],
        rows: usize,
        weight: &[f32],
        out_dim: usize,
        bias: &[f32],
        gelu: bool,
    ) -> Result<Vec<f32>, KernelError> {
        let in_dim = x.len() / rows.max(1);
        if rows == 0
            || in_dim == 0
            || x.len() != rows * in_dim
            || weight.len() != out_dim * in_dim
            || bias.len() != out_dim
        {
            return Err(KernelError::Shape(format!(
                "linear: {rows} rows of {} into {out_dim}",
                x.len()
            )));
        }
        let params = [
            rows as u32,
            in_dim as u32,
            out_dim as u32,
            u32::from(gelu),
            0,
            0,
            0,
            0,
        ];
        let groups = (out_dim.div_ceil(16) as u32, rows.div_ceil(16) as u32);
        self.nn_run("linear", params, [x, weight, bias], rows * out_dim, groups)
            .await
    }

    /// `LayerNorm(x + residual)` over rows of `dim` (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn add_layer_norm(
        &self,
        x: &[f32],
        residual: &[f32],
        dim: usize,
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    ) -> Result<Vec<f32>, KernelError> {
        pollster::block_on(self.add_layer_norm_async(x, residual, dim, gamma, beta, eps))
    }

    /// [`Gpu::add_layer_norm`] for async callers.
    pub async fn add_layer_norm_async(
        &self,
        x: &[f32],
        residual: &[f32],
        dim: usize,
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    ) -> Result<Vec<f32>, KernelError> {
        if dim == 0
            || !x.len().is_multiple_of(dim)
            || residual.len() != x.len()
            || gamma.len() != dim
            || beta.len() != dim
        {
            return Err(KernelError::Shape(format!(
                "layer norm: {} values of dim {dim}",
                x.len()
            )));
        }
        let rows = x.len() / dim;
        let norm = [gamma, beta].concat();
        let params = [rows as u32, dim as u32, 0, eps.to_bits(), 0, 0, 0, 0];
        self.nn_run(
            "add_layer_norm",
            params,
            [x, residual, &norm],
            x.len(),
            (rows.div_ceil(64) as u32, 1),
        )
        .await
    }

    /// Masked multi-head attention over one sequence (as [`crate::nn::ops::attention`];
    /// native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn attention(
        &self,
        qkv: &[f32],
        layout: QkvLayout,
        seq: usize,
        heads: usize,
        head_dim: usize,
        valid: usize,
    ) -> Result<Vec<f32>, KernelError> {
        pollster::block_on(self.attention_async(qkv, layout, seq, heads, head_dim, valid))
    }

    /// [`Gpu::attention`] for async callers.
    pub async fn attention_async(
        &self,
        qkv: &[f32],
        layout: QkvLayout,
        seq: usize,
        heads: usize,
        head_dim: usize,
        valid: usize,
    ) -> Result<Vec<f32>, KernelError> {
        let fits = seq > 0
            && heads > 0
            && (1..=MAX_HEAD_DIM).contains(&head_dim)
            && (1..=seq).contains(&valid)
            && qkv.len() >= seq * layout.stride
            && [layout.q_off, layout.k_off, layout.v_off]
                .iter()
                .all(|&o| o + heads * head_dim <= layout.stride);
        if !fits {
            return Err(KernelError::Shape(format!(
                "attention: {seq} tokens, {heads} heads of {head_dim}, {valid} valid"
            )));
        }
        let params = [
            seq as u32,
            heads as u32,
            head_dim as u32,
            valid as u32,
            layout.stride as u32,
            layout.q_off as u32,
            layout.k_off as u32,
            layout.v_off as u32,
        ];
        self.nn_run(
            "attention",
            params,
            [qkv, &[0.0], &[0.0]],
            seq * heads * head_dim,
            ((seq * heads).div_ceil(64) as u32, 1),
        )
        .await
    }

    /// The unit-length mean of the first `valid` rows of `x` (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn mean_pool_normalize(
        &self,
        x: &[f32],
        dim: usize,
        valid: usize,
    ) -> Result<Vec<f32>, KernelError> {
        pollster::block_on(self.mean_pool_normalize_async(x, dim, valid))
    }

    /// [`Gpu::mean_pool_normalize`] for async callers.
    pub async fn mean_pool_normalize_async(
        &self,
        x: &[f32],
        dim: usize,
        valid: usize,
    ) -> Result<Vec<f32>, KernelError> {
        if dim == 0 || !x.len().is_multiple_of(dim) || valid == 0 || valid * dim > x.len() {
            return Err(KernelError::Shape(format!(
                "pooling: {} values of dim {dim}, {valid} valid",
                x.len()
            )));
        }
        let params = [
            (x.len() / dim) as u32,
            dim as u32,
            valid as u32,
            0,
            0,
            0,
            0,
            0,
        ];
        self.nn_run(
            "mean_pool_normalize",
            params,
            [x, &[0.0], &[0.0]],
            dim,
            (1, 1),
        )
        .await
    }

    /// Runs entry point `entry` of `nn.wgsl` on three inputs and reads back `out_len` floats.
    async fn nn_run(
        &self,
        entry: &str,
        params: [u32; 8],
        inputs: [&[f32]; 3],
        out_len: usize,
        groups: (u32, u32),
    ) -> Result<Vec<f32>, KernelError> {
        let pipeline = super::build_pipeline(&self.device, entry, NN.into(), entry);
        let bytes: Vec<u8> = params.iter().flat_map(|v| v.to_le_bytes()).collect();
        let params = self.init("nn-params", &bytes, wgpu::BufferUsages::UNIFORM);
        let bufs: Vec<wgpu::Buffer> = inputs
            .iter()
            .map(|v| self.init("nn-in", &f32_bytes(v), wgpu::BufferUsages::STORAGE))
            .collect();
        let out_bytes = (out_len * 4) as u64;
        let out = self.storage("nn-out", out_bytes);
        let bind = self.bind(&pipeline, &[&params, &bufs[0], &bufs[1], &bufs[2], &out]);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, 1);
        }
        let read = self.submit_and_read(encoder, &[(&out, out_bytes)]).await?;
        if read[0].len() != out_len * 4 {
            return Err(gpu_error("short readback"));
        }
        Ok(read[0]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}
