//! The wgpu/WGSL backend (feature `gpu`). One code path for Vulkan natively (Mesa's lavapipe on
//! machines without a GPU, a real GPU elsewhere) and WebGPU in the browser:
//!
//! - [`Gpu::upload`] puts a database on the device once ([`GpuMatrix`]), in the tiled layout the
//!   scoring shader reads at full memory width;
//! - [`Gpu::search_async`] scores a query batch against it and selects the top k on the device
//!   (`topk.wgsl`, the same order as [`crate::topk::TopK`]), reading back only k hits per query;
//! - [`Gpu::top_k_async`] is that selection alone, and [`Gpu::int8_async`] /
//!   [`Gpu::binary_async`] are the quantizers of [`crate::quantize`];
//! - [`nn`]: the transformer kernels of [`crate::nn`] (linear with GELU, layer norm, attention,
//!   pooling).
//!
//! Every async method has a blocking twin natively. [`Gpu::new`] returns `None` when the machine
//! has no adapter at all; callers (and tests) then use the CPU path and say why.

pub mod nn;
mod quantize;
mod readback;
mod search;

pub use search::{GpuMatrix, MAX_DEVICE_K};

const SCORES: &str = include_str!("scores.wgsl");
const TOPK: &str = include_str!("topk.wgsl");
const QUANTIZE: &str = include_str!("quantize.wgsl");

/// Queries per scoring invocation for batches (one for single queries).
const BATCH_QB: u32 = 16;

/// A GPU with the pipelines built.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    scores_single: wgpu::ComputePipeline,
    scores_batch: wgpu::ComputePipeline,
    topk: wgpu::ComputePipeline,
    int8: wgpu::ComputePipeline,
    binary: wgpu::ComputePipeline,
    /// The transformer kernels' pipelines, built on first use (`nn.rs`).
    nn: std::sync::OnceLock<nn::Pipelines>,
    adapter: String,
    /// The adapter is a CPU implementation (lavapipe, SwiftShader, WARP).
    software: bool,
    max_binding: u64,
}

impl Gpu {
    /// The first adapter wgpu finds, or `None` when there is none (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Option<Self> {
        pollster::block_on(Self::new_async())
    }

    /// [`Gpu::new`] for async callers (the browser cannot block).
    pub async fn new_async() -> Option<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .ok()?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("edgenet-kernels"),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .ok()?;
        let pipeline = |label: &str, source: String, entry: &str| {
            build_pipeline(&device, label, source, entry)
        };
        let scores_single = pipeline("scores-1", scores_shader(1), "main");
        let scores_batch = pipeline("scores-batch", scores_shader(BATCH_QB), "main");
        let topk = pipeline("topk", TOPK.into(), "main");
        let int8 = pipeline("int8", QUANTIZE.into(), "int8_codes");
        let binary = pipeline("binary", QUANTIZE.into(), "binary_codes");
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        Some(Self {
            device,
            queue,
            scores_single,
            scores_batch,
            topk,
            int8,
            binary,
            nn: std::sync::OnceLock::new(),
            adapter: format!("{} ({:?})", info.name, info.backend),
            software: info.device_type == wgpu::DeviceType::Cpu,
            max_binding,
        })
    }

    /// The adapter's name and backend, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)"`.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// Whether the adapter runs on the CPU (lavapipe, SwiftShader): it shares the cores the
    /// SIMD kernels already use, so it is never faster than them for the transformer's work.
    pub fn is_software(&self) -> bool {
        self.software
    }

    /// The most bytes one storage binding holds here: a database larger than this is searched in
    /// chunks, one scoring and selection pass each.
    pub fn max_binding_bytes(&self) -> u64 {
        self.max_binding
    }

    /// Caps the bytes one storage binding may hold, as a small GPU (or a browser's default limit)
    /// would: tests use it to drive the chunked paths with small inputs.
    pub fn limit_binding_bytes(&mut self, bytes: u64) {
        self.max_binding = self.max_binding.min(bytes.max(16) / 16 * 16);
    }

    /// Device memory read bandwidth in GB/s, STREAM-style (`stream.wgsl`): `passes` full reads
    /// of a `bytes` buffer in one submission, median of 5. The anchor for the scan's GB/s.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_bandwidth_gbs(&self, bytes: u64, passes: u32) -> f64 {
        const GROUPS: u32 = 8192;
        let bytes = bytes.min(self.max_binding) / 16 * 16;
        let pipeline = self.pipeline("stream", include_str!("stream.wgsl").into(), "main");
        let data = self.storage("stream-data", bytes);
        let sink = self.storage("stream-sink", u64::from(GROUPS) * 256 * 4);
        let bind = self.bind(&pipeline, &[&data, &sink]);
        let mut times: Vec<f64> = (0..6)
            .map(|_| {
                let start = std::time::Instant::now();
                let mut encoder = self.device.create_command_encoder(&Default::default());
                for _ in 0..passes {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind, &[]);
                    pass.dispatch_workgroups(GROUPS, 1, 1);
                }
                self.queue.submit([encoder.finish()]);
                let _ = self.device.poll(wgpu::PollType::Wait {
                    submission_index: None,
                    timeout: None,
                });
                start.elapsed().as_secs_f64()
            })
            .skip(1)
            .collect();
        times.sort_by(f64::total_cmp);
        f64::from(passes) * bytes as f64 / times[times.len() / 2] / 1e9
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn pipeline(&self, label: &str, source: String, entry: &str) -> wgpu::ComputePipeline {
        build_pipeline(&self.device, label, source, entry)
    }

    fn uniform(&self, words: [u32; 4]) -> wgpu::Buffer {
        let bytes: Vec<u8> = words.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.init("params", &bytes, wgpu::BufferUsages::UNIFORM)
    }

    fn init(&self, label: &str, contents: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        // A zero-sized binding is invalid; an empty input still gets one word.
        let contents = if contents.is_empty() {
            &[0u8; 4][..]
        } else {
            contents
        };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
    }

    fn storage(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn bind(&self, pipeline: &wgpu::ComputePipeline, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }
}

fn build_pipeline(
    device: &wgpu::Device,
    label: &str,
    source: String,
    entry: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// The scoring shader for `qb` queries per invocation: one accumulator per query, unrolled (an
/// indexed array would spill to memory on many drivers).
fn scores_shader(qb: u32) -> String {
    let (mut decl, mut body, mut emit) = (String::new(), String::new(), String::new());
    for j in 0..qb {
        decl += &format!(
            "    var acc{j} = 0.0;\n    let qo{j} = min(q0 + {j}u, last) * params.dim4;\n"
        );
        body += &format!("        acc{j} = acc{j} + dot(queries[qo{j} + i], r);\n");
        emit += &format!("    emit(q0 + {j}u, row, acc{j}, norm);\n");
    }
    SCORES
        .replace("QB_VALUE", &qb.to_string())
        .replace("ACC_DECL", &decl)
        .replace("ACC_BODY", &body)
        .replace("ACC_EMIT", &emit)
}

/// Little-endian bytes of f32s.
fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn gpu_error(what: impl std::fmt::Display) -> crate::KernelError {
    crate::KernelError::Shape(format!("GPU: {what}"))
}
