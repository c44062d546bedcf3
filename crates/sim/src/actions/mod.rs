//! The hub's action-level fuzzer: identities that sign their own hellos, results and ledger
//! entries play a list of [`HubAction`]s against a real [`Hub`](edgenet_proto::hub::Hub) on the
//! in-memory network, and the hub's invariants are checked after every action
//! (docs/testing.md). The cargo-fuzz target `hub_actions` and the kept action lists in
//! `tests/hub_actions.rs` both run [`run_hub_actions`].

/// One step a network can take against the hub: the alphabet of the action-level fuzzer. Node
/// numbers pick one of [`NODES`] fixed identities; task numbers pick one of the tasks seen so far
/// (submitted, offered or assigned), so most actions reach past the checks into real state.
/// Kept regressions are lists of these (`tests/hub_actions.rs`).
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub enum HubAction {
    /// The node connects and completes its handshake, running the kinds in the mask (bits 0–2);
    /// a node already on sends a fresh connection that replaces its old one.
    Join { node: u8, kinds: u8 },
    /// A connection that never says hello.
    Connect,
    /// The node's connection closes.
    Leave { node: u8 },
    /// The relay found the node's outgoing queue full.
    SlowConsumer { node: u8 },
    /// The node submits a task; `pay` > 0 escrows that much first.
    Submit {
        node: u8,
        kind: u8,
        redundancy: u8,
        timeout_s: u8,
        pay: u16,
    },
    /// The node claims a task.
    Claim { node: u8, task: u8 },
    /// The task's submitter sends a sealed payload for a worker.
    Payload { task: u8, worker: u8 },
    /// The node returns a result, signed (or with a bad signature).
    Result {
        node: u8,
        task: u8,
        commitment: u8,
        bad_signature: bool,
    },
    /// The task's submitter gives a verdict: bit masks over the identities, the agreeing list
    /// written `1 + repeat % 4` times over (a hostile submitter repeating names).
    Verdict {
        task: u8,
        agreeing: u8,
        outvoted: u8,
        repeat: u8,
    },
    /// The node escrows credits for a task id of its own, without submitting it.
    Escrow { node: u8, task: u8, amount: u16 },
    /// The relay mints the node whole uptime bonuses, as for periods it proved (a documented
    /// reward).
    Mint { node: u8, amount: u16 },
    /// The node answers the last proof-of-work challenge it was sent, with a nonce that proves
    /// the work or (not `honest`) one that does not, or is for another challenge.
    Prove { node: u8, honest: bool },
    /// The node asks for its chain from the start.
    Wants { node: u8 },
    /// The node sends any bytes.
    Raw { node: u8, bytes: Vec<u8> },
    /// The clock moves on.
    Advance { ms: u16 },
    /// The clock jumps to the hub's next deadline.
    NextDeadline,
}

/// Identities the action fuzzer plays.
pub const NODES: usize = 6;

/// Runs actions decoded from fuzzer bytes ([`run_hub_actions`]).
pub fn hub_actions(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    if let Ok(actions) = <Vec<HubAction> as arbitrary::Arbitrary>::arbitrary(&mut u) {
        run_hub_actions(&actions);
    }
}

/// Plays `actions` against a hub as a network of [`NODES`] identities would, and checks the hub's
/// invariants after each; panics with the action list so far when one breaks.
#[allow(clippy::panic)] // a fuzz target reports a broken invariant by panicking
pub fn run_hub_actions(actions: &[HubAction]) {
    let mut player = player::Player::new();
    for (i, action) in actions.iter().enumerate() {
        player.apply(action);
        if let Err(broken) = player.check() {
            panic!("after action {i} of {:#?}: {broken}", &actions[..=i]);
        }
    }
}

mod player;
