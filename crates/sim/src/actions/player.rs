//! Plays [`HubAction`]s on a one-relay network whose peers are raw connections: each action is
//! a frame a peer signs and sends (or a step of the clock), and what the relay sends back is
//! only read for what later actions need (task ids offered or assigned, proof-of-work
//! challenges, closed connections).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use edgenet_core::ledger::sync::{SyncMessage, Want};
use edgenet_core::ledger::{Account, Entry, EntryKind};
use edgenet_core::task::{TaskId, TaskKind, result_signing_message};
use edgenet_core::{SecretKey, SignedExchangeKey};
use edgenet_proto::handshake::sign_hello;
use edgenet_proto::hub::{ConnId, Hub, HubConfig, Input};
use edgenet_proto::message::{
    Capabilities, ClientMsg, HelloBody, PeerInfo, RelayMsg, Role, TaskSpec,
};

use super::{HubAction, NODES};
use crate::network::Network;
use crate::packet::Addr;
use crate::peer::{Context, Peer};

const UPTIME_BONUS: u64 = 100_000;
/// The one relay.
const RELAY: usize = 0;

/// The kinds the simulated workers run: the registry's kernel kinds, in its order (so a kept
/// input picks the same kind as when it was found).
fn kinds() -> Vec<TaskKind> {
    edgenet_core::kinds::REGISTRY
        .into_iter()
        .filter(|k| k.needs == edgenet_core::kinds::Needs::Kernels)
        .map(|k| k.kind)
        .collect()
}

/// What the relay's frames told the player, in the order they arrived.
#[derive(Default)]
struct Journal {
    /// Tasks offered or assigned to anyone.
    tasks: Vec<TaskId>,
    /// The last proof-of-work challenge each connection was sent.
    challenges: BTreeMap<ConnId, ([u8; 32], u8)>,
    /// Connections the relay closed.
    closed: Vec<ConnId>,
}

/// A connection the player sends frames on by hand; it only reads what the journal keeps.
struct RawPeer {
    conn: ConnId,
    journal: Rc<RefCell<Journal>>,
}

impl Peer for RawPeer {
    fn receive(&mut self, frame: &[u8], _cx: &mut Context<'_>) {
        let mut journal = self.journal.borrow_mut();
        match RelayMsg::decode(frame) {
            Ok(RelayMsg::Offer { task, .. } | RelayMsg::Assignment { task, .. }) => {
                journal.tasks.push(task);
            }
            Ok(RelayMsg::WorkWanted { challenge, bits }) => {
                journal.challenges.insert(self.conn, (challenge, bits));
            }
            _ => {}
        }
    }

    fn poll_transmit(&mut self, _cx: &mut Context<'_>) -> Option<Vec<u8>> {
        None
    }

    fn closed(&mut self, _cx: &mut Context<'_>) {
        self.journal.borrow_mut().closed.push(self.conn);
    }
}

pub(super) struct Player {
    net: Network<RawPeer>,
    journal: Rc<RefCell<Journal>>,
    keys: Vec<SecretKey>,
    /// Each node's current connection.
    conns: BTreeMap<usize, ConnId>,
    /// Tasks seen, in order, with their submitter's identity (None: the relay's canary).
    tasks: Vec<(TaskId, Option<usize>)>,
    next_task: u64,
}

impl Player {
    pub(super) fn new() -> Self {
        // Small bounds, so that short action lists reach them.
        let config = HubConfig {
            uptime_bonus: UPTIME_BONUS,
            max_open_tasks_per_submitter: 3,
            finished_history: 6,
            offers_per_round: 2,
            // Claims drawn at the end of a window, as the relay does (spot checks at its rate).
            claim_window_ms: 50,
            uptime_period_ms: 60_000,
            escrow_grace_ms: 20_000,
            // Real proofs, as cheap as they come (two Argon2id digests on average).
            work_bits: 1,
            ..HubConfig::default()
        };
        let mut hub = Hub::new(SecretKey::from_seed(&[0xEE; 32]), config);
        hub.seed_randomness([7; 32]);
        let mut net = Network::new(0);
        net.now = 0;
        net.add_relay(hub);
        let keys = (0..NODES)
            .map(|i| SecretKey::from_seed(&[i as u8 + 1; 32]))
            .collect();
        Self {
            net,
            journal: Rc::default(),
            keys,
            conns: BTreeMap::new(),
            tasks: Vec::new(),
            next_task: 0,
        }
    }

    /// The hub's invariants.
    pub(super) fn check(&mut self) -> Result<(), String> {
        self.net.hub_mut(RELAY).check_invariants()
    }

    fn node(n: u8) -> usize {
        usize::from(n) % NODES
    }

    fn task(&self, t: u8) -> Option<(TaskId, Option<usize>)> {
        (!self.tasks.is_empty()).then(|| self.tasks[usize::from(t) % self.tasks.len()])
    }

    fn addr(&self, node: usize) -> Option<Addr> {
        self.conns.get(&node).map(|&conn| Addr::new(RELAY, conn))
    }

    fn send(&mut self, node: usize, msg: &ClientMsg) {
        if let (Some(addr), Ok(frame)) = (self.addr(node), msg.encode()) {
            let _ = self.net.inject(addr, &frame);
        }
    }

    /// The node's next entry of its own chain, as the relay's replica sees the chain.
    fn own_entry(&mut self, node: usize, kind: EntryKind) -> Option<Entry> {
        let key = &self.keys[node];
        let body = self
            .net
            .hub_mut(RELAY)
            .ledger()
            .next_body(Account::of(&key.node_id()), kind)
            .ok()?;
        Some(Entry::sign(body, key))
    }

    fn escrow(&mut self, node: usize, task: TaskId, amount: u64) {
        if let Some(entry) = self.own_entry(node, EntryKind::Escrow { task, amount }) {
            self.send(node, &ClientMsg::Ledger(SyncMessage::Entries(vec![entry])));
        }
    }

    pub(super) fn apply(&mut self, action: &HubAction) {
        match action {
            HubAction::Join { node, kinds } => self.join(Self::node(*node), *kinds),
            HubAction::Connect => {
                let conn = self.net.fresh_conn();
                let peer = self.peer(conn);
                self.net.connect(RELAY, conn, peer, [9; 32]);
            }
            HubAction::Leave { node } => {
                if let Some(conn) = self.conns.remove(&Self::node(*node)) {
                    self.net.disconnect(Addr::new(RELAY, conn));
                }
            }
            HubAction::SlowConsumer { node } => {
                if let Some(conn) = self.conns.remove(&Self::node(*node)) {
                    let _ = self.net.input(RELAY, Input::SlowConsumer(conn));
                }
            }
            HubAction::Submit {
                node,
                kind,
                redundancy,
                timeout_s,
                pay,
            } => self.submit(Self::node(*node), *kind, *redundancy, *timeout_s, *pay),
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
            } => self.result(Self::node(*node), *task, *commitment, *bad_signature),
            HubAction::Verdict {
                task,
                agreeing,
                outvoted,
                repeat,
            } => self.verdict(*task, *agreeing, *outvoted, *repeat),
            HubAction::Escrow { node, task, amount } => {
                let task = self
                    .task(*task)
                    .map_or(TaskId([*amount as u8; 16]), |(t, _)| t);
                self.escrow(Self::node(*node), task, u64::from(*amount));
            }
            HubAction::Mint { node, amount } => {
                let to = Account::of(&self.keys[Self::node(*node)].node_id());
                self.net
                    .hub_mut(RELAY)
                    .grant_proven_uptime(to, 1 + u64::from(*amount % 8));
            }
            HubAction::Prove { node, honest } => self.prove(Self::node(*node), *honest),
            HubAction::Wants { node } => {
                let node = Self::node(*node);
                let account = Account::of(&self.keys[node].node_id());
                let wants = vec![Want { account, from: 0 }];
                self.send(node, &ClientMsg::Ledger(SyncMessage::Wants(wants)));
            }
            HubAction::Raw { node, bytes } => {
                if let Some(addr) = self.addr(Self::node(*node)) {
                    let _ = self.net.inject(addr, bytes);
                }
            }
            HubAction::Advance { ms } => self.net.jump(u64::from(*ms)),
            HubAction::NextDeadline => {
                self.net.drive();
            }
        }
        self.net.settle();
        self.learn();
    }

    /// Takes in what the journal learned: tasks not seen before, connections the relay closed.
    fn learn(&mut self) {
        let mut journal = self.journal.borrow_mut();
        for task in journal.tasks.drain(..) {
            if !self.tasks.iter().any(|(t, _)| *t == task) {
                self.tasks.push((task, None));
            }
        }
        for conn in journal.closed.drain(..) {
            self.conns.retain(|_, c| *c != conn);
        }
    }

    fn peer(&self, conn: ConnId) -> RawPeer {
        RawPeer {
            conn,
            journal: Rc::clone(&self.journal),
        }
    }

    fn submit(&mut self, node: usize, kind: u8, redundancy: u8, timeout_s: u8, pay: u16) {
        self.next_task += 1;
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.next_task.to_le_bytes());
        let id = TaskId(id);
        let kinds = kinds();
        let spec = TaskSpec {
            id,
            kind: kinds[usize::from(kind) % kinds.len()],
            redundancy: redundancy % 5,
            max_credits: u64::from(pay),
            priority: 0,
            timeout_ms: u32::from(timeout_s) * 1_000,
        };
        if pay > 0 {
            self.escrow(node, id, u64::from(pay));
        }
        self.tasks.push((id, Some(node)));
        self.send(node, &ClientMsg::Submit(spec));
    }

    fn result(&mut self, node: usize, task: u8, commitment: u8, bad_signature: bool) {
        let Some((task, _)) = self.task(task) else {
            return;
        };
        let commitment = [commitment; 32];
        let mut signature = self.keys[node]
            .sign(&result_signing_message(&task, &commitment))
            .to_bytes()
            .to_vec();
        if bad_signature {
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

    fn verdict(&mut self, task: u8, agreeing: u8, outvoted: u8, repeat: u8) {
        let Some((task, Some(submitter))) = self.task(task) else {
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
            agreeing: pick(agreeing).repeat(1 + usize::from(repeat % 4)),
            outvoted: pick(outvoted),
        };
        self.send(submitter, &verdict);
    }

    fn prove(&mut self, node: usize, honest: bool) {
        let asked = self
            .conns
            .get(&node)
            .and_then(|c| self.journal.borrow().challenges.get(c).copied());
        if let Some((challenge, bits)) = asked {
            let nonce = if honest {
                edgenet_core::work::solve(challenge, bits)
            } else {
                // Most nonces fail at these bits; a stale challenge fails for sure.
                u64::from(challenge[0])
            };
            let challenge = if honest { challenge } else { [0; 32] };
            self.send(node, &ClientMsg::WorkProof { challenge, nonce });
        }
    }

    fn join(&mut self, node: usize, kinds: u8) {
        let conn = self.net.fresh_conn();
        let nonce = [conn as u8; 32];
        let peer = self.peer(conn);
        self.net.connect(RELAY, conn, peer, nonce);
        let key = &self.keys[node];
        let body = HelloBody {
            version: edgenet_proto::PROTOCOL_VERSION,
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
        let relay = *self.net.hub(RELAY).node_id().as_bytes();
        let Ok(signature) = sign_hello(key, &nonce, &relay, &body) else {
            return;
        };
        self.conns.insert(node, conn);
        self.send(node, &ClientMsg::Hello { body, signature });
    }
}
