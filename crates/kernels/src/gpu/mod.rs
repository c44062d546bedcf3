//! The wgpu/WGSL backend (feature `gpu`): scores on the GPU, top-k on the CPU with the same
//! [`TopK`] as the SIMD path, so every backend breaks ties the same way. One code path for Vulkan
//! natively (Mesa's lavapipe on machines without a GPU) and WebGPU in the browser.
//!
//! [`Gpu::new`] returns `None` when the machine has no adapter at all; callers (and tests) then
//! use the CPU path and say why.

use crate::reference::{KernelError, Metric, Neighbor, check};
use crate::topk::TopK;

const SHADER: &str = include_str!("scores.wgsl");
const WORKGROUP: u32 = 64;

/// A GPU with the scoring pipeline built.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    adapter: String,
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
            .request_adapter(&wgpu::RequestAdapterOptions::default())
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
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("scores"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("scores"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        Some(Self {
            device,
            queue,
            pipeline,
            layout,
            adapter: format!("{} ({:?})", info.name, info.backend),
            max_binding,
        })
    }

    /// The adapter's name and backend, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)"`.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// Batched k-NN with the same contract as [`crate::reference::knn`] (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn knn(
        &self,
        metric: Metric,
        queries: &[f32],
        database: &[f32],
        dim: usize,
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        pollster::block_on(self.knn_async(metric, queries, database, dim, k))
    }

    /// [`Gpu::knn`] for async callers: the only form in the browser, where nothing may block.
    pub async fn knn_async(
        &self,
        metric: Metric,
        queries: &[f32],
        database: &[f32],
        dim: usize,
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        let nq = check("queries", queries, dim)?;
        let n = check("database", database, dim)?;
        let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
        if n == 0 || k == 0 {
            return Ok(vec![Vec::new(); nq]);
        }
        let q_norms = crate::reference::squared_norms(queries, dim);
        // Rows per dispatch: what fits one storage binding, both for the rows and for the scores.
        let row_bytes = (dim * 4) as u64;
        let score_bytes = (nq * 4) as u64;
        let per_chunk = (self.max_binding / row_bytes.max(score_bytes))
            .clamp(1, u64::from(65_535 * WORKGROUP)) as usize;
        for start in (0..n).step_by(per_chunk) {
            let rows = per_chunk.min(n - start);
            let scores = self
                .scores(
                    metric,
                    queries,
                    &q_norms,
                    &database[start * dim..(start + rows) * dim],
                    dim,
                    rows,
                )
                .await?;
            for (qi, row_scores) in scores.chunks_exact(rows).enumerate() {
                for (r, &s) in row_scores.iter().enumerate() {
                    tops[qi].push((start + r) as u32, s);
                }
            }
        }
        Ok(tops.into_iter().map(TopK::into_sorted).collect())
    }

    async fn scores(
        &self,
        metric: Metric,
        queries: &[f32],
        q_norms: &[f32],
        rows: &[f32],
        dim: usize,
        n: usize,
    ) -> Result<Vec<f32>, KernelError> {
        use wgpu::util::DeviceExt;
        let nq = q_norms.len();
        let gpu_err = |what: &str| KernelError::Shape(format!("GPU: {what}"));
        let params = [
            n as u32,
            dim as u32,
            nq as u32,
            match metric {
                Metric::Dot => 0u32,
                Metric::Cosine => 1,
                Metric::L2 => 2,
            },
        ];
        let bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let init = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage,
                })
        };
        let params_buf = init(
            "params",
            &params
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect::<Vec<u8>>(),
            wgpu::BufferUsages::UNIFORM,
        );
        let q_buf = init("queries", &bytes(queries), wgpu::BufferUsages::STORAGE);
        let db_buf = init("database", &bytes(rows), wgpu::BufferUsages::STORAGE);
        let qn_buf = init("query_norms", &bytes(q_norms), wgpu::BufferUsages::STORAGE);
        let out_size = (n * nq * 4) as u64;
        let out_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("scores"),
            size: out_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read_buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: out_size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("scores"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: q_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: db_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: qn_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 4,
                    resource: out_buf.as_entire_binding(),
                },
            ],
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("scores"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("scores"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups((n as u32).div_ceil(WORKGROUP), nq as u32, 1);
        }
        encoder.copy_buffer_to_buffer(&out_buf, 0, &read_buf, 0, out_size);
        self.queue.submit([encoder.finish()]);
        let slice = read_buf.slice(..);
        let (tx, rx) = oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| tx.send(r));
        // Natively the map callback runs inside `poll`; in the browser `poll` does nothing and the
        // callback comes from the event loop while we await.
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| gpu_err(&e.to_string()))?;
        rx.await
            .ok_or_else(|| gpu_err("readback never completed"))?
            .map_err(|e| gpu_err(&e.to_string()))?;
        let data = slice
            .get_mapped_range()
            .map_err(|e| gpu_err(&e.to_string()))?;
        let scores = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        drop(data);
        read_buf.unmap();
        Ok(scores)
    }
}

/// A one-value channel whose receiver is a future: the map callback sends, the scan awaits.
mod oneshot {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    struct Slot<T> {
        value: Option<T>,
        waker: Option<Waker>,
        sender_gone: bool,
    }

    pub(super) struct Sender<T>(Arc<Mutex<Slot<T>>>);
    pub(super) struct Receiver<T>(Arc<Mutex<Slot<T>>>);

    pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let slot = Arc::new(Mutex::new(Slot {
            value: None,
            waker: None,
            sender_gone: false,
        }));
        (Sender(slot.clone()), Receiver(slot))
    }

    impl<T> Sender<T> {
        pub(super) fn send(self, value: T) {
            if let Ok(mut slot) = self.0.lock() {
                slot.value = Some(value);
            }
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            if let Ok(mut slot) = self.0.lock() {
                slot.sender_gone = true;
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
            }
        }
    }

    impl<T> Future for Receiver<T> {
        /// `None` if the sender went away without sending.
        type Output = Option<T>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            let Ok(mut slot) = self.0.lock() else {
                return Poll::Ready(None);
            };
            if let Some(v) = slot.value.take() {
                return Poll::Ready(Some(v));
            }
            if slot.sender_gone {
                return Poll::Ready(None);
            }
            slot.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
