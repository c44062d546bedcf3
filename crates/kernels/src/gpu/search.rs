//! k-NN on the device: the database uploaded once in tiles, scores and top-k selection in WGSL,
//! k hits per query read back.

use super::readback::u32s;
use super::{BATCH_QB, Gpu, f32_bytes, gpu_error};
use crate::reference::{KernelError, Metric, Neighbor, check, squared_norms};
use crate::topk::TopK;

/// Rows per tile of the uploaded layout (and invocations per scoring workgroup).
const TILE: usize = 64;
/// Candidates one top-k workgroup sorts (`B` in topk.wgsl).
const BLOCK: usize = 2048;
/// The largest k selected on the device: a round must at least halve the candidates. The
/// protocol's k never exceeds it (`core::task::limits::MAX_K`); a larger k is selected on the host.
pub const MAX_DEVICE_K: usize = BLOCK / 2;
/// Index of padding candidates (topk.wgsl's `NONE`).
const NONE: u32 = u32::MAX;
/// The WebGPU default (and common) limit on workgroups per dispatch dimension.
const MAX_GROUPS: usize = 65_535;

/// A database on the device, split into chunks that each fit one storage binding.
pub struct GpuMatrix {
    dim: usize,
    dim4: usize,
    rows: usize,
    chunks: Vec<Chunk>,
}

struct Chunk {
    start: usize,
    rows: usize,
    buffer: wgpu::Buffer,
}

impl GpuMatrix {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

/// The f32 a top-k key stands for (inverse of `sort_key` in the shaders).
fn from_key(key: u32) -> f32 {
    if key & 0x8000_0000 != 0 {
        f32::from_bits(key ^ 0x8000_0000)
    } else {
        f32::from_bits(!key)
    }
}

/// `sort_key` of the shaders: larger key, better score, in `f32::total_cmp` order.
fn sort_key(s: f32) -> u32 {
    let b = s.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b ^ 0x8000_0000
    }
}

/// Rows padded to a multiple of 4 values, stored tile by tile, column-major inside a tile.
fn tiled(rows: &[f32], dim: usize, dim4: usize) -> Vec<f32> {
    let n = rows.len() / dim;
    let tiles = n.div_ceil(TILE);
    let mut out = vec![0f32; tiles * TILE * dim4 * 4];
    for (r, row) in rows.chunks_exact(dim).enumerate() {
        let tile = (r / TILE) * dim4 * TILE * 4;
        for (c, &v) in row.iter().enumerate() {
            out[tile + ((c / 4) * TILE + r % TILE) * 4 + c % 4] = v;
        }
    }
    out
}

/// Queries padded to a multiple of 4 values.
fn padded(queries: &[f32], dim: usize, dim4: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(queries.len() / dim * dim4 * 4);
    for q in queries.chunks_exact(dim) {
        out.extend_from_slice(q);
        out.resize(out.len() + dim4 * 4 - dim, 0.0);
    }
    out
}

impl Gpu {
    /// Uploads a row-major database (checked like every kernel input).
    pub fn upload(&self, database: &[f32], dim: usize) -> Result<GpuMatrix, KernelError> {
        let rows = check("database", database, dim)?;
        let dim4 = dim.div_ceil(4);
        let row_bytes = (dim4 * 16) as u64;
        let per_chunk =
            ((self.max_binding / row_bytes) as usize).min(MAX_GROUPS * TILE) / TILE * TILE;
        if per_chunk == 0 {
            return Err(KernelError::Shape(format!(
                "dimension {dim} is too large for this GPU's storage bindings"
            )));
        }
        let chunks = (0..rows)
            .step_by(per_chunk)
            .map(|start| {
                let n = per_chunk.min(rows - start);
                let data = tiled(&database[start * dim..(start + n) * dim], dim, dim4);
                Chunk {
                    start,
                    rows: n,
                    buffer: self.init("database", &f32_bytes(&data), wgpu::BufferUsages::STORAGE),
                }
            })
            .collect();
        Ok(GpuMatrix {
            dim,
            dim4,
            rows,
            chunks,
        })
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
        check("queries", queries, dim)?;
        let matrix = self.upload(database, dim)?;
        self.search_async(&matrix, metric, queries, k).await
    }

    /// k-NN against an uploaded database (native; blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn search(
        &self,
        matrix: &GpuMatrix,
        metric: Metric,
        queries: &[f32],
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        pollster::block_on(self.search_async(matrix, metric, queries, k))
    }

    /// k-NN against an uploaded database.
    pub async fn search_async(
        &self,
        matrix: &GpuMatrix,
        metric: Metric,
        queries: &[f32],
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        let nq = check("queries", queries, matrix.dim)?;
        if matrix.rows == 0 || k == 0 {
            return Ok(vec![Vec::new(); nq]);
        }
        let q_norms = squared_norms(queries, matrix.dim);
        let queries = padded(queries, matrix.dim, matrix.dim4);
        let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
        let width = matrix.dim4 * 4;
        // Every (chunk, query group) pass goes into one submission with one readback, up to a
        // binding's worth of scores in flight: a round trip to the device costs about as much as
        // scanning 100,000 rows on a fast GPU.
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let mut pending: Vec<(usize, usize, Selected)> = Vec::new();
        let mut in_flight = 0u64;
        for chunk in &matrix.chunks {
            // Queries per pass: as many as keep the score matrix within one binding.
            let group =
                ((self.max_binding / (chunk.rows as u64 * 4)) as usize).clamp(1, MAX_GROUPS);
            for g0 in (0..nq).step_by(group) {
                let g = group.min(nq - g0);
                let keys = self.encode_scores(
                    &mut encoder,
                    matrix,
                    chunk,
                    metric,
                    &queries[g0 * width..(g0 + g) * width],
                    &q_norms[g0..g0 + g],
                );
                let selected = self.encode_select(&mut encoder, keys, chunk.rows, g, k)?;
                pending.push((chunk.start, g0, selected));
                in_flight += (chunk.rows * g * 4) as u64;
                if in_flight >= self.max_binding {
                    let done = std::mem::replace(
                        &mut encoder,
                        self.device.create_command_encoder(&Default::default()),
                    );
                    self.merge(done, std::mem::take(&mut pending), &mut tops)
                        .await?;
                    in_flight = 0;
                }
            }
        }
        if !pending.is_empty() {
            self.merge(encoder, pending, &mut tops).await?;
        }
        Ok(tops.into_iter().map(TopK::into_sorted).collect())
    }

    /// The `k` best of `scores`, with the same contract as [`crate::reference::top_k`] (native;
    /// blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn top_k(&self, scores: &[f32], k: usize) -> Result<Vec<Neighbor>, KernelError> {
        pollster::block_on(self.top_k_async(scores, k))
    }

    /// [`Gpu::top_k`] for async callers. Selection runs on the device for k up to
    /// [`MAX_DEVICE_K`], on the host beyond.
    pub async fn top_k_async(
        &self,
        scores: &[f32],
        k: usize,
    ) -> Result<Vec<Neighbor>, KernelError> {
        if scores.len() as u64 * 4 > self.max_binding || scores.len() >= NONE as usize {
            return Err(KernelError::Shape(format!(
                "{} scores do not fit one GPU storage binding",
                scores.len()
            )));
        }
        if scores.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let keys: Vec<u8> = scores
            .iter()
            .flat_map(|s| sort_key(*s).to_le_bytes())
            .collect();
        let keys = self.init(
            "keys",
            &keys,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let selected = self.encode_select(&mut encoder, keys, scores.len(), 1, k)?;
        let mut tops = vec![TopK::new(k)];
        self.merge(encoder, vec![(0, 0, selected)], &mut tops)
            .await?;
        Ok(tops.pop().map(TopK::into_sorted).unwrap_or_default())
    }

    /// Seconds spent scoring and then selecting (with readback) for one chunk's pass, each phase
    /// submitted and waited for alone: where a search's time goes, for `gpu_bench`.
    #[cfg(not(target_arch = "wasm32"))]
    #[doc(hidden)]
    pub fn time_phases(&self, matrix: &GpuMatrix, queries: &[f32], k: usize) -> (f64, f64) {
        let g = queries.len() / matrix.dim;
        let chunk = &matrix.chunks[0];
        let q_norms = squared_norms(queries, matrix.dim);
        let queries = padded(queries, matrix.dim, matrix.dim4);
        let start = std::time::Instant::now();
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let keys = self.encode_scores(&mut encoder, matrix, chunk, Metric::Dot, &queries, &q_norms);
        self.queue.submit([encoder.finish()]);
        let _ = self.device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: None,
        });
        let scored = start.elapsed().as_secs_f64();
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let mut tops: Vec<TopK> = (0..g).map(|_| TopK::new(k)).collect();
        if let Ok(selected) = self.encode_select(&mut encoder, keys, chunk.rows, g, k) {
            let _ = pollster::block_on(self.merge(encoder, vec![(0, 0, selected)], &mut tops));
        }
        (scored, start.elapsed().as_secs_f64() - scored)
    }

    /// Encodes the scoring pass of `queries` (padded) against one chunk; returns the keys buffer
    /// it fills (query-major, `chunk.rows` per query).
    fn encode_scores(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        matrix: &GpuMatrix,
        chunk: &Chunk,
        metric: Metric,
        queries: &[f32],
        q_norms: &[f32],
    ) -> wgpu::Buffer {
        let g = q_norms.len();
        let (pipeline, qb) = if g == 1 {
            (&self.scores_single, 1)
        } else {
            (&self.scores_batch, BATCH_QB as usize)
        };
        let metric_id = match metric {
            Metric::Dot => 0,
            Metric::Cosine => 1,
            Metric::L2 => 2,
        };
        let params = self.uniform([chunk.rows as u32, matrix.dim4 as u32, g as u32, metric_id]);
        let q_buf = self.init("queries", &f32_bytes(queries), wgpu::BufferUsages::STORAGE);
        let qn_buf = self.init(
            "query_norms",
            &f32_bytes(q_norms),
            wgpu::BufferUsages::STORAGE,
        );
        let keys = self.storage("keys", (chunk.rows * g * 4) as u64);
        let bind = self.bind(pipeline, &[&params, &q_buf, &chunk.buffer, &qn_buf, &keys]);
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(chunk.rows.div_ceil(TILE) as u32, g.div_ceil(qb) as u32, 1);
        }
        keys
    }

    /// Encodes top-`k` selection over `g` queries' `m` keys each (query-major in `keys`).
    fn encode_select(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        keys: wgpu::Buffer,
        m: usize,
        g: usize,
        k: usize,
    ) -> Result<Selected, KernelError> {
        if k > MAX_DEVICE_K {
            // Host selection: every key is read back.
            return Ok(Selected {
                keys,
                index: None,
                per_query: m,
                queries: g,
            });
        }
        let kk = k.min(BLOCK / 2);
        let (mut in_keys, mut m, mut first) = (keys, m, true);
        let mut in_index = in_keys.clone();
        loop {
            let blocks = m.div_ceil(BLOCK);
            if blocks > MAX_GROUPS {
                return Err(gpu_error(format!("{m} candidates per query is too many")));
            }
            let out_per_query = blocks * kk;
            let params =
                self.uniform([m as u32, kk as u32, out_per_query as u32, u32::from(first)]);
            let out_keys = self.storage("topk-keys", (out_per_query * g * 4) as u64);
            let out_index = self.storage("topk-index", (out_per_query * g * 4) as u64);
            let bind = self.bind(
                &self.topk,
                &[&params, &in_keys, &in_index, &out_keys, &out_index],
            );
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.topk);
                pass.set_bind_group(0, &bind, &[]);
                pass.dispatch_workgroups(blocks as u32, g as u32, 1);
            }
            (in_keys, in_index, m, first) = (out_keys, out_index, out_per_query, false);
            if blocks == 1 {
                break;
            }
        }
        Ok(Selected {
            keys: in_keys,
            index: Some(in_index),
            per_query: m,
            queries: g,
        })
    }

    /// Submits `encoder`, reads every selection back and pushes its hits into `tops` (each
    /// selection tagged with its chunk's first row and its first query).
    async fn merge(
        &self,
        encoder: wgpu::CommandEncoder,
        selections: Vec<(usize, usize, Selected)>,
        tops: &mut [TopK],
    ) -> Result<(), KernelError> {
        let mut sources = Vec::new();
        for (_, _, s) in &selections {
            let bytes = (s.per_query * s.queries * 4) as u64;
            sources.push((&s.keys, bytes));
            if let Some(index) = &s.index {
                sources.push((index, bytes));
            }
        }
        let mut out = self.submit_and_read(encoder, &sources).await?.into_iter();
        for (row0, q0, s) in &selections {
            let keys = u32s(&out.next().unwrap_or_default());
            let index = s
                .index
                .as_ref()
                .map(|_| u32s(&out.next().unwrap_or_default()));
            for (qi, ks) in keys.chunks_exact(s.per_query).enumerate() {
                let top = &mut tops[q0 + qi];
                for (j, &key) in ks.iter().enumerate() {
                    let local = match &index {
                        Some(ix) => ix[qi * s.per_query + j],
                        None => j as u32,
                    };
                    if local != NONE {
                        top.push(*row0 as u32 + local, from_key(key));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A selection encoded but not yet read: `per_query` (key, index) pairs for each of `queries`
/// queries, or every key in position order when `index` is `None` (host selection).
struct Selected {
    keys: wgpu::Buffer,
    index: Option<wgpu::Buffer>,
    per_query: usize,
    queries: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_key_orders_like_total_cmp_and_round_trips() {
        let values = [
            f32::NEG_INFINITY,
            -3.5,
            -0.0,
            0.0,
            1e-40,
            2.0,
            f32::MAX,
            f32::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(sort_key(w[0]) < sort_key(w[1]), "{} {}", w[0], w[1]);
        }
        for v in values {
            assert_eq!(from_key(sort_key(v)).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn tiled_layout_puts_neighbouring_rows_side_by_side() {
        // 65 rows of dim 5 (dim4 2): row r, column c holds r * 10 + c.
        let rows: Vec<f32> = (0..65)
            .flat_map(|r| (0..5).map(move |c| (r * 10 + c) as f32))
            .collect();
        let t = tiled(&rows, 5, 2);
        assert_eq!(t.len(), 2 * TILE * 2 * 4);
        assert_eq!(t[0..4], [0.0, 1.0, 2.0, 3.0]); // row 0, columns 0..4
        assert_eq!(t[4..8], [10.0, 11.0, 12.0, 13.0]); // row 1 next to it
        assert_eq!(t[TILE * 4..TILE * 4 + 4], [4.0, 0.0, 0.0, 0.0]); // row 0, column 4 + padding
        assert_eq!(
            t[2 * TILE * 4..2 * TILE * 4 + 4],
            [640.0, 641.0, 642.0, 643.0]
        ); // row 64
    }
}
