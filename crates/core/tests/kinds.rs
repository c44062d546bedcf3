//! Each kind's module: its canaries are answered by their own expected result, its injected lies
//! are caught by its own comparison, and its wire number is the one earlier releases sent.

use edgenet_core::kinds::vector_search::{Hit, KnnResult};
use edgenet_core::kinds::{Lie, REGISTRY, TaskKind, results_agree};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

#[test]
fn every_canary_agrees_with_its_answer_and_not_with_a_lie() {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let with_canaries: Vec<_> = REGISTRY
        .iter()
        .filter(|k| k.canary_rank.is_some())
        .collect();
    assert!(
        with_canaries.len() >= 2,
        "encryption and embedding have canaries"
    );
    for info in with_canaries {
        for _ in 0..8 {
            let canary = info.payloads().canary(&mut rng).expect("a canary");
            info.payloads().check_payload(&canary.payload).unwrap();
            assert!(
                info.rules().agree(&canary.expected, &canary.expected),
                "{}",
                info.name
            );
            for lie in [Lie::Wrong, Lie::DropHit] {
                let lied = info.payloads().lie(&canary.expected, lie).unwrap();
                assert!(
                    !results_agree(info.kind, &canary.expected, &lied),
                    "{}",
                    info.name
                );
            }
        }
    }
}

#[test]
fn two_canaries_differ() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    for info in REGISTRY.iter().filter(|k| k.canary_rank.is_some()) {
        let a = info.payloads().canary(&mut rng).unwrap();
        let b = info.payloads().canary(&mut rng).unwrap();
        assert_ne!(a.payload, b.payload, "{}", info.name);
    }
}

#[test]
fn a_search_lie_is_caught_and_a_result_that_does_not_decode_agrees_with_nothing() {
    let honest = KnnResult {
        hits: vec![vec![
            Hit {
                index: 3,
                score: 0.9,
            },
            Hit {
                index: 7,
                score: 0.5,
            },
        ]],
    }
    .encode();
    let info = TaskKind::VECTOR_SEARCH.known().unwrap();
    assert!(info.rules().agree(&honest, &honest));
    for lie in [Lie::Wrong, Lie::DropHit] {
        let lied = info.payloads().lie(&honest, lie).unwrap();
        assert!(!info.rules().agree(&honest, &lied));
    }
    for info in REGISTRY {
        assert!(
            !info.rules().agree(&[0xff; 3], &[0xfe; 3]),
            "{}: garbage agrees",
            info.name
        );
    }
}

#[test]
fn wire_numbers_are_the_ones_earlier_releases_sent() {
    // The kind was a serde enum: postcard wrote its variant index, one byte for these.
    let names = [
        "vector_search",
        "encryption",
        "compression",
        "embedding",
        "semantic_match",
        "vector_insert",
        "shard_search",
    ];
    for (i, name) in names.iter().enumerate() {
        let kind = TaskKind::from_name(name).unwrap();
        assert_eq!(
            postcard::to_allocvec(&kind).unwrap(),
            vec![i as u8],
            "{name}"
        );
    }
}

#[test]
fn prices_follow_the_brief_per_unit() {
    use edgenet_core::kinds::encryption::Encryption;
    let info = TaskKind::ENCRYPTION.known().unwrap();
    let job = Encryption {
        key: [1; 32],
        nonce: [2; 12],
        aad: Vec::new(),
        plaintext: vec![0; 1 << 19],
    };
    // 0.1 credit per MB: half a MB costs 0.05.
    assert_eq!(info.price_of(&job.encode().unwrap()).unwrap(), 50_000);
    assert_eq!(info.price_of(b"not a payload").unwrap_err().code, "EN-140");
}

#[test]
fn a_custom_wasm_task_is_held_to_its_bounds_and_priced_by_the_fuel_it_allows() {
    use edgenet_core::kinds::custom_wasm::{CustomWasm, WasmEnd, WasmRun, WasmRuns};
    let task = CustomWasm {
        module: b"\0asm\x01\0\0\0".to_vec(),
        inputs: vec![b"a".to_vec(); 10],
        fuel: 2_000_000_000,
        memory_mib: 64,
    };
    let info = TaskKind::CUSTOM_WASM.info().unwrap();
    let bytes = task.encode().unwrap();
    // 2·10⁹ fuel × 10 inputs at 0.01 credit per 10⁹.
    assert_eq!(info.price_of(&bytes).unwrap(), 200_000);
    let refused = |t: CustomWasm| t.validate().unwrap_err().to_string();
    for bad in [
        CustomWasm {
            inputs: vec![],
            ..task.clone()
        },
        CustomWasm {
            inputs: vec![vec![]; CustomWasm::MAX_INPUTS + 1],
            ..task.clone()
        },
        CustomWasm {
            fuel: 0,
            ..task.clone()
        },
        CustomWasm {
            fuel: CustomWasm::MAX_TASK_FUEL / 10 + 1,
            ..task.clone()
        },
        CustomWasm {
            memory_mib: 0,
            ..task.clone()
        },
        CustomWasm {
            memory_mib: 257,
            ..task.clone()
        },
        CustomWasm {
            module: vec![0; CustomWasm::MAX_MODULE + 1],
            ..task.clone()
        },
        CustomWasm {
            inputs: vec![vec![0; 300_000]; 3],
            ..task.clone()
        },
    ] {
        assert!(refused(bad).contains("out of bounds"));
    }
    // Results: equal bytes agree, a lie (one fuel more) does not, an oversized result is
    // refused.
    let runs = WasmRuns {
        runs: vec![
            WasmRun {
                end: WasmEnd::Output(b"x".to_vec()),
                fuel_used: 7,
            },
            WasmRun {
                end: WasmEnd::Trap(611),
                fuel_used: 2_000_000_000,
            },
        ],
    };
    let encoded = runs.encode().unwrap();
    assert!(results_agree(TaskKind::CUSTOM_WASM, &encoded, &encoded));
    let lied = info.payloads().lie(&encoded, Lie::Wrong).unwrap();
    assert!(!results_agree(TaskKind::CUSTOM_WASM, &encoded, &lied));
    assert_eq!(runs.fuel_used(), 2_000_000_007);
    let huge = WasmRuns {
        runs: vec![WasmRun {
            end: WasmEnd::Output(vec![0; WasmRuns::MAX_OUTPUT + 1]),
            fuel_used: 1,
        }],
    };
    assert!(huge.encode().is_err());
    assert_eq!(TaskKind::CUSTOM_WASM.wire(), 7, "wire numbers never change");
}
