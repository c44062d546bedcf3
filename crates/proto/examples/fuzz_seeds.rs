//! Writes seed inputs for the fuzz targets into `fuzz/regressions/` (real frames of each kind), so
//! both fuzzing and the regression tests start from meaningful bytes:
//! `cargo run -p edgenet-proto --example fuzz_seeds`

use edgenet_core::kinds::vector_search::{SearchMetric, VectorSearch};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{SecretKey, SignedExchangeKey};
use edgenet_proto::handshake::hello_transcript;
use edgenet_proto::message::{
    Capabilities, ClientMsg, HelloBody, PeerInfo, RelayMsg, Role, TaskSpec,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let key = SecretKey::from_seed(&[4; 32]);
    let relay = SecretKey::from_seed(&[1; 32]).node_id();
    let body = HelloBody {
        version: 1,
        peer: PeerInfo {
            node: *key.node_id().as_bytes(),
            exchange_key: SignedExchangeKey::for_identity(&key).encode().to_vec(),
            role: Role::Browser,
            capabilities: Capabilities {
                cores: 4,
                memory_mib: 512,
                gpu: Some("SwiftShader".into()),
                kernels: vec![TaskKind::VECTOR_SEARCH],
                backends: vec!["wasm-simd".into()],
            },
        },
    };
    // The hub target's first connection gets nonce [2; 32] from relay seed [1; 32].
    let signature = key
        .sign(&hello_transcript(&[2; 32], relay.as_bytes(), &body)?)
        .to_bytes()
        .to_vec();
    let hello = ClientMsg::Hello { body, signature }.encode()?;
    let submit = ClientMsg::Submit(TaskSpec {
        id: TaskId([9; 16]),
        kind: TaskKind::VECTOR_SEARCH,
        redundancy: 3,
        max_credits: 10,
        priority: 1,
        timeout_ms: 5000,
    })
    .encode()?;
    let challenge = RelayMsg::Challenge {
        nonce: [5; 32],
        relay: *relay.as_bytes(),
        min_version: 1,
        max_version: 1,
    }
    .encode()?;
    let search = VectorSearch {
        metric: SearchMetric::Cosine,
        dim: 2,
        k: 1,
        queries: vec![1.0, 0.0],
        database: vec![0.5, 0.5],
    }
    .encode()?;

    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::write(root.join(target).join(name), bytes)
    };
    write("decode_messages", "hello", &hello)?;
    write("decode_messages", "submit", &submit)?;
    write("decode_messages", "challenge", &challenge)?;
    write("decode_messages", "garbage", b"\x02\xff\xff\xff\xff\x0f")?;
    // The hub alternates connections: 1 says hello, 2 sends garbage, 1 submits.
    let frames = edgenet_proto::fuzz_targets::hub_input(&[&hello, b"\x02junk", &submit]);
    write("hub_frames", "hello-then-submit", &frames)?;
    write("hub_frames", "empty", b"")?;
    write("decode_untrusted", "vector-search", &search)?;
    write(
        "decode_untrusted",
        "keyfile",
        edgenet_core::keyfile::export_plain(&key).as_bytes(),
    )?;
    write(
        "decode_untrusted",
        "exchange-key",
        &SignedExchangeKey::for_identity(&key).encode(),
    )?;
    Ok(())
}
