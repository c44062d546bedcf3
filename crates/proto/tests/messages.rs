//! Message encoding: round trips, limits, and untrusted bytes never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::message::{ClientMsg, RelayMsg, TaskSpec};
use proptest::prelude::*;

#[test]
fn limits_are_checked_after_decoding() {
    let bad_sig = ClientMsg::Result {
        task: TaskId([1; 16]),
        envelope: vec![1, 2, 3],
        commitment: [0; 32],
        signature: vec![0; 63],
    };
    assert_eq!(
        ClientMsg::decode(&bad_sig.encode().unwrap())
            .unwrap_err()
            .code(),
        "EN-204"
    );
    let long = RelayMsg::Error {
        code: "EN-1".into(),
        message: "x".repeat(300),
    };
    assert_eq!(
        RelayMsg::decode(&long.encode().unwrap())
            .unwrap_err()
            .code(),
        "EN-204"
    );
    let mut trailing = ClientMsg::Claim {
        task: TaskId([2; 16]),
    }
    .encode()
    .unwrap();
    trailing.push(0);
    assert_eq!(ClientMsg::decode(&trailing).unwrap_err().code(), "EN-203");
}

fn spec_strategy() -> impl Strategy<Value = TaskSpec> {
    (
        any::<[u8; 16]>(),
        any::<u8>(),
        any::<u64>(),
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(
            |(id, redundancy, max_credits, priority, timeout_ms)| TaskSpec {
                id: TaskId(id),
                kind: TaskKind::VECTOR_SEARCH,
                redundancy,
                max_credits,
                priority,
                timeout_ms,
            },
        )
}

proptest! {
    #[test]
    fn client_messages_round_trip(spec in spec_strategy(), envelope in proptest::collection::vec(any::<u8>(), 0..512), worker: [u8; 32]) {
        for msg in [ClientMsg::Submit(spec.clone()), ClientMsg::Claim { task: spec.id }, ClientMsg::Payload { task: spec.id, worker, envelope: envelope.clone() }] {
            prop_assert_eq!(ClientMsg::decode(&msg.encode().unwrap()).unwrap(), msg);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = ClientMsg::decode(&bytes);
        let _ = RelayMsg::decode(&bytes);
        if !bytes.is_empty() { bytes[0] = edgenet_proto::PROTOCOL_VERSION; }
        let _ = ClientMsg::decode(&bytes);
        let _ = RelayMsg::decode(&bytes);
    }
}
