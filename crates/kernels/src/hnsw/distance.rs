//! The one dot product the index computes, on every visit: 32 partial sums, added pairwise in a
//! fixed order, with one rounding per operation. Each partial sum is its own chain, so the
//! compiler may put them in SSE2, AVX2 or wasm `simd128` registers of any width and the bits
//! stay the same (it never reassociates or fuses float operations). On x86-64 the same sums run
//! in explicit AVX-512 or AVX2 registers, chosen once at run time: partial sum `i` is always one
//! lane of one accumulator, and the reduction adds the same pairs in the same order. That is
//! what makes an index built on x86-64 equal, byte for byte, to one built in a browser.

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
    match x86_level() {
        // SAFETY: the CPU has AVX-512F (checked once, in `x86_level`).
        #[allow(unsafe_code)]
        X86Level::Avx512 => return unsafe { dot_avx512(a, b) },
        // SAFETY: the CPU has AVX2 (checked once, in `x86_level`).
        #[allow(unsafe_code)]
        X86Level::Avx2 => return unsafe { dot_avx2(a, b) },
        X86Level::Baseline => {}
    }
    dot_in_order(a, b)
}

/// The widest registers this CPU gives the dot product.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum X86Level {
    Avx512,
    Avx2,
    Baseline,
}

#[cfg(target_arch = "x86_64")]
fn x86_level() -> X86Level {
    static LEVEL: std::sync::OnceLock<X86Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        if std::arch::is_x86_feature_detected!("avx512f") {
            X86Level::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2") {
            X86Level::Avx2
        } else {
            X86Level::Baseline
        }
    })
}

/// [`dot_in_order`] in AVX-512 registers: partial sum `16j + l` is lane `l` of accumulator `j`.
/// Width 16 of the reduction adds the two accumulators; from width 8 down it is
/// [`reduce8`] of their halves, as in the AVX2 path. Half the instructions of AVX2 per
/// product, so more neighbours' products overlap in the out-of-order window.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let chunks = n / LANES;
    let mut acc = [_mm512_setzero_ps(); 2];
    for c in 0..chunks {
        let x = &a[c * LANES..(c + 1) * LANES];
        let y = &b[c * LANES..(c + 1) * LANES];
        for j in 0..2 {
            // SAFETY: `x` and `y` hold 32 floats each; unaligned loads.
            #[allow(unsafe_code)]
            let (xv, yv) = unsafe {
                (
                    _mm512_loadu_ps(x[16 * j..].as_ptr()),
                    _mm512_loadu_ps(y[16 * j..].as_ptr()),
                )
            };
            acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(xv, yv));
        }
    }
    // Width 16: lanes l += l + 16.
    let s16 = _mm512_add_ps(acc[0], acc[1]);
    // Width 8: lanes l += l + 8.
    let s8 = _mm256_add_ps(
        _mm512_castps512_ps256(s16),
        _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(s16))),
    );
    let mut sum = reduce8(s8);
    for i in chunks * LANES..n {
        sum += a[i] * b[i];
    }
    sum
}

/// Widths 4, 2 and 1 of the reduction within 8 lanes: l += l + 4, l += l + 2, l += l + 1.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn reduce8(s8: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2));
    _mm_cvtss_f32(s1)
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
    let mut sum = reduce8(s8);
    for i in chunks * LANES..n {
        sum += a[i] * b[i];
    }
    sum
}

#[cfg(test)]
mod tests {
    /// Random floats of mixed sign and magnitude (four scales, cycling), so that rounding
    /// differs between summation orders and a wrong order shows in the bits.
    fn random(seed: u64, n: usize) -> Vec<f32> {
        crate::sample::uniform(n, seed as u32)
            .into_iter()
            .enumerate()
            .map(|(i, x)| x * [1e-3, 1.0, 37.0, 1e4][i % 4])
            .collect()
    }

    /// Every length up to three chunks and a tail, then the index's usual dimensions.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..=100).chain([127, 128, 129, 255, 256, 384, 389, 512, 768, 1000, 1536])
    }

    #[test]
    fn the_dispatched_product_gives_the_portable_bits() {
        for (seed, len) in lengths().enumerate() {
            let (a, b) = (
                random(seed as u64 + 1, len),
                random(seed as u64 + 1000, len),
            );
            assert_eq!(
                super::dot(&a, &b).to_bits(),
                super::dot_in_order(&a, &b).to_bits(),
                "len {len}"
            );
        }
    }

    /// Each x86-64 path on its own, whatever `dot` picks here; a path this CPU lacks is
    /// skipped (and says so), as CI's machine may have only one of them.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn each_x86_path_gives_the_portable_bits() {
        type Dot = fn(&[f32], &[f32]) -> f32;
        let paths: [(&str, bool, Dot); 2] = [
            (
                "avx512f",
                std::arch::is_x86_feature_detected!("avx512f"),
                |a, b| {
                    // SAFETY: called only where the CPU has AVX-512F.
                    #[allow(unsafe_code)]
                    unsafe {
                        super::dot_avx512(a, b)
                    }
                },
            ),
            (
                "avx2",
                std::arch::is_x86_feature_detected!("avx2"),
                |a, b| {
                    // SAFETY: called only where the CPU has AVX2.
                    #[allow(unsafe_code)]
                    unsafe {
                        super::dot_avx2(a, b)
                    }
                },
            ),
        ];
        for (name, available, path) in paths {
            if !available {
                eprintln!("skipped: this CPU has no {name}");
                continue;
            }
            for (seed, len) in lengths().enumerate() {
                let (a, b) = (
                    random(seed as u64 + 7, len),
                    random(seed as u64 + 7000, len),
                );
                assert_eq!(
                    path(&a, &b).to_bits(),
                    super::dot_in_order(&a, &b).to_bits(),
                    "{name}, len {len}"
                );
                // Slices that start off any alignment, as rows of a loaded index may.
                if len > 3 {
                    assert_eq!(
                        path(&a[3..], &b[1..len - 2]).to_bits(),
                        super::dot_in_order(&a[3..], &b[1..len - 2]).to_bits(),
                        "{name}, offset, len {len}"
                    );
                }
            }
        }
    }

    /// The orders really differ: a test that could not fail would not pin anything.
    #[test]
    fn the_fixed_order_is_not_the_naive_one() {
        let differs = (0..50u64).any(|s| {
            let (a, b) = (random(s + 10, 384), random(s + 90, 384));
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            naive.to_bits() != super::dot_in_order(&a, &b).to_bits()
        });
        assert!(
            differs,
            "every sample summed to the same bits in both orders"
        );
    }
}
