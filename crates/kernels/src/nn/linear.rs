//! A linear layer (`y = x · Wᵀ + b`) on packed weights: the matmul that is almost all of a
//! transformer's time.
//!
//! The weight (`out × in`, PyTorch's layout) is repacked once, at load, into panels of
//! [`NR`] output columns, each panel stored `in × NR` so that the inner loop reads it
//! contiguously. A register tile of up to `MR` input rows × `NR` columns accumulates over a block
//! of [`KC`] inputs (a panel's block is 16 KiB: it stays in L1 while every row tile uses it).
//!
//! x86-64 uses AVX2 + FMA when the CPU has them (checked at run time): 4 rows × 16 columns in 8
//! `ymm` accumulators. wasm32 with `simd128` uses 4 rows × 16 columns in 16 `v128` accumulators
//! (multiply then add: baseline WebAssembly SIMD has no FMA). Elsewhere a portable loop of the same
//! shape, which LLVM vectorizes for the target.

// Index loops over tiles, rows and lanes mirror the arithmetic more plainly than iterators.
#![allow(clippy::needless_range_loop)]

use crate::reference::KernelError;

/// Output columns per panel (and per register tile).
pub const NR: usize = 16;
/// Input rows per register tile.
const MR: usize = 4;
/// Inputs per block: a panel's block is `KC × NR × 4` bytes = 16 KiB.
const KC: usize = 256;

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
        let n_panels = out_dim.div_ceil(NR);
        let mut panels = vec![0.0; n_panels * in_dim * NR];
        for o in 0..out_dim {
            let (p, j) = (o / NR, o % NR);
            for i in 0..in_dim {
                panels[(p * in_dim + i) * NR + j] = weight[o * in_dim + i];
            }
        }
        Ok(Self {
            in_dim,
            out_dim,
            panels,
            bias: bias.to_vec(),
        })
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

    /// Like [`forward`](Self::forward), with the panels split across `threads` threads (natively;
    /// wasm32 has no threads to spawn and runs on one).
    pub fn forward_threads(&self, x: &[f32], rows: usize, out: &mut [f32], threads: usize) {
        let n_panels = self.out_dim.div_ceil(NR);
        let threads = threads.clamp(1, n_panels);
        // Below a few hundred thousand multiply-adds a thread costs more than it saves.
        if threads == 1
            || cfg!(target_arch = "wasm32")
            || rows * self.in_dim * self.out_dim < 1 << 18
        {
            return self.forward(x, rows, out);
        }
        assert_eq!(x.len(), rows * self.in_dim, "input shape");
        assert_eq!(out.len(), rows * self.out_dim, "output shape");
        let per = n_panels.div_ceil(threads);
        // Each thread fills its own columns of the rows, then they are copied into place.
        let parts: Vec<(usize, usize, Vec<f32>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let first = t * per;
                    let last = ((t + 1) * per).min(n_panels);
                    scope.spawn(move || {
                        let col0 = first * NR;
                        let cols = (last * NR).min(self.out_dim) - col0;
                        let mut part = vec![0.0; rows * cols];
                        self.panels_into(x, rows, first..last, &mut part, cols, col0);
                        (col0, cols, part)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for (col0, cols, part) in parts {
            for r in 0..rows {
                out[r * self.out_dim + col0..][..cols].copy_from_slice(&part[r * cols..][..cols]);
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
        for kb in (0..k).step_by(KC) {
            let kc = KC.min(k - kb);
            for p in panels.clone() {
                let panel = &self.panels[(p * k + kb) * NR..(p * k + kb + kc) * NR];
                let c0 = p * NR;
                let width = NR.min(self.out_dim - c0);
                for r0 in (0..rows).step_by(MR) {
                    let mr = MR.min(rows - r0);
                    let mut acc = [[0.0f32; NR]; MR];
                    for r in 0..mr {
                        let start = (r0 + r) * out_stride + c0 - col0;
                        if kb == 0 {
                            acc[r][..width].copy_from_slice(&self.bias[c0..c0 + width]);
                        } else {
                            acc[r][..width].copy_from_slice(&out[start..start + width]);
                        }
                    }
                    let xs = &x[r0 * k + kb..];
                    tile(xs, k, mr, panel, kc, &mut acc);
                    for r in 0..mr {
                        let start = (r0 + r) * out_stride + c0 - col0;
                        out[start..start + width].copy_from_slice(&acc[r][..width]);
                    }
                }
            }
        }
    }
}

/// `acc[r][j] += Σ_i x[r·stride + i] · panel[i·NR + j]` for `r < mr`, `i < kc`.
#[allow(unsafe_code)]
fn tile(x: &[f32], stride: usize, mr: usize, panel: &[f32], kc: usize, acc: &mut [[f32; NR]; MR]) {
    debug_assert!((1..=MR).contains(&mr) && panel.len() == kc * NR);
    debug_assert!(x.len() >= (mr - 1) * stride + kc);
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: AVX2 and FMA were detected; the slices' lengths are checked above (and by the
        // caller's shapes), which is what `avx2::tile` reads.
        unsafe {
            match mr {
                4 => avx2::tile::<4>(x, stride, panel, kc, acc),
                3 => avx2::tile::<3>(x, stride, panel, kc, acc),
                2 => avx2::tile::<2>(x, stride, panel, kc, acc),
                _ => avx2::tile::<1>(x, stride, panel, kc, acc),
            }
        }
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        match mr {
            4 => wasm_simd::tile::<4>(x, stride, panel, kc, acc),
            3 => wasm_simd::tile::<3>(x, stride, panel, kc, acc),
            2 => wasm_simd::tile::<2>(x, stride, panel, kc, acc),
            _ => wasm_simd::tile::<1>(x, stride, panel, kc, acc),
        }
        #[allow(clippy::needless_return)]
        return;
    }
    #[allow(unreachable_code)]
    portable_tile(x, stride, mr, panel, kc, acc);
}

/// Which implementation [`PackedLinear`] uses on this machine.
pub fn backend() -> &'static str {
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
fn portable_tile(
    x: &[f32],
    stride: usize,
    mr: usize,
    panel: &[f32],
    kc: usize,
    acc: &mut [[f32; NR]; MR],
) {
    for i in 0..kc {
        let w = &panel[i * NR..(i + 1) * NR];
        for r in 0..mr {
            let xv = x[r * stride + i];
            for j in 0..NR {
                acc[r][j] += xv * w[j];
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; `panel.len() >= kc * NR` and
    /// `x.len() >= (R - 1) * stride + kc`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile<const R: usize>(
        x: &[f32],
        stride: usize,
        panel: &[f32],
        kc: usize,
        acc: &mut [[f32; NR]; MR],
    ) {
        let mut c = [[_mm256_setzero_ps(); 2]; R];
        for r in 0..R {
            // SAFETY: acc[r] holds 16 floats.
            unsafe {
                c[r][0] = _mm256_loadu_ps(acc[r].as_ptr());
                c[r][1] = _mm256_loadu_ps(acc[r].as_ptr().add(8));
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
            // SAFETY: acc[r] holds 16 floats.
            unsafe {
                _mm256_storeu_ps(acc[r].as_mut_ptr(), c[r][0]);
                _mm256_storeu_ps(acc[r].as_mut_ptr().add(8), c[r][1]);
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
mod wasm_simd {
    use super::{MR, NR};
    use core::arch::wasm32::*;

    /// The caller checked `panel.len() >= kc * NR` and `x.len() >= (R - 1) * stride + kc`.
    pub(super) fn tile<const R: usize>(
        x: &[f32],
        stride: usize,
        panel: &[f32],
        kc: usize,
        acc: &mut [[f32; NR]; MR],
    ) {
        let mut c = [[f32x4_splat(0.0); 4]; R];
        for r in 0..R {
            for q in 0..4 {
                c[r][q] = f32x4(
                    acc[r][q * 4],
                    acc[r][q * 4 + 1],
                    acc[r][q * 4 + 2],
                    acc[r][q * 4 + 3],
                );
            }
        }
        let wp = panel.as_ptr();
        for i in 0..kc {
            let mut w = [f32x4_splat(0.0); 4];
            for q in 0..4 {
                // SAFETY: i * NR + q * 4 + 4 <= kc * NR <= panel.len(); v128_load allows unaligned.
                w[q] = unsafe { v128_load(wp.add(i * NR + q * 4).cast::<v128>()) };
            }
            for r in 0..R {
                let xv = f32x4_splat(x[r * stride + i]);
                for q in 0..4 {
                    c[r][q] = f32x4_add(c[r][q], f32x4_mul(xv, w[q]));
                }
            }
        }
        for r in 0..R {
            for q in 0..4 {
                acc[r][q * 4] = f32x4_extract_lane::<0>(c[r][q]);
                acc[r][q * 4 + 1] = f32x4_extract_lane::<1>(c[r][q]);
                acc[r][q * 4 + 2] = f32x4_extract_lane::<2>(c[r][q]);
                acc[r][q * 4 + 3] = f32x4_extract_lane::<3>(c[r][q]);
            }
        }
    }
}
