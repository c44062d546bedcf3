//! The transformer kernels of [`crate::nn`] in WGSL (`nn.wgsl`): linear layers (with GELU fused),
//! residual + layer norm, masked attention, mean pooling with normalization.
//!
//! Tensors stay on the device ([`Tensor`]); a [`Graph`] records kernels into one command
//! submission and reads back only what is asked for, so a model uploads its weights once and a
//! forward pass costs one round trip. The one-shot calls ([`Gpu::linear`] and the others) are a
//! graph of one kernel; `tests/gpu_nn.rs` holds each to [`crate::nn::reference`] (on lavapipe in
//! CI, and in Chromium on WebGPU through the same code).

use super::{Gpu, build_pipeline, f32_bytes, gpu_error};
use crate::nn::ops::QkvLayout;
use crate::reference::KernelError;

const NN: &str = include_str!("nn.wgsl");
/// Widest attention head the shader's private accumulator holds.
pub const MAX_HEAD_DIM: usize = 64;

/// The four pipelines of `nn.wgsl`.
pub(super) struct Pipelines {
    linear: wgpu::ComputePipeline,
    layer_norm: wgpu::ComputePipeline,
    attention: wgpu::ComputePipeline,
    pool: wgpu::ComputePipeline,
}

/// f32 values on the device.
pub struct Tensor {
    buffer: wgpu::Buffer,
    len: usize,
}

impl Tensor {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Kernels recorded for one submission.
pub struct Graph<'g> {
    gpu: &'g Gpu,
    encoder: wgpu::CommandEncoder,
}

impl Gpu {
    fn nn(&self) -> &Pipelines {
        self.nn.get_or_init(|| {
            let p = |entry: &str| build_pipeline(&self.device, entry, NN.into(), entry);
            Pipelines {
                linear: p("linear"),
                layer_norm: p("add_layer_norm"),
                attention: p("attention"),
                pool: p("mean_pool_normalize"),
            }
        })
    }

    /// Uploads `values`.
    pub fn tensor(&self, values: &[f32]) -> Tensor {
        Tensor {
            buffer: self.init(
                "tensor",
                &f32_bytes(values),
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            ),
            len: values.len(),
        }
    }

    /// A tensor of `len` values to be written by kernels.
    pub fn scratch(&self, len: usize) -> Tensor {
        Tensor {
            buffer: self.storage("scratch", (len * 4) as u64),
            len,
        }
    }

    /// Writes `values` into `t` (at most its length).
    pub fn write(&self, t: &Tensor, values: &[f32]) {
        let n = values.len().min(t.len);
        self.queue
            .write_buffer(&t.buffer, 0, &f32_bytes(&values[..n]));
    }

    /// An empty graph.
    pub fn graph(&self) -> Graph<'_> {
        Graph {
            gpu: self,
            encoder: self.device.create_command_encoder(&Default::default()),
        }
    }

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
        let y = self.scratch(rows * out_dim);
        let mut g = self.graph();
        g.linear(
            &self.tensor(x),
            rows,
            &self.tensor(weight),
            &self.tensor(bias),
            out_dim,
            gelu,
            &y,
        )?;
        g.read(&y).await
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
        if gamma.len() != dim || beta.len() != dim {
            return Err(KernelError::Shape(format!(
                "layer norm: γ and β of dim {dim}"
            )));
        }
        let y = self.scratch(x.len());
        let mut g = self.graph();
        let norm = self.tensor(&[gamma, beta].concat());
        g.add_layer_norm(&self.tensor(x), &self.tensor(residual), dim, &norm, eps, &y)?;
        g.read(&y).await
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
        let y = self.scratch(seq * heads * head_dim);
        let mut g = self.graph();
        g.attention(&self.tensor(qkv), layout, seq, heads, head_dim, valid, &y)?;
        g.read(&y).await
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
        let y = self.scratch(dim);
        let mut g = self.graph();
        g.mean_pool_normalize(&self.tensor(x), dim, valid, &y)?;
        g.read(&y).await
    }
}

impl Graph<'_> {
    /// `y = x · Wᵀ + b` for `rows` rows (`w` is `out_dim × in`), GELU after when `gelu`.
    #[allow(clippy::too_many_arguments)]
    pub fn linear(
        &mut self,
        x: &Tensor,
        rows: usize,
        w: &Tensor,
        b: &Tensor,
        out_dim: usize,
        gelu: bool,
        y: &Tensor,
    ) -> Result<(), KernelError> {
        let in_dim = x.len / rows.max(1);
        if rows == 0
            || in_dim == 0
            || x.len < rows * in_dim
            || w.len != out_dim * in_dim
            || b.len != out_dim
            || y.len < rows * out_dim
        {
            return Err(KernelError::Shape(format!(
                "linear: {rows} rows of {} into {out_dim}",
                x.len
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
        self.dispatch(&self.gpu.nn().linear, params, [x, w, b], y, groups);
        Ok(())
    }

    /// `y = LayerNorm(x + residual)` over rows of `dim`; `norm` is `[γ | β]`.
    pub fn add_layer_norm(
        &mut self,
        x: &Tensor,
        residual: &Tensor,
        dim: usize,
        norm: &Tensor,
        eps: f32,
        y: &Tensor,
    ) -> Result<(), KernelError> {
        if dim == 0
            || !x.len.is_multiple_of(dim)
            || residual.len < x.len
            || norm.len != 2 * dim
            || y.len < x.len
        {
            return Err(KernelError::Shape(format!(
                "layer norm: {} values of dim {dim}",
                x.len
            )));
        }
        let rows = x.len / dim;
        let params = [rows as u32, dim as u32, 0, eps.to_bits(), 0, 0, 0, 0];
        self.dispatch(
            &self.gpu.nn().layer_norm,
            params,
            [x, residual, norm],
            y,
            (rows.div_ceil(64) as u32, 1),
        );
        Ok(())
    }

    /// `y` (`seq × heads·head_dim`) = attention over the fused rows of `qkv`, keys past `valid`
    /// masked.
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &mut self,
        qkv: &Tensor,
        layout: QkvLayout,
        seq: usize,
        heads: usize,
        head_dim: usize,
        valid: usize,
        y: &Tensor,
    ) -> Result<(), KernelError> {
        let fits = seq > 0
            && heads > 0
            && (1..=MAX_HEAD_DIM).contains(&head_dim)
            && (1..=seq).contains(&valid)
            && qkv.len >= seq * layout.stride
            && [layout.q_off, layout.k_off, layout.v_off]
                .iter()
                .all(|&o| o + heads * head_dim <= layout.stride)
            && y.len >= seq * heads * head_dim;
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
        self.dispatch(
            &self.gpu.nn().attention,
            params,
            [qkv, qkv, qkv],
            y,
            ((seq * heads).div_ceil(64) as u32, 1),
        );
        Ok(())
    }

    /// `y` (`dim`) = the unit-length mean of the first `valid` rows of `x`.
    pub fn mean_pool_normalize(
        &mut self,
        x: &Tensor,
        dim: usize,
        valid: usize,
        y: &Tensor,
    ) -> Result<(), KernelError> {
        if dim == 0
            || !x.len.is_multiple_of(dim)
            || valid == 0
            || valid * dim > x.len
            || y.len < dim
        {
            return Err(KernelError::Shape(format!(
                "pooling: {} values of dim {dim}, {valid} valid",
                x.len
            )));
        }
        let params = [
            (x.len / dim) as u32,
            dim as u32,
            valid as u32,
            0,
            0,
            0,
            0,
            0,
        ];
        self.dispatch(&self.gpu.nn().pool, params, [x, x, x], y, (1, 1));
        Ok(())
    }

    /// Submits what was recorded and reads `t` back.
    pub async fn read(self, t: &Tensor) -> Result<Vec<f32>, KernelError> {
        let bytes = (t.len * 4) as u64;
        let read = self
            .gpu
            .submit_and_read(self.encoder, &[(&t.buffer, bytes)])
            .await?;
        if read[0].len() as u64 != bytes {
            return Err(gpu_error("short readback"));
        }
        Ok(read[0]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn dispatch(
        &mut self,
        pipeline: &wgpu::ComputePipeline,
        params: [u32; 8],
        inputs: [&Tensor; 3],
        y: &Tensor,
        groups: (u32, u32),
    ) {
        let bytes: Vec<u8> = params.iter().flat_map(|v| v.to_le_bytes()).collect();
        let params = self
            .gpu
            .init("nn-params", &bytes, wgpu::BufferUsages::UNIFORM);
        let bind = self.gpu.bind(
            pipeline,
            &[
                &params,
                &inputs[0].buffer,
                &inputs[1].buffer,
                &inputs[2].buffer,
                &y.buffer,
            ],
        );
        let mut pass = self.encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, 1);
    }
}
