//! A linear layer (`y = x · Wᵀ + b`) on packed weights: the matmul that is almost all of a
//! transformer's time.
//!
//! The weight (`out × in`, PyTorch's layout) is repacked once, at load, into panels of [`NR`]
//! output columns, each stored `in × NR` so that the inner loop reads it contiguously. A register
//! tile of up to [`MR`] input rows × two panels accumulates over a block of [`KC`] inputs; blocks
//! of [`MC`] rows keep their inputs in L2 while every panel passes over them (without that, a
//! batch's activations were re-read from L3 for each panel).
//!
//! x86-64 picks at run time: AVX-512 (8 rows × 32 columns in 16 `zmm` accumulators), else AVX2 +
//! FMA (4 rows × 16 columns in 8 `ymm`), checked with `is_x86_feature_detected!`. wasm32 with
//! `simd128` uses 4 rows × 16 columns in 16 `v128` accumulators (multiply then add: baseline
//! WebAssembly SIMD has no FMA). Elsewhere a portable loop of the same shape, which LLVM
//! vectorizes for the target.

// Index loops over tiles, rows and lanes mirror the arithmetic more plainly than iterators.
#![allow(clippy::needless_range_loop)]

use crate::reference::KernelError;

/// Output columns per panel.
pub const NR: usize = 16;
/// Panels per register tile.
const GROUP: usize = 2;
/// Input rows per register tile.
const MR: usize = 8;
/// Input rows per cache block (a block's inputs, `MC × KC` floats, are 64 KiB).
const MC: usize = 64;
/// Inputs per block. A tile's accumulators stay in registers over the whole block, so its start
/// and end (loading the bias or the partial sums, storing the sums) happen once per block: with
/// blocks of 256 that was 30 % of the time. Two panels' block of 2048 is 256 KiB, streamed from
/// L2 (16 bytes per cycle at full FMA rate, well within its bandwidth).
const KC: usize = 2048;

/// A tile's accumulators: up to `MR` rows × `GROUP` panels.
type Acc = [[f32; GROUP * NR]; MR];

/// A linear layer with its weight packed for [`forward`](Self::forward).
#[derive(Debug, Clone)]
pub struct PackedLinear {
    in_dim: usize,
    out_dim: usize,
    /// `out_dim.div_ceil(NR)` panels of `in_dim × NR` (columns past `out_dim` are zero).
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl PackedLinear {
    /// Packs `weight` (`out_dim × in_dim`, row-major) and `bias` (`out_dim`).
    pub fn new(
        weight: &[f32],
        out_dim: usize,
        in_dim: usize,
        bias: &[f32],
    ) -> Result<Self, KernelError> {
        if out_dim == 0 || in_dim == 0 || weight.len() != out_dim * in_dim || bias.len() != out_dim
        {
            return Err(KernelError::Shape(format!(
                "a linear layer of {out_dim} × {in_dim} needs that many weights and {out_dim} \
                 biases, got {} and {}",
                weight.len(),
                bias.len()
            )));
        }
        let mut layer = Self::without_bias(weight, out_dim, in_dim);
        layer.bias = bias.to_vec();
        Ok(layer)
    }

    /// A layer without bias (`y = x · Wᵀ`): attention's two products pack a head's keys, and
    /// its values transposed, as such a weight.
    pub fn without_bias(weight: &[f32], out_dim: usize, in_dim: usize) -> Self {
        let n_panels = out_dim.div_ceil(NR);
        let mut panels = vec![0.0; n_panels * in_dim * NR];
        for o in 0..out_dim {
            let (p, j) = (o / NR, o % NR);
            for i in 0..in_dim {
                panels[(p * in_dim + i) * NR + j] = weight[o * in_dim + i];
            }
        }
        Self {
            in_dim,
            out_dim,
            panels,
            bias: vec![0.0; out_dim],
        }
    }

    /// Input width.
    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// `out = x · Wᵀ + b` for `rows` rows of `x` (`rows × in_dim`); `out` is `rows × out_dim`.
    ///
    /// # Panics
    /// When the slices do not have those lengths (a caller's bug, not input from the network).
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        assert_eq!(x.len(), rows * self.in_dim, "input shape");
        assert_eq!(out.len(), rows * self.out_dim, "output shape");
        self.panels_into(x, rows, 0..self.out_dim.div_ceil(NR), out, self.out_dim, 0);
    }

    /// Like [`forward`](Self::forward), with the panels split into `threads` parts run on
    /// rayon's pool (natively; wasm32 runs on one thread).
    pub fn forward_threads(&self, x: &[f32], rows: usize, out: &mut [f32], threads: usize) {
        let n_panels = self.out_dim.div_ceil(NR);
        let threads = threads.clamp(1, n_panels.div_ceil(GROUP));
        // Below about a million multiply-adds a split costs more than it saves (rayon's hand-off
        // is microseconds; a thread of our own was tens).
        if threads == 1
            || cfg!(target_arch = "wasm32")
            || rows * self.in_dim * self.out_dim < 1 << 20
        {
            return self.forward(x, rows, out);
        }
        assert_eq!(x.len(), rows * self.in_dim, "input shape");
        assert_eq!(out.len(), rows * self.out_dim, "output shape");
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            // Whole tiles of two panels per part.
            let per = n_panels.div_ceil(threads).next_multiple_of(GROUP);
            // Each part fills its own columns of the rows, then they are copied into place.
            let parts: Vec<(usize, usize, Vec<f32>)> = (0..n_panels.div_ceil(per))
                .into_par_iter()
                .map(|t| {
                    let (first, last) = (t * per, ((t + 1) * per).min(n_panels));
                    let col0 = first * NR;
                    let cols = (last * NR).min(self.out_dim) - col0;
                    let mut part = vec![0.0; rows * cols];
                    self.panels_into(x, rows, first..last, &mut part, cols, col0);
                    (col0, cols, part)
                })
                .collect();
            for (col0, cols, part) in parts {
                for r in 0..rows {
                    out[r * self.out_dim + col0..][..cols]
                        .copy_from_slice(&part[r * cols..][..cols]);
                }
            }
        }
    }

    /// Computes the columns of `panels` into `out` (`rows × out_stride`, whose column 0 is output
    /// column `col0`).
    fn panels_into(
        &self,
        x: &[f32],
        rows: usize,
        panels: std::ops::Range<usize>,
        out: &mut [f32],
        out_stride: usize,
        col0: usize,
    ) {
        let k = self.in_dim;
        // Reused across tiles: columns past a tile's width hold stale sums that are never stored.
        let mut acc: Acc = [[0.0; GROUP * NR]; MR];
        for kb in (0..k).step_by(KC) {
            let kc = KC.min(k - kb);
            for m0 in (0..rows).step_by(MC) {
                let m1 = (m0 + MC).min(rows);
                for p in panels.clone().step_by(GROUP) {
                    let group = GROUP.min(panels.end - p);
                    let block = |q: usize| &self.panels[(q * k + kb) * NR..(q * k + kb + kc) * NR];
                    let second = if group == 2 { block(p + 1) } else { &[][..] };
                    let c0 = p * NR;
                    let width = (group * NR).min(self.out_dim - c0);
                    for r0 in (m0..m1).step_by(MR) {
                        let mr = MR.min(m1 - r0);
                        for r in 0..mr {
                            let start = (r0 + r) * out_stride + c0 - col0;
                            let from = if kb == 0 {
                                &self.bias[c0..c0 + width]
                            } else {
                                &out[start..start + width]
                            };
                            copy_row(&mut acc[r], from);
                        }
                        tile(&x[r0 * k + kb..], k, mr, [block(p), second], kc, &mut acc);
                        for r in 0..mr {
                            let start = (r0 + r) * out_stride + c0 - col0;
                            copy_back(&mut out[start..start + width], &acc[r]);
                        }
                    }
                }
            }
        }
    }
}

/// `row[..from.len()] = from`, a fixed-size move for a full tile (a variable-length copy of a
/// few dozen floats was a `memmove` call per row: 9 % of the time).
fn copy_row(row: &mut [f32; GROUP * NR], from: &[f32]) {
    match <&[f32; GROUP * NR]>::try_from(from) {
        Ok(full) => *row = *full,
        Err(_) => row[..from.len()].copy_from_slice(from),
    }
}

/// `to = row[..to.len()]`, likewise.
fn copy_back(to: &mut [f32], row: &[f32; GROUP * NR]) {
    match <&mut [f32; GROUP * NR]>::try_from(&mut *to) {
        Ok(full) => *full = *row,
        Err(_) => to.copy_from_slice(&row[..to.len()]),
    }
}

/// `acc[r][g·NR + j] += Σ_i x[r·stride + i] · panels[g][i·NR + j]` for `r < mr`, `i < kc`, and
/// each panel `g` (the second may be empty: an odd panel count).
#[allow(unsafe_code)]
fn tile(x: &[f32], stride: usize, mr: usize, panels: [&[f32]; GROUP], kc: usize, acc: &mut Acc) {
    debug_assert!((1..=MR).contains(&mr) && panels[0].len() == kc * NR);
    debug_assert!(panels[1].is_empty() || panels[1].len() == kc * NR);
    debug_assert!(x.len() >= (mr - 1) * stride + kc);
    #[cfg(target_arch = "x86_64")]
    if avx512::available() && !panels[1].is_empty() {
        // SAFETY: AVX-512F was detected; the lengths are checked above (and by the caller's
        // shapes), which is what `avx512::tile` reads.
        unsafe {
            match mr {
                8 => avx512::tile::<8>(x, stride, panels, kc, acc),
                7 => avx512::tile::<7>(x, stride, panels, kc, acc),
                6 => avx512::tile::<6>(x, stride, panels, kc, acc),
                5 => avx512::tile::<5>(x, stride, panels, kc, acc),
                4 => avx512::tile::<4>(x, stride, panels, kc, acc),
                3 => avx512::tile::<3>(x, stride, panels, kc, acc),
                2 => avx512::tile::<2>(x, stride, panels, kc, acc),
                _ => avx512::tile::<1>(x, stride, panels, kc, acc),
            }
        }
        return;
    }
    // Four rows of one panel at a time.
    for (g, panel) in panels.iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        for r0 in (0..mr).step_by(4) {
            let rows = 4.min(mr - r0);
            let xs = &x[r0 * stride..];
            quad(xs, stride, rows, panel, kc, acc, r0, g * NR);
        }
    }
}

/// Up to 4 rows × one panel into `acc[r0..][c0..c0 + NR]`.
#[allow(unsafe_code, clippy::too_many_arguments)]
fn quad(
    x: &[f32],
    stride: usize,
    rows: usize,
    panel: &[f32],
    kc: usize,
    acc: &mut Acc,
    r0: usize,
    c0: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: AVX2 and FMA were detected; `tile` checked the lengths.
        unsafe {
            match rows {
                4 => avx2::tile::<4>(x, stride, panel, kc, acc, r0, c0),
                3 => avx2::tile::<3>(x, stride, panel, kc, acc, r0, c0),
                2 => avx2::tile::<2>(x, stride, panel, kc, acc, r0, c0),
                _ => avx2::tile::<1>(x, stride, panel, kc, acc, r0, c0),
            }
        }
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        match rows {
            4 => wasm_simd::tile::<4>(x, stride, panel, kc, acc, r0, c0),
            3 => wasm_simd::tile::<3>(x, stride, panel, kc, acc, r0, c0),
            2 => wasm_simd::tile::<2>(x, stride, panel, kc, acc, r0, c0),
            _ => wasm_simd::tile::<1>(x, stride, panel, kc, acc, r0, c0),
        }
        #[allow(clippy::needless_return)]
        return;
    }
    #[allow(unreachable_code)]
    portable_tile(x, stride, rows, panel, kc, acc, r0, c0);
}

/// Which implementation [`PackedLinear`] uses on this machine.
pub fn backend() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        return "avx512";
    }
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return "avx2";
    }
    if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "wasm-simd128"
    } else {
        "portable"
    }
}

#[cfg_attr(
    any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        not(any(target_arch = "x86_64", target_arch = "wasm32"))
    ),
    allow(dead_code)
)]
#[allow(clippy::too_many_arguments)]
fn portable_tile(
    x: &[f32],
    stride: usize,
    rows: usize,
    panel: &[f32],
    kc: usize,
    acc: &mut Acc,
    r0: usize,
    c0: usize,
) {
    for i in 0..kc {
        let w = &panel[i * NR..(i + 1) * NR];
        for r in 0..rows {
            let xv = x[r * stride + i];
            for j in 0..NR {
                acc[r0 + r][c0 + j] += xv * w[j];
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use super::{Acc, NR};
    use std::arch::x86_64::*;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; `panel.len() >= kc * NR`,
    /// `x.len() >= (R - 1) * stride + kc`, `r0 + R <= MR` and `c0 + NR <= GROUP * NR`.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn tile<const R: usize>(
        x: &[f32],
        stride: usize,
        panel: &[f32],
        kc: usize,
        acc: &mut Acc,
        r0: usize,
        c0: usize,
    ) {
        let mut c = [[_mm256_setzero_ps(); 2]; R];
        for r in 0..R {
            let row = acc[r0 + r][c0..c0 + NR].as_ptr();
            // SAFETY: the row slice holds NR = 16 floats.
            unsafe {
                c[r][0] = _mm256_loadu_ps(row);
                c[r][1] = _mm256_loadu_ps(row.add(8));
            }
        }
        let xp = x.as_ptr();
        let wp = panel.as_ptr();
        for i in 0..kc {
            // SAFETY: i * NR + 16 <= kc * NR <= panel.len().
            let (w0, w1) = unsafe {
                (
                    _mm256_loadu_ps(wp.add(i * NR)),
                    _mm256_loadu_ps(wp.add(i * NR + 8)),
                )
            };
            for r in 0..R {
                // SAFETY: r * stride + i < (R - 1) * stride + kc <= x.len().
                let xv = unsafe { _mm256_broadcast_ss(&*xp.add(r * stride + i)) };
                c[r][0] = _mm256_fmadd_ps(xv, w0, c[r][0]);
                c[r][1] = _mm256_fmadd_ps(xv, w1, c[r][1]);
            }
        }
        for r in 0..R {
            let row = acc[r0 + r][c0..c0 + NR].as_mut_ptr();
            // SAFETY: the row slice holds 16 floats.
            unsafe {
                _mm256_storeu_ps(row, c[r][0]);
                _mm256_storeu_ps(row.add(8), c[r][1]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    use super::{Acc, GROUP, NR};
    use std::arch::x86_64::*;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    /// `R` rows × two panels (32 columns) in `2R` accumulators.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; both panels hold `kc * NR` floats and
    /// `x.len() >= (R - 1) * stride + kc`, `R <= MR`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tile<const R: usize>(
        x: &[f32],
        stride: usize,
        panels: [&[f32]; GROUP],
        kc: usize,
        acc: &mut Acc,
    ) {
        let mut c = [[_mm512_setzero_ps(); 2]; R];
        for r in 0..R {
            // SAFETY: each row holds 32 floats.
            unsafe {
                c[r][0] = _mm512_loadu_ps(acc[r].as_ptr());
                c[r][1] = _mm512_loadu_ps(acc[r].as_ptr().add(NR));
            }
        }
        let xp = x.as_ptr();
        let (ap, bp) = (panels[0].as_ptr(), panels[1].as_ptr());
        for i in 0..kc {
            // SAFETY: i * NR + 16 <= kc * NR, each panel's length.
            let (w0, w1) = unsafe {
                (
                    _mm512_loadu_ps(ap.add(i * NR)),
                    _mm512_loadu_ps(bp.add(i * NR)),
                )
            };
            for r in 0..R {
                // SAFETY: r * stride + i < (R - 1) * stride + kc <= x.len().
                let xv = _mm512_set1_ps(unsafe { *xp.add(r * stride + i) });
                c[r][0] = _mm512_fmadd_ps(xv, w0, c[r][0]);
                c[r][1] = _mm512_fmadd_ps(xv, w1, c[r][1]);
            }
        }
        for r in 0..R {
            // SAFETY: each row holds 32 floats.
            unsafe {
                _mm512_storeu_ps(acc[r].as_mut_ptr(), c[r][0]);
                _mm512_storeu_ps(acc[r].as_mut_ptr().add(NR), c[r][1]);
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
mod wasm_simd;
