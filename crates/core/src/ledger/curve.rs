//! The early-adopter multiplier `1 + 9·e^(−x / 1,000,000 CPU-hours)`, in integer arithmetic.
//!
//! `x` is the network's total verified work, in CPU-seconds. The result is in parts per million
//! (1,000,000 = 1.0×, 10,000,000 = 10.0×). Only integer operations are used (u128/i128 shifts,
//! multiplications and divisions), so every platform, native or wasm32, computes the same bits;
//! no platform `exp` is involved.
//!
//! Method: t = x / 3.6·10⁹ in Q64 fixed point; t = n·ln 2 + r with 0 ≤ r < ln 2; e^(−t) =
//! 2^(−n)·e^(−r), with e^(−r) from its Taylor series (30 terms; the 30th is below 2^−100).
//! Error bound: the Q64 value of e^(−t) is within 2^−56 of the exact value (30 truncated
//! multiplications and divisions, each off by at most 2^−64, and ln 2 to 64 bits times n ≤ 64),
//! so the result is the exact value rounded down, or one less when the exact value lies within
//! 9·10⁶·2^−56 ≈ 1.3·10^−10 ppm above an integer: |result − exact| < 1 ppm in every case.

/// 1.0× in parts per million.
pub const ONE: u64 = 1_000_000;
/// CPU-seconds in the curve's scale (1,000,000 CPU-hours).
const SCALE_SECONDS: u128 = 3_600_000_000;
/// ln 2 in Q64 (rounded down).
const LN2_Q64: u128 = 0xB172_17F7_D1CF_79AB;
/// 1.0 in Q64.
const ONE_Q64: u128 = 1 << 64;
/// Beyond this t, 9·e^(−t) < 10^−12: the multiplier is exactly 1.0×.
const T_MAX: u128 = 40 << 64;

/// The multiplier, in parts per million, after `cpu_seconds` of verified work network-wide.
pub fn multiplier_ppm(cpu_seconds: u64) -> u64 {
    let t = (u128::from(cpu_seconds) << 64) / SCALE_SECONDS;
    if t >= T_MAX {
        return ONE;
    }
    let n = t / LN2_Q64; // ≤ 57
    let r = t - n * LN2_Q64;
    // e^(−r) = Σ (−r)^i / i!, terms of alternating sign; r < 0.7 so each term is smaller.
    let mut term = ONE_Q64;
    let mut sum = ONE_Q64;
    for i in 1..30u128 {
        term = ((term * r) >> 64) / i;
        if i % 2 == 1 {
            sum -= term;
        } else {
            sum += term;
        }
    }
    let e = sum >> n; // Q64, in (0, 1]
    ONE + ((9 * u128::from(ONE) * e) >> 64) as u64
}

/// The early-adopter bonus on a payment of `amount` micro-credits: `amount × (multiplier − 1)`,
/// rounded down (saturating at `u64::MAX`).
pub fn bonus(amount: u64, cpu_seconds: u64) -> u64 {
    let extra = u128::from(multiplier_ppm(cpu_seconds) - ONE);
    u64::try_from(u128::from(amount) * extra / u128::from(ONE)).unwrap_or(u64::MAX)
}

/// The inputs whose outputs native and wasm tests compare: 10,000 points spread from 0 to far past
/// the curve's tail, with irregular low digits.
#[doc(hidden)]
pub fn sample_inputs() -> impl Iterator<Item = u64> {
    (0..10_000u64).map(|i| {
        let spread = i * i * 3_600_000_000 / 1_000_000; // 0 .. ~3.6e11 s (0 .. 100 x scale)
        spread + (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40)
    })
}

/// [`sample_fingerprint`] as computed natively when it was committed. The native tests
/// (`crates/core/tests/ledger_curve.rs`) and the wasm tests in Chromium (`crates/wasm/tests/ledger.rs`)
/// both compare against it, so the two platforms are shown to agree on all 10,000 values.
#[doc(hidden)]
pub const SAMPLE_FINGERPRINT: u64 = 0x7aad_2471_5761_b73a;

/// FNV-1a over the little-endian outputs for [`sample_inputs`]: one number to compare across
/// platforms.
#[doc(hidden)]
pub fn sample_fingerprint() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in sample_inputs() {
        for b in multiplier_ppm(x).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_of_the_curve() {
        assert_eq!(multiplier_ppm(0), 10 * ONE);
        assert_eq!(multiplier_ppm(u64::MAX), ONE);
        // One scale (1,000,000 CPU-hours): 1 + 9/e = 4.310914...
        assert_eq!(multiplier_ppm(3_600_000_000), 4_310_914);
        assert_eq!(bonus(1_000_000, 0), 9_000_000);
    }

    #[test]
    fn monotone_non_increasing() {
        let mut inputs: Vec<u64> = sample_inputs().collect();
        inputs.sort_unstable();
        let mut last = u64::MAX;
        for x in inputs {
            let m = multiplier_ppm(x);
            assert!(m <= last);
            last = m;
        }
    }
}
