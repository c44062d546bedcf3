//! The action-level hub fuzzer: a network of identities that sign their own hellos, results and
//! ledger entries plays a list of [`HubAction`]s against a real [`Hub`](crate::hub::Hub), and the
//! hub's invariants are checked after every action (docs/testing.md).

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
    let mut sim = sim::Sim::new();
    for (i, action) in actions.iter().enumerate() {
        sim.apply(action);
        if let Err(broken) = sim.hub.check_invariants() {
            panic!("after action {i} of {:#?}: {broken}", &actions[..=i]);
        }
    }
}

mod sim {
    use std::collections::HashMap;

    use edgenet_core::ledger::sync::{SyncMessage, Want};
    use edgenet_core::ledger::{Account, Entry, EntryKind};
    use edgenet_core::task::{TaskId, TaskKind, result_signing_message};
    use edgenet_core::{SecretKey, SignedExchangeKey};

    use super::{HubAction, NODES};
    use crate::Millis;
    use crate::handshake::sign_hello;
    use crate::hub::{ConnId, Hub, HubConfig, Input, Output};
    use crate::message::{Capabilities, ClientMsg, HelloBody, PeerInfo, RelayMsg, Role, TaskSpec};

    const UPTIME_BONUS: u64 = 100_000;
    /// The kinds the simulated workers run: the registry's kernel kinds, in its order (so a
    /// kept input picks the same kind as when it was found).
    fn kinds() -> Vec<TaskKind> {
        edgenet_core::kinds::REGISTRY
            .into_iter()
            .filter(|k| k.needs == edgenet_core::kinds::Needs::Kernels)
            .map(|k| k.kind)
            .collect()
    }

    pub(super) struct Sim {
        pub(super) hub: Hub,
        now: Millis,
        keys: Vec<SecretKey>,
        /// Each node's current connection.
        conns: HashMap<usize, ConnId>,
        next_conn: ConnId,
        /// The last proof-of-work challenge each connection was sent.
        challenges: HashMap<ConnId, ([u8; 32], u8)>,
        /// Tasks seen, in order, with their submitter's identity (None: the relay's canary).
        tasks: Vec<(TaskId, Option<usize>)>,
        next_task: u64,
    }

    impl Sim {
        pub(super) fn new() -> Self {
            // Small bounds, so that short action lists reach them.
            let config = HubConfig {
                uptime_bonus: UPTIME_BONUS,
                max_open_tasks_per_submitter: 3,
                finished_history: 6,
                offers_per_round: 2,
                uptime_period_ms: 60_000,
                escrow_grace_ms: 20_000,
                // Real proofs, as cheap as they come (two Argon2id digests on average).
                work_bits: 1,
                ..HubConfig::default()
            };
            let mut hub = Hub::new(SecretKey::from_seed(&[0xEE; 32]), config);
            hub.seed_randomness([7; 32]);
            let keys = (0..NODES)
                .map(|i| SecretKey::from_seed(&[i as u8 + 1; 32]))
                .collect();
            Self {
                hub,
                now: 0,
                keys,
                conns: HashMap::new(),
                challenges: HashMap::new(),
                next_conn: 1,
                tasks: Vec::new(),
                next_task: 0,
            }
        }

        fn node(n: u8) -> usize {
            usize::from(n) % NODES
        }

        fn task(&self, t: u8) -> Option<(TaskId, Option<usize>)> {
            (!self.tasks.is_empty()).then(|| self.tasks[usize::from(t) % self.tasks.len()])
        }

        fn send(&mut self, node: usize, msg: &ClientMsg) {
            let Some(&conn) = self.conns.get(&node) else {
                return;
            };
            if let Ok(frame) = msg.encode() {
                let _ = self.hub.handle(
                    self.now,
                    Input::Frame {
                        conn,
                        bytes: &frame,
                    },
                );
            }
        }

        /// The node's next entry of its own chain, as the relay's replica sees the chain.
        fn own_entry(&mut self, node: usize, kind: EntryKind) -> Option<Entry> {
            let key = &self.keys[node];
            let body = self
                .hub
                .ledger()
                .next_body(Account::of(&key.node_id()), kind)
                .ok()?;
            Some(Entry::sign(body, key))
        }

        pub(super) fn apply(&mut self, action: &HubAction) {
            match action {
                HubAction::Join { node, kinds } => self.join(Self::node(*node), *kinds),
                HubAction::Connect => {
                    let conn = self.fresh_conn();
                    let _ = self.hub.handle(
                        self.now,
                        Input::Connect {
                            conn,
                            nonce: [9; 32],
                        },
                    );
                }
                HubAction::Leave { node } => {
                    if let Some(conn) = self.conns.remove(&Self::node(*node)) {
                        let _ = self.hub.handle(self.now, Input::Disconnect(conn));
                    }
                }
                HubAction::SlowConsumer { node } => {
                    if let Some(conn) = self.conns.remove(&Self::node(*node)) {
                        let _ = self.hub.handle(self.now, Input::SlowConsumer(conn));
                    }
                }
                HubAction::Submit {
                    node,
                    kind,
                    redundancy,
                    timeout_s,
                    pay,
                } => {
                    let node = Self::node(*node);
                    self.next_task += 1;
                    let mut id = [0u8; 16];
                    id[..8].copy_from_slice(&self.next_task.to_le_bytes());
                    let id = TaskId(id);
                    let spec = TaskSpec {
                        id,
                        kind: {
                            let kinds = kinds();
                            kinds[usize::from(*kind) % kinds.len()]
                        },
                        redundancy: *redundancy % 5,
                        max_credits: u64::from(*pay),
                        priority: 0,
                        timeout_ms: u32::from(*timeout_s) * 1_000,
                    };
                    if *pay > 0 {
                        let escrow = EntryKind::Escrow {
                            task: id,
                            amount: u64::from(*pay),
                        };
                        if let Some(entry) = self.own_entry(node, escrow) {
                            self.send(node, &ClientMsg::Ledger(SyncMessage::Entries(vec![entry])));
                        }
                    }
                    self.tasks.push((id, Some(node)));
                    self.send(node, &ClientMsg::Submit(spec));
                }
                HubAction::Claim { node, task } => {
                    if let Some((task, _)) = self.task(*task) {
                        self.send(Self::node(*node), &ClientMsg::Claim { task });
                    }
                }
                HubAction::Payload { task, worker } => {
                    if let Some((task, Some(submitter))) = self.task(*task) {
                        let worker = *self.keys[Self::node(*worker)].node_id().as_bytes();
                        let payload = ClientMsg::Payload {
                            task,
                            worker,
                            envelope: vec![1; 64],
                        };
                        self.send(submitter, &payload);
                    }
                }
                HubAction::Result {
                    node,
                    task,
                    commitment,
                    bad_signature,
                } => {
                    let Some((task, _)) = self.task(*task) else {
                        return;
                    };
                    let node = Self::node(*node);
                    let commitment = [*commitment; 32];
                    let mut signature = self.keys[node]
                        .sign(&result_signing_message(&task, &commitment))
                        .to_bytes()
                        .to_vec();
                    if *bad_signature {
                        signature[0] ^= 1;
                    }
                    let result = ClientMsg::Result {
                        task,
                        envelope: vec![2; 64],
                        commitment,
                        signature,
                    };
                    self.send(node, &result);
                }
                HubAction::Verdict {
                    task,
                    agreeing,
                    outvoted,
                    repeat,
                } => {
                    let Some((task, Some(submitter))) = self.task(*task) else {
                        return;
                    };
                    let pick = |mask: u8| -> Vec<[u8; 32]> {
                        (0..NODES)
                            .filter(|i| mask & (1 << i) != 0)
                            .map(|i| *self.keys[i].node_id().as_bytes())
                            .collect()
                    };
                    let verdict = ClientMsg::Verdict {
                        task,
                        agreeing: pick(*agreeing).repeat(1 + usize::from(*repeat % 4)),
                        outvoted: pick(*outvoted),
                    };
                    self.send(submitter, &verdict);
                }
                HubAction::Escrow { node, task, amount } => {
                    let node = Self::node(*node);
                    let task = self
                        .task(*task)
                        .map_or(TaskId([*amount as u8; 16]), |(t, _)| t);
                    let escrow = EntryKind::Escrow {
                        task,
                        amount: u64::from(*amount),
                    };
                    if let Some(entry) = self.own_entry(node, escrow) {
                        self.send(node, &ClientMsg::Ledger(SyncMessage::Entries(vec![entry])));
                    }
                }
                HubAction::Mint { node, amount } => {
                    let to = Account::of(&self.keys[Self::node(*node)].node_id());
                    self.hub.grant_proven_uptime(to, 1 + u64::from(*amount % 8));
                }
                HubAction::Prove { node, honest } => {
                    let node = Self::node(*node);
                    let asked = self.conns.get(&node).and_then(|c| self.challenges.get(c));
                    if let Some(&(challenge, bits)) = asked {
                        let nonce = if *honest {
                            edgenet_core::work::solve(challenge, bits)
                        } else {
                            // Most nonces fail at these bits; a stale challenge fails for sure.
                            u64::from(challenge[0])
                        };
                        let challenge = if *honest { challenge } else { [0; 32] };
                        self.send(node, &ClientMsg::WorkProof { challenge, nonce });
                    }
                }
                HubAction::Wants { node } => {
                    let node = Self::node(*node);
                    let account = Account::of(&self.keys[node].node_id());
                    let wants = vec![Want { account, from: 0 }];
                    self.send(node, &ClientMsg::Ledger(SyncMessage::Wants(wants)));
                }
                HubAction::Raw { node, bytes } => {
                    if let Some(&conn) = self.conns.get(&Self::node(*node)) {
                        let _ = self.hub.handle(self.now, Input::Frame { conn, bytes });
                    }
                }
                HubAction::Advance { ms } => {
                    self.now += Millis::from(*ms);
                    let _ = self.hub.handle(self.now, Input::Timeout);
                }
                HubAction::NextDeadline => {
                    if let Some(at) = self.hub.poll_timeout() {
                        self.now = self.now.max(at);
                        let _ = self.hub.handle(self.now, Input::Timeout);
                    }
                }
            }
            self.drain();
        }

        fn fresh_conn(&mut self) -> ConnId {
            self.next_conn += 1;
            self.next_conn
        }

        fn join(&mut self, node: usize, kinds: u8) {
            let conn = self.fresh_conn();
            let nonce = [conn as u8; 32];
            let _ = self.hub.handle(self.now, Input::Connect { conn, nonce });
            let key = &self.keys[node];
            let body = HelloBody {
                version: crate::PROTOCOL_VERSION,
                peer: PeerInfo {
                    node: *key.node_id().as_bytes(),
                    exchange_key: SignedExchangeKey::for_identity(key).encode().to_vec(),
                    role: Role::Native,
                    capabilities: Capabilities {
                        cores: 1,
                        memory_mib: 1,
                        gpu: None,
                        kernels: self::kinds()
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| kinds & (1 << i) != 0)
                            .map(|(_, k)| k)
                            .collect(),
                        backends: Vec::new(),
                    },
                },
            };
            let relay = *self.hub.node_id().as_bytes();
            let Ok(signature) = sign_hello(key, &nonce, &relay, &body) else {
                return;
            };
            self.conns.insert(node, conn);
            self.send(node, &ClientMsg::Hello { body, signature });
        }

        /// Carries out the hub's outputs as the relay would, and learns the task ids it names.
        fn drain(&mut self) {
            loop {
                let closed = self.drain_once();
                if closed.is_empty() {
                    return;
                }
                for conn in closed {
                    self.conns.retain(|_, c| *c != conn);
                    let _ = self.hub.handle(self.now, Input::Disconnect(conn));
                }
            }
        }

        fn drain_once(&mut self) -> Vec<ConnId> {
            let mut closed = Vec::new();
            while let Some(out) = self.hub.poll_output() {
                match out {
                    Output::Send(conn, frame) => match RelayMsg::decode(&frame) {
                        Ok(RelayMsg::Offer { task, .. } | RelayMsg::Assignment { task, .. })
                            if !self.tasks.iter().any(|(t, _)| *t == task) =>
                        {
                            self.tasks.push((task, None));
                        }
                        Ok(RelayMsg::WorkWanted { challenge, bits }) => {
                            self.challenges.insert(conn, (challenge, bits));
                        }
                        _ => {}
                    },
                    Output::Close(conn) => closed.push(conn),
                    // One relay: nothing is borrowed or lent or attested by others.
                    Output::Forward(_) | Output::Attest(_) | Output::TaskRecord(_) => {}
                    // Encoded as the relay's writer would; nothing in them is learned here.
                    Output::SendEntries(_, page) => {
                        let _ = page.frames();
                    }
                }
            }
            closed
        }
    }
}
