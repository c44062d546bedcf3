//! The one dot product the index computes, on every visit: 32 partial sums, added pairwise in a
//! fixed order, with one rounding per operation. Each partial sum is its own chain, so the
//! compiler may put them in SSE2, AVX2 or wasm `simd128` registers of any width and the bits
//! stay the same (it never reassociates or fuses float operations); the AVX2 build is the same
//! code compiled for wider registers, chosen at run time. That is what makes an index built on
//! x86-64 equal, byte for byte, to one built in a browser.

// Index loops over lanes mirror the fixed order of the sums more plainly than iterators.
#![allow(clippy::needless_range_loop)]

const LANES: usize = 32;

#[inline(always)]
fn dot_in_order(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = a.len().min(b.len()) / LANES;
    for c in 0..chunks {
        let x = &a[c * LANES..(c + 1) * LANES];
        let y = &b[c * LANES..(c + 1) * LANES];
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    let mut sum = acc[0];
    for i in chunks * LANES..a.len().min(b.len()) {
        sum += a[i] * b[i];
    }
    sum
}

/// `a · b` (module docs).
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU has AVX2 (checked once, just above).
        #[allow(unsafe_code)]
        return unsafe { dot_avx2(a, b) };
    }
    dot_in_order(a, b)
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| std::arch::is_x86_feature_detected!("avx2"))
}

/// [`dot_in_order`] in AVX2 registers: partial sum `8j + l` is lane `l` of accumulator `j`, and
/// the reduction adds the same pairs in the same order (a multiply, then an add: no FMA, whose
/// single rounding would change the bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let chunks = n / LANES;
    let mut acc = [_mm256_setzero_ps(); 4];
    for c in 0..chunks {
        let x = &a[c * LANES..(c + 1) * LANES];
        let y = &b[c * LANES..(c + 1) * LANES];
        for j in 0..4 {
            // SAFETY: `x` and `y` hold 32 floats each; unaligned loads.
            #[allow(unsafe_code)]
            let (xv, yv) = unsafe {
                (
                    _mm256_loadu_ps(x[8 * j..].as_ptr()),
                    _mm256_loadu_ps(y[8 * j..].as_ptr()),
                )
            };
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(xv, yv));
        }
    }
    // Width 16, then 8: lanes l += l + 16, then l += l + 8.
    let lo = _mm256_add_ps(acc[0], acc[2]);
    let hi = _mm256_add_ps(acc[1], acc[3]);
    let s8 = _mm256_add_ps(lo, hi);
    // Width 4, 2, 1 within the 8 lanes.
    let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2));
    let mut sum = _mm_cvtss_f32(s1);
    for i in chunks * LANES..n {
        sum += a[i] * b[i];
    }
    sum
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wide_build_gives_the_portable_bits() {
        let a: Vec<f32> = (0..389)
            .map(|i| ((i * 37) % 101) as f32 / 7.0 - 6.0)
            .collect();
        let b: Vec<f32> = (0..389)
            .map(|i| ((i * 53) % 97) as f32 / 3.0 - 15.0)
            .collect();
        for len in [0, 1, 31, 32, 33, 384, 389] {
            assert_eq!(
                super::dot(&a[..len], &b[..len]).to_bits(),
                super::dot_in_order(&a[..len], &b[..len]).to_bits(),
                "len {len}"
            );
        }
    }
}
