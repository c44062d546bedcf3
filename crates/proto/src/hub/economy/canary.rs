//! Canaries: known-answer tasks the relay sends, sealed like any other, to a worker that has
//! earned nothing yet, and as spot checks to every worker: after one result in
//! `HubConfig::spot_check_one_in`, drawn at random, whatever its age or earnings. A worker that
//! is honest on canaries and lies elsewhere must tell them apart, and a spot check looks like
//! the work it just did. The worker cannot tell one from a node's task by who submitted it: each
//! canary has a submitter identity of its own (a fresh key, never the relay's), which seals the
//! payload and opens the result, with the role, capabilities, timeout and priority of the last
//! real submission this relay took. What a worker could still observe is in
//! docs/threat-model.md. Passing one is how a new identity earns its first credits (minted by the
//! relay, `MintReason::Canary`, once the worker has proved the work it costs: `hub/economy/work.rs`);
//! a spot check pays nothing (it would mint credits for work nobody asked for). Failing either
//! costs reputation, which puts the worker behind every trusted one in the offers
//! (`routing/peers.rs`), and stake if it has any (slashed with the worker's own signed
//! commitment as evidence).
//!
//! Each kind with canaries draws its own known answers (`KindRules::canary` in its module under
//! `edgenet_core::kinds`): today `encryption` (random bytes, key and nonce, computed exactly) and
//! `embedding` (four texts of a table of sixteen whose reference embeddings are built in,
//! compared with the cosine quorum's τ; a fixed table can be learnt by a worker that sees enough
//! canaries; what it proves is that a new worker's model gives the reference's vectors before
//! that worker earns anything). The hub only picks the kind and seals the task.

use edgenet_core::kinds::KnownAnswer;
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{Account, EntryKind, Evidence};
use edgenet_core::task::TaskId;
use edgenet_core::{NodeId, SignedExchangeKey, envelope};
use rand_core::Rng;

use crate::Millis;
use crate::hub::Hub;
use crate::hub::routing::origin::{Canary, Origin};
use crate::hub::routing::tasks::TaskStatus;
use crate::message::{Capabilities, PeerInfo, RelayMsg, Role, TaskSpec};
use crate::submit::Submission;

/// What failing a canary costs in reputation (basis points), and the stake slashed.
const CANARY_PENALTY: u16 = 2_000;
const CANARY_SLASH: u64 = 1_000_000;

impl Hub {
    /// Seeds the hub's randomness (canary payloads and their envelopes). The relay passes OS
    /// randomness at start-up; without it, canaries would be predictable.
    pub fn seed_randomness(&mut self, seed: [u8; 32]) {
        self.rng = rand_core::SeedableRng::from_seed(seed);
    }

    /// Sends `node` its first canary if it is a worker that runs a kind with canaries, has
    /// earned nothing yet, and has none open; passing it pays the canary reward.
    pub(in crate::hub) fn maybe_canary(&mut self, node: NodeId, now: Millis) {
        if self.ledger.account(&Account::of(&node)).earned > 0 {
            return;
        }
        self.send_canary(node, true, now);
    }

    /// `node` just returned a real result: one time in `spot_check_one_in` it gets a canary,
    /// which pays nothing.
    pub(in crate::hub) fn maybe_spot_check(&mut self, node: NodeId, now: Millis) {
        let one_in = u64::from(self.config.spot_check_one_in);
        if one_in == 0 || !self.rng.next_u64().is_multiple_of(one_in) {
            return;
        }
        self.send_canary(node, false, now);
    }

    /// Sends `node` a canary unless it has one open. Of the kinds it lists, the one with the
    /// lowest canary rank (the kind whose shortcut pays most) is tested; its module draws the
    /// known answer.
    fn send_canary(&mut self, node: NodeId, pays: bool, now: Millis) {
        if self.config.canary_reward == 0 {
            return;
        }
        let Some(peer) = self.peers.get(&node).filter(|p| p.is_local()) else {
            return;
        };
        let Some(info) = peer
            .info
            .capabilities
            .kernels
            .iter()
            .filter_map(|k| k.info())
            .filter(|k| k.canary_rank.is_some())
            .min_by_key(|k| k.canary_rank)
        else {
            return;
        };
        let kind = info.kind;
        if self.open_canary_of(&node).is_some() {
            return;
        }
        let mut id = [0u8; 16];
        self.rng.fill_bytes(&mut id);
        let id = TaskId(id);
        let Some(KnownAnswer { payload, expected }) = info.payloads().canary(&mut self.rng) else {
            return;
        };
        let look = self.submitter_look.clone().unwrap_or_default();
        // Long enough for a worker that claims at once; no longer than tasks may be.
        let timeout_ms = look.timeout_ms.clamp(
            u32::try_from(self.config.assignment_timeout_ms).unwrap_or(u32::MAX),
            self.config.max_task_timeout_ms,
        );
        let spec = TaskSpec {
            id,
            kind,
            redundancy: 1,
            max_credits: 0,
            priority: look.priority,
            timeout_ms,
        };
        let mask = edgenet_core::SecretKey::generate(&mut self.rng);
        let mask_info = PeerInfo {
            node: *mask.node_id().as_bytes(),
            exchange_key: SignedExchangeKey::for_identity(&mask).encode().to_vec(),
            role: look.role,
            capabilities: look.capabilities,
        };
        let submitter = mask.node_id();
        let canary = Canary {
            worker: node,
            kind,
            payload,
            expected,
            mask,
            mask_info,
            pays,
        };
        let task = self.accepted_task(spec, submitter, Origin::Canary(Box::new(canary)), now);
        self.tasks.insert(task, &mut self.timers);
        if !pays {
            self.metrics.spot_checks += 1;
        }
        // Offered like any task: a paused or busy worker simply does not claim it yet.
        self.offer(id, now);
    }

    /// The worker left: its unfinished canary goes too (it was for that worker alone, and nobody
    /// is owed anything for it). It gets a fresh one when it comes back.
    pub(in crate::hub) fn withdraw_canaries(&mut self, node: &NodeId) {
        while let Some(id) = self.open_canary_of(node) {
            self.tasks.remove(&id, &mut self.peers, &mut self.timers);
        }
    }

    /// The open canary made for `node`, if any.
    fn open_canary_of(&self, node: &NodeId) -> Option<TaskId> {
        self.tasks.open_involving(node).into_iter().find(|id| {
            self.tasks
                .get(id)
                .and_then(|t| t.canary())
                .is_some_and(|c| c.worker == *node)
        })
    }

    /// The canary's worker claimed it: assign it and send the sealed payload (the relay is the
    /// submitter). False if the claim is not taken.
    pub(in crate::hub) fn assign_canary(&mut self, id: TaskId, node: NodeId, now: Millis) -> bool {
        let Some(task) = self.tasks.get_mut(&id) else {
            return false;
        };
        let Some(canary) = task.canary() else {
            return false;
        };
        let kind = canary.kind;
        if canary.worker != node || !task.needs_workers() || task.has_had(&node) {
            return false;
        }
        let Some(worker_key) = self
            .peers
            .get(&node)
            .and_then(|p| SignedExchangeKey::decode(&p.info.exchange_key).ok())
        else {
            return false;
        };
        let Ok(sealed) = envelope::seal(
            &mut self.rng,
            &canary.mask,
            &worker_key,
            &id.0,
            &canary.payload,
        ) else {
            return false;
        };
        let (submitter, mask_node) = (canary.mask_info.clone(), canary.mask.node_id());
        let deadline = now + self.config.assignment_timeout_ms;
        self.tasks
            .assign(id, node, now, deadline, &mut self.peers, &mut self.timers);
        // The relay is the submitter and sends the payload right here.
        if let Some(task) = self.tasks.get_mut(&id) {
            task.payload_sent(&node, deadline, &mut self.timers);
        }
        let deadline_ms = self.config.assignment_deadline_ms();
        self.send_to(
            &node,
            &RelayMsg::Assignment {
                task: id,
                kind,
                submitter,
                deadline_ms,
            },
        );
        self.send_to(
            &node,
            &RelayMsg::Payload {
                task: id,
                submitter: *mask_node.as_bytes(),
                envelope: sealed,
            },
        );
        true
    }

    /// A canary's result is in: reward it or penalize it, and tell the worker the verdict.
    pub(in crate::hub) fn check_canary(
        &mut self,
        id: TaskId,
        worker: NodeId,
        sealed: &[u8],
        commitment: &[u8; 32],
        signature: &[u8],
    ) {
        let Some((kind, expected, mask, pays)) = self
            .tasks
            .get(&id)
            .and_then(|t| t.canary())
            .map(|c| (c.kind, c.expected.clone(), c.mask.clone(), c.pays))
        else {
            return;
        };
        let worker_key = self
            .peers
            .get(&worker)
            .and_then(|p| SignedExchangeKey::decode(&p.info.exchange_key).ok());
        let passed = worker_key
            .and_then(|k| Submission::check_result(&mask, &k, &id, sealed, commitment, signature))
            .is_some_and(|got| edgenet_core::verify::results_agree(kind, &got, &expected));
        let account = Account::of(&worker);
        let mut kinds = Vec::new();
        if !passed {
            let state = self.ledger.account(&account);
            let score = state
                .reputation
                .unwrap_or(5_000)
                .saturating_sub(CANARY_PENALTY);
            kinds.push(EntryKind::Reputation {
                subject: account,
                score,
            });
            if state.stake > 0 && signature.len() == 64 {
                kinds.push(EntryKind::Slash {
                    subject: account,
                    amount: CANARY_SLASH,
                    evidence: Evidence::FailedCanary {
                        task: id,
                        commitment: *commitment,
                        signature: signature.to_vec(),
                    },
                });
            }
        }
        // Not durable: not announced.
        let written = self.write_entries(kinds).unwrap_or_default();
        if let Some(t) = self.tasks.get_mut(&id) {
            t.status = TaskStatus::Verified;
            if passed {
                t.agreeing = vec![worker];
            } else {
                t.outvoted = vec![worker];
            }
        }
        self.stats.tasks_verified += 1;
        if passed {
            self.metrics.canaries_passed += 1;
        } else {
            self.metrics.canaries_failed += 1;
        }
        let key = *worker.as_bytes();
        let (agreeing, outvoted) = if passed {
            (vec![key], vec![])
        } else {
            (vec![], vec![key])
        };
        self.send_to(
            &worker,
            &RelayMsg::Verdict {
                task: id,
                agreeing,
                outvoted,
            },
        );
        if !written.is_empty() {
            self.send_to(&worker, &RelayMsg::Ledger(SyncMessage::Entries(written)));
        }
        if passed && pays {
            // With a proof of work in hand, or when the next one comes (hub/economy/work.rs).
            self.pay_canary(worker, id);
        }
        self.retire(id);
    }
}

/// How the last real submission looked to its workers: what a canary's submitter copies.
#[derive(Debug, Clone)]
pub(in crate::hub) struct SubmitterLook {
    pub(in crate::hub) role: Role,
    pub(in crate::hub) capabilities: Capabilities,
    pub(in crate::hub) timeout_ms: u32,
    pub(in crate::hub) priority: u8,
}

impl Default for SubmitterLook {
    /// Before any real submission: a native node submitting with `edgenet-node submit`'s
    /// defaults (it offers no kinds while it only submits).
    fn default() -> Self {
        Self {
            role: Role::Native,
            capabilities: Capabilities {
                cores: 4,
                memory_mib: 8_192,
                gpu: None,
                kernels: Vec::new(),
                backends: vec!["cpu".into()],
            },
            timeout_ms: 60_000,
            priority: 0,
        }
    }
}

impl Hub {
    /// Notes how `node`'s submission `spec` looks, for the next canary to copy.
    pub(in crate::hub) fn remember_submitter_look(&mut self, node: &NodeId, spec: &TaskSpec) {
        if let Some(p) = self.peers.get(node) {
            self.submitter_look = Some(SubmitterLook {
                role: p.info.role,
                capabilities: p.info.capabilities.clone(),
                timeout_ms: spec.timeout_ms,
                priority: spec.priority,
            });
        }
    }
}
