//! The hub under random action lists (the cargo-fuzz target `hub_actions` explores the same
//! alphabet for longer), the inputs it kept (`fuzz/regressions/hub_actions/`), and regressions
//! it found, kept as readable action lists. Every run checks `Hub::check_invariants` after each
//! action.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_sim::actions::{HubAction, hub_actions, run_hub_actions};
use proptest::prelude::*;

/// Every input kept in `fuzz/regressions/hub_actions/` (`scripts/fuzz.sh` explains how they get
/// there) runs clean.
#[test]
fn kept_inputs_run_clean() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/hub_actions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        hub_actions(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        n += 1;
    }
    assert!(n > 0, "no kept inputs in {}", dir.display());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_action_lists_keep_every_invariant(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        hub_actions(&bytes);
    }
}

/// A paid task from start to verdict, with a worker lost on the way and the clock jumping to
/// each deadline: the path the fuzzer's invariants watch most closely.
#[test]
fn a_paid_task_through_loss_and_verdict() {
    use HubAction::*;
    run_hub_actions(&[
        Join { node: 0, kinds: 0 },
        Join {
            node: 1,
            kinds: 0b111,
        },
        Join {
            node: 2,
            kinds: 0b111,
        },
        Join {
            node: 3,
            kinds: 0b111,
        },
        Mint {
            node: 0,
            amount: 5_000,
        },
        Submit {
            node: 0,
            kind: 1,
            redundancy: 2,
            timeout_s: 90,
            pay: 3_000,
        },
        Claim { node: 1, task: 0 },
        Claim { node: 2, task: 0 },
        Leave { node: 2 },
        NextDeadline,
        Claim { node: 3, task: 0 },
        Payload { task: 0, worker: 1 },
        Result {
            node: 1,
            task: 0,
            commitment: 7,
            bad_signature: false,
        },
        Result {
            node: 3,
            task: 0,
            commitment: 7,
            bad_signature: true,
        },
        Result {
            node: 3,
            task: 0,
            commitment: 7,
            bad_signature: false,
        },
        Verdict {
            task: 0,
            agreeing: 0b1010,
            outvoted: 0,
            repeat: 0,
        },
        NextDeadline,
        NextDeadline,
    ]);
}

/// An escrow for a task that already finished is refunded after the grace, like any stray one.
#[test]
fn an_escrow_for_a_finished_task_is_refunded() {
    use HubAction::*;
    run_hub_actions(&[
        Join { node: 0, kinds: 0 },
        Mint {
            node: 0,
            amount: 100,
        },
        Submit {
            node: 0,
            kind: 0,
            redundancy: 1,
            timeout_s: 1,
            pay: 0,
        },
        Advance { ms: 2_000 },
        Escrow {
            node: 0,
            task: 0,
            amount: 50,
        },
        NextDeadline,
    ]);
}

/// A submitter that lists its own paid task's worker several times in the verdict: refused, so
/// the worker is paid (and minted its bonus) once.
#[test]
fn a_verdict_repeating_a_worker_pays_it_once() {
    use HubAction::*;
    run_hub_actions(&[
        Join { node: 0, kinds: 0 },
        Join {
            node: 1,
            kinds: 0b001,
        },
        Mint {
            node: 0,
            amount: 20,
        },
        Submit {
            node: 0,
            kind: 0,
            redundancy: 1,
            timeout_s: 60,
            pay: 1_000,
        },
        Claim { node: 1, task: 0 },
        Result {
            node: 1,
            task: 0,
            commitment: 1,
            bad_signature: false,
        },
        Verdict {
            task: 0,
            agreeing: 0b10,
            outvoted: 0,
            repeat: 3,
        },
        Verdict {
            task: 0,
            agreeing: 0b10,
            outvoted: 0,
            repeat: 0,
        },
    ]);
}
