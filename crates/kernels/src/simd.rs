//! The fast CPU path: one pass over the database per block of up to 8 queries, fused dot products
//! and row norms (so dot, cosine and L2 all come from the same pass), a bounded top-k per query,
//! and the rows split across threads.
//!
//! x86-64 uses AVX2 + FMA when the CPU has them (checked at run time); everywhere else a portable
//! loop with 8 independent accumulators, which LLVM vectorizes for the target (SSE2, NEON, or
//! wasm `simd128` when built with it). Results equal the reference within float-reassociation
//! noise; `tests/simd.rs` checks that on random inputs.

// Index loops over lanes, tiles and rows mirror the arithmetic here more plainly than iterators.
#![allow(clippy::needless_range_loop)]

use crate::reference::{KernelError, Metric, Neighbor, bad_row, check, check_shape};
use crate::topk::TopK;

/// Queries handled per pass over the database.
const BLOCK: usize = 8;

/// Which implementation [`knn`] uses on this machine.
pub fn backend() -> &'static str {
    if avx2_available() {
        "avx2"
    } else if WASM_SIMD {
        "wasm-simd128"
    } else {
        "portable-simd"
    }
}

/// WebAssembly SIMD is a build-time feature (`.cargo/config.toml` enables it for wasm32).
const WASM_SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// Whether the register-tiled scan runs here (AVX2 natively, simd128 in the browser).
fn tiled() -> bool {
    avx2_available() || WASM_SIMD
}

fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Batched k-NN with the same contract as [`crate::reference::knn`], on `threads` threads.
pub fn knn(
    metric: Metric,
    queries: &[f32],
    database: &[f32],
    dim: usize,
    k: usize,
    threads: usize,
) -> Result<Vec<Vec<Neighbor>>, KernelError> {
    let nq = check("queries", queries, dim)?;
    // The database is checked during the scan (a row with NaN, infinity or overflow has a
    // non-finite squared norm, which the scan computes anyway): a separate pass would read it twice.
    let n = check_shape("database", database, dim)?;
    if n == 0 || k == 0 {
        return Ok(vec![Vec::new(); nq]);
    }
    let q_norms = crate::reference::squared_norms(queries, dim);
    let threads = threads.clamp(1, n.div_ceil(1024).max(1));
    let rows_per = n.div_ceil(threads);
    if threads == 1 {
        // No thread at all: wasm32-unknown-unknown has none to spawn.
        let tops = scan(metric, queries, &q_norms, database, dim, 0, k)
            .map_err(|row| bad_row("database", database, dim, row))?;
        return Ok(tops.into_iter().map(TopK::into_sorted).collect());
    }
    let partials: Vec<Result<Vec<TopK>, usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = t * rows_per;
                let end = ((t + 1) * rows_per).min(n);
                let q_norms = &q_norms;
                scope.spawn(move || {
                    scan(
                        metric,
                        queries,
                        q_norms,
                        &database[start * dim..end * dim],
                        dim,
                        start as u32,
                        k,
                    )
                    .map_err(|row| start + row)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    // The first bad row of the lowest thread that found one is the first bad row overall.
    let partials: Vec<Vec<TopK>> = partials
        .into_iter()
        .collect::<Result<_, usize>>()
        .map_err(|row| bad_row("database", database, dim, row))?;
    // Merge each query's per-thread top-k.
    Ok((0..nq)
        .map(|qi| {
            let mut merged = TopK::new(k);
            for part in &partials {
                for hit in part[qi].clone_sorted() {
                    merged.push(hit.index, hit.score);
                }
            }
            merged.into_sorted()
        })
        .collect())
}

/// Scans `rows` (whose first row has index `first`) for every query.
fn scan(
    metric: Metric,
    queries: &[f32],
    q_norms: &[f32],
    rows: &[f32],
    dim: usize,
    first: u32,
    k: usize,
) -> Result<Vec<TopK>, usize> {
    let nq = q_norms.len();
    let mut tops: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
    let score = |qi: usize, dot: f32, v_norm: f32| match metric {
        Metric::Dot => dot,
        Metric::L2 => -(q_norms[qi] + v_norm - 2.0 * dot).max(0.0),
        Metric::Cosine => {
            let norms = (q_norms[qi] * v_norm).sqrt();
            if norms == 0.0 { 0.0 } else { dot / norms }
        }
    };
    if !tiled() {
        let mut dots = [0f32; BLOCK];
        for block_start in (0..nq).step_by(BLOCK) {
            let b = BLOCK.min(nq - block_start);
            let block = &queries[block_start * dim..(block_start + b) * dim];
            for (r, v) in rows.chunks_exact(dim).enumerate() {
                let v_norm = dots_portable(block, v, &mut dots[..b]);
                if !v_norm.is_finite() {
                    return Err(r);
                }
                for j in 0..b {
                    tops[block_start + j]
                        .push(first + r as u32, score(block_start + j, dots[j], v_norm));
                }
            }
        }
        return Ok(tops);
    }
    // AVX2: register tiles of B queries x R rows, each an independent FMA chain. Wide query
    // blocks read each row once per 8 queries (memory-bound batches); narrow ones take several rows
    // at once so a single query still has 4 chains in flight (latency-bound scans).
    let mut q0 = 0;
    while q0 < nq {
        let left = nq - q0;
        let b = if left >= 8 {
            8
        } else if left >= 4 {
            4
        } else if left >= 2 {
            2
        } else {
            1
        };
        let block = &queries[q0 * dim..(q0 + b) * dim];
        let mut push = |qi: usize, row: usize, dot: f32, v_norm: f32| {
            tops[q0 + qi].push(first + row as u32, score(q0 + qi, dot, v_norm))
        };
        match b {
            8 => tiles::<8, 1>(block, rows, dim, &mut push)?,
            4 => tiles::<4, 2>(block, rows, dim, &mut push)?,
            2 => tiles::<2, 2>(block, rows, dim, &mut push)?,
            _ => tiles::<1, 4>(block, rows, dim, &mut push)?,
        }
        q0 += b;
    }
    Ok(tops)
}

/// Runs `B x R` tiles over all rows (the last rows one at a time) and reports every dot product;
/// stops at the first row whose squared norm is not finite and returns its index.
fn tiles<const B: usize, const R: usize>(
    block: &[f32],
    rows: &[f32],
    dim: usize,
    push: &mut impl FnMut(usize, usize, f32, f32),
) -> Result<(), usize> {
    let n = rows.len() / dim;
    let mut dots = [[0f32; R]; B];
    let mut norms = [0f32; R];
    let mut row = 0;
    while row + R <= n {
        tile::<B, R>(
            block,
            &rows[row * dim..(row + R) * dim],
            dim,
            &mut dots,
            &mut norms,
        );
        if let Some(r) = norms.iter().position(|n| !n.is_finite()) {
            return Err(row + r);
        }
        for (qi, d) in dots.iter().enumerate() {
            for r in 0..R {
                push(qi, row + r, d[r], norms[r]);
            }
        }
        row += R;
    }
    let mut dots1 = [[0f32; 1]; B];
    let mut norm1 = [0f32; 1];
    while row < n {
        tile::<B, 1>(
            block,
            &rows[row * dim..(row + 1) * dim],
            dim,
            &mut dots1,
            &mut norm1,
        );
        if !norm1[0].is_finite() {
            return Err(row);
        }
        for (qi, d) in dots1.iter().enumerate() {
            push(qi, row, d[0], norm1[0]);
        }
        row += 1;
    }
    Ok(())
}

/// `dots[j] = q_j · v` for the queries in `block` (row-major), returns `v · v`.
fn dots_portable(block: &[f32], v: &[f32], dots: &mut [f32]) -> f32 {
    let dim = v.len();
    for (j, q) in block.chunks_exact(dim).enumerate() {
        dots[j] = dot8(q, v);
    }
    dot8(v, v)
}

/// A dot product with 8 independent partial sums, which LLVM turns into SIMD.
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        for l in 0..8 {
            acc[l] += a[c * 8 + l] * b[c * 8 + l];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

#[cfg(target_arch = "x86_64")]
fn tile<const B: usize, const R: usize>(
    block: &[f32],
    rows: &[f32],
    dim: usize,
    dots: &mut [[f32; R]; B],
    norms: &mut [f32; R],
) {
    assert!(
        block.len() == B * dim && rows.len() == R * dim,
        "tile shape"
    );
    // SAFETY: only reached when `avx2_available()` said the CPU has AVX2 and FMA (see `scan`), and
    // the shapes were just checked.
    #[allow(unsafe_code)]
    unsafe {
        avx2::tile::<B, R>(block, rows, dim, dots, norms)
    }
    add_tail(block, rows, dim, dim - dim % 8, dots, norms);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tile<const B: usize, const R: usize>(
    block: &[f32],
    rows: &[f32],
    dim: usize,
    dots: &mut [[f32; R]; B],
    norms: &mut [f32; R],
) {
    assert!(
        block.len() == B * dim && rows.len() == R * dim,
        "tile shape"
    );
    wasm_simd::tile::<B, R>(block, rows, dim, dots, norms);
    add_tail(block, rows, dim, dim - dim % 4, dots, norms);
}

/// Adds the columns from `tail` on, which the SIMD tiles leave out (dim not a multiple of the
/// lane width), to lane sums already in `dots` and `norms`.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
fn add_tail<const B: usize, const R: usize>(
    block: &[f32],
    rows: &[f32],
    dim: usize,
    tail: usize,
    dots: &mut [[f32; R]; B],
    norms: &mut [f32; R],
) {
    for r in 0..R {
        let v = &rows[r * dim..(r + 1) * dim];
        for x in &v[tail..] {
            norms[r] += x * x;
        }
        for b in 0..B {
            let q = &block[b * dim..(b + 1) * dim];
            for i in tail..dim {
                dots[b][r] += q[i] * v[i];
            }
        }
    }
}

#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
fn tile<const B: usize, const R: usize>(
    block: &[f32],
    rows: &[f32],
    dim: usize,
    dots: &mut [[f32; R]; B],
    norms: &mut [f32; R],
) {
    for r in 0..R {
        let v = &rows[r * dim..(r + 1) * dim];
        for (qi, q) in block.chunks_exact(dim).enumerate() {
            dots[qi][r] = dot8(q, v);
        }
        norms[r] = dot8(v, v);
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    fn hsum(x: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps::<1>(x));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }

    /// `dots[b][r] = query_b · row_r` and `norms[r] = row_r · row_r` for a tile of `B` queries
    /// (`block`, row-major) and `R` rows (`rows`, row-major), both of width `dim`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA, `block.len() == B * dim` and `rows.len() == R * dim`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile<const B: usize, const R: usize>(
        block: &[f32],
        rows: &[f32],
        dim: usize,
        dots: &mut [[f32; R]; B],
        norms: &mut [f32; R],
    ) {
        let chunks = dim / 8;
        let mut acc = [[_mm256_setzero_ps(); R]; B];
        let mut acc_n = [_mm256_setzero_ps(); R];
        let qp = block.as_ptr();
        let vp = rows.as_ptr();
        for c in 0..chunks {
            let mut v = [_mm256_setzero_ps(); R];
            for r in 0..R {
                // SAFETY: r * dim + c * 8 + 8 <= R * dim = rows.len().
                v[r] = unsafe { _mm256_loadu_ps(vp.add(r * dim + c * 8)) };
                acc_n[r] = _mm256_fmadd_ps(v[r], v[r], acc_n[r]);
            }
            for b in 0..B {
                // SAFETY: b * dim + c * 8 + 8 <= B * dim = block.len().
                let q = unsafe { _mm256_loadu_ps(qp.add(b * dim + c * 8)) };
                for r in 0..R {
                    acc[b][r] = _mm256_fmadd_ps(q, v[r], acc[b][r]);
                }
            }
        }
        // Lane sums only; the caller adds the scalar tail (`add_tail`).
        for r in 0..R {
            norms[r] = hsum(acc_n[r]);
            for b in 0..B {
                dots[b][r] = hsum(acc[b][r]);
            }
        }
    }
}

/// The browser's register tile: as the AVX2 one, 4 lanes wide, multiply then add (no FMA in
/// baseline WebAssembly SIMD).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
mod wasm_simd {
    use core::arch::wasm32::*;

    fn hsum(x: v128) -> f32 {
        f32x4_extract_lane::<0>(x)
            + f32x4_extract_lane::<1>(x)
            + f32x4_extract_lane::<2>(x)
            + f32x4_extract_lane::<3>(x)
    }

    /// Caller checked `block.len() == B * dim` and `rows.len() == R * dim`.
    pub(super) fn tile<const B: usize, const R: usize>(
        block: &[f32],
        rows: &[f32],
        dim: usize,
        dots: &mut [[f32; R]; B],
        norms: &mut [f32; R],
    ) {
        let chunks = dim / 4;
        let mut acc = [[f32x4_splat(0.0); R]; B];
        let mut acc_n = [f32x4_splat(0.0); R];
        let qp = block.as_ptr();
        let vp = rows.as_ptr();
        for c in 0..chunks {
            let mut v = [f32x4_splat(0.0); R];
            for r in 0..R {
                // SAFETY: r * dim + c * 4 + 4 <= R * dim = rows.len(); v128_load allows unaligned.
                v[r] = unsafe { v128_load(vp.add(r * dim + c * 4).cast::<v128>()) };
                acc_n[r] = f32x4_add(acc_n[r], f32x4_mul(v[r], v[r]));
            }
            for b in 0..B {
                // SAFETY: b * dim + c * 4 + 4 <= B * dim = block.len().
                let q = unsafe { v128_load(qp.add(b * dim + c * 4).cast::<v128>()) };
                for r in 0..R {
                    acc[b][r] = f32x4_add(acc[b][r], f32x4_mul(q, v[r]));
                }
            }
        }
        // Lane sums only; the caller adds the scalar tail (`add_tail`).
        for r in 0..R {
            norms[r] = hsum(acc_n[r]);
            for b in 0..B {
                dots[b][r] = hsum(acc[b][r]);
            }
        }
    }
}
