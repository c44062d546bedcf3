//! Identity and envelope costs, each beside its anchor in the same run:
//! - `verify` vs `batch_verify_64` per signature (the batch is the ledger's physical limit);
//! - `seal`/`open` vs bare ChaCha20-Poly1305 of the same size and two bare X25519 exchanges (what
//!   the envelope costs beyond its primitives).
//!
//! Run: `scripts/bench.sh` (or `cargo bench -p edgenet-core --bench crypto`).

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use edgenet_core::identity::verify_batch;
use edgenet_core::{NodeId, SecretKey, Signature, SignedExchangeKey, envelope};
use rand_chacha::rand_core::SeedableRng;
use std::hint::black_box;

fn identity(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
    let key = SecretKey::generate(&mut rng);
    let message = [0x5a_u8; 128];
    let sig = key.sign(&message);
    let id = key.node_id();

    let mut g = c.benchmark_group("identity");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign_128B", |b| b.iter(|| key.sign(black_box(&message))));
    g.bench_function("verify_128B", |b| {
        b.iter(|| id.verify(black_box(&message), black_box(&sig)))
    });

    let keys: Vec<SecretKey> = (0..64).map(|_| SecretKey::generate(&mut rng)).collect();
    let messages: Vec<[u8; 128]> = (0..64u8).map(|i| [i; 128]).collect();
    let msgs: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
    let sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let ids: Vec<NodeId> = keys.iter().map(SecretKey::node_id).collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("batch_verify_64", |b| {
        b.iter(|| verify_batch(black_box(&msgs), black_box(&sigs), black_box(&ids)))
    });
    g.bench_function("verify_64_one_by_one", |b| {
        b.iter(|| {
            ids.iter()
                .zip(&msgs)
                .zip(&sigs)
                .all(|((id, m), s)| id.verify(m, s).is_ok())
        })
    });
    g.finish();
}

fn envelopes(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([2; 32]);
    let alice = SecretKey::generate(&mut rng);
    let bob = SecretKey::generate(&mut rng);
    let (alice_xk, bob_xk) = (
        SignedExchangeKey::for_identity(&alice),
        SignedExchangeKey::for_identity(&bob),
    );

    let mut g = c.benchmark_group("envelope");
    // Anchor: the two X25519 exchanges every seal/open performs.
    let eph = x25519_dalek::StaticSecret::from([7u8; 32]);
    let peer = x25519_dalek::PublicKey::from(*bob_xk.key().as_bytes());
    g.bench_function("anchor_x25519_dh_x2", |b| {
        b.iter(|| {
            (
                eph.diffie_hellman(black_box(&peer)),
                eph.diffie_hellman(black_box(&peer)),
            )
        })
    });

    for size in [1024usize, 64 * 1024] {
        let label = if size == 1024 { "1KiB" } else { "64KiB" };
        let plaintext = vec![0xa5u8; size];
        let sealed =
            envelope::seal(&mut rng, &alice, &bob_xk, b"task", &plaintext).unwrap_or_default();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("seal_{label}"), |b| {
            b.iter_batched(
                || rand_chacha::ChaCha20Rng::from_seed([3; 32]),
                |mut r| envelope::seal(&mut r, &alice, &bob_xk, b"task", black_box(&plaintext)),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("open_{label}"), |b| {
            b.iter(|| envelope::open(&bob, &alice_xk, b"task", black_box(&sealed)))
        });
        // Anchor: the bare AEAD over the same bytes.
        let aead = ChaCha20Poly1305::new(&[9u8; 32].into());
        g.bench_function(format!("anchor_chacha20poly1305_{label}"), |b| {
            b.iter(|| {
                aead.encrypt(
                    &[0u8; 12].into(),
                    Payload {
                        msg: black_box(&plaintext),
                        aad: b"task",
                    },
                )
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2)).sample_size(30);
    targets = identity, envelopes
}
criterion_main!(benches);
