//! Functions the example guests export (`examples/`), here so that tests can run them natively
//! and compare with the same code run in the sandbox.

use std::collections::BTreeMap;

/// The words of a UTF-8 text (lossy), counted: one `word count` line each, in byte order of the
/// words.
pub fn word_count(input: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(input);
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word).or_default() += 1;
    }
    counts
        .iter()
        .map(|(w, n)| format!("{w} {n}\n"))
        .collect::<String>()
        .into_bytes()
}

/// Rounds of [`spin`] per run: about 10 ms of work in wasmtime.
pub const SPIN_ROUNDS: u32 = 5_000_000;

/// A compute-bound run for throughput benchmarks: an xorshift64* stream seeded from the input's
/// bytes, [`SPIN_ROUNDS`] steps, folded into 8 bytes.
pub fn spin(input: &[u8]) -> Vec<u8> {
    let mut x = input.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) | 1;
    let mut acc = 0u64;
    for _ in 0..SPIN_ROUNDS {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        acc = acc.wrapping_add(x.wrapping_mul(0x2545_f491_4f6c_dd1d));
    }
    acc.to_le_bytes().to_vec()
}
