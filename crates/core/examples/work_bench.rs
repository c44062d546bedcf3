//! What a proof of work costs beside what the credits it earns buy (docs/ledger.md, "What first
//! credits cost"): Argon2id digests per second, and in the same run the anchor, ChaCha20-Poly1305
//! over the 100 MB that a canary's 10 credits buy at the brief's list price for encryption
//! (0.1 credit per MB). `scripts/bench.sh work` runs it, and the same digests in wasm.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark that reports by printing

use std::time::Instant;

use edgenet_core::work::Solver;

fn main() {
    let bits: u32 = std::env::args().nth(1).map_or(12, |b| b.parse().unwrap());
    // A difficulty never met in the run: every step costs exactly its digests.
    let mut solver = Solver::new([7; 32], 64);
    solver.step(8);
    let n = 400u32;
    let t = Instant::now();
    solver.step(n);
    let digest_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    let proof_s = digest_ms * f64::from(1u32 << bits) / 1000.0;

    // The anchor: encrypting what 10 credits buy (100 MB), in 1 MiB calls.
    let chunk = vec![9u8; 1 << 20];
    let t = Instant::now();
    let mut sink = 0u8;
    for i in 0..100u32 {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&i.to_le_bytes());
        sink ^= edgenet_core::aead::seal(&[1; 32], &nonce, b"", &chunk)[0];
    }
    let encrypt_s = t.elapsed().as_secs_f64();
    std::hint::black_box(sink);

    println!("| measure | value |");
    println!("|---|---|");
    println!("| Argon2id digest (4 MiB, 1 pass), native | {digest_ms:.2} ms |");
    println!("| one proof at {bits} bits (2^{bits} digests) | {proof_s:.1} CPU-s |");
    println!(
        "| anchor: ChaCha20-Poly1305 of 100 MB (10 credits of encryption) | {encrypt_s:.3} CPU-s |"
    );
    println!(
        "| proof ÷ what a 10-credit canary buys in encryption | **{:.0}×** |",
        proof_s / encrypt_s
    );
}
