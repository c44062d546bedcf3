//! The packed linear layer's tile on WebAssembly SIMD (`simd128`).

use super::{Acc, NR};
use core::arch::wasm32::*;

/// The caller checked `panel.len() >= kc * NR`, `x.len() >= (R - 1) * stride + kc`,
/// `r0 + R <= MR` and `c0 + NR <= GROUP * NR`.
#[allow(clippy::too_many_arguments)]
pub(super) fn tile<const R: usize>(
    x: &[f32],
    stride: usize,
    panel: &[f32],
    kc: usize,
    acc: &mut Acc,
    r0: usize,
    c0: usize,
) {
    let mut c = [[f32x4_splat(0.0); 4]; R];
    for r in 0..R {
        let a = &acc[r0 + r][c0..c0 + NR];
        for q in 0..4 {
            c[r][q] = f32x4(a[q * 4], a[q * 4 + 1], a[q * 4 + 2], a[q * 4 + 3]);
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
        let a = &mut acc[r0 + r][c0..c0 + NR];
        for q in 0..4 {
            a[q * 4] = f32x4_extract_lane::<0>(c[r][q]);
            a[q * 4 + 1] = f32x4_extract_lane::<1>(c[r][q]);
            a[q * 4 + 2] = f32x4_extract_lane::<2>(c[r][q]);
            a[q * 4 + 3] = f32x4_extract_lane::<3>(c[r][q]);
        }
    }
}
