//! One frame in: the rate window, decoding, the handshake state, then one function per message
//! kind. A refusal is returned as a [`ProtoError`]; [`Hub::handle`] answers it.

use edgenet_core::ledger::Account;
use edgenet_core::task::{TaskId, result_signing_message};
use edgenet_core::{NodeId, Signature};
use rand_core::Rng;

use crate::Millis;
use crate::error::ProtoError;
use crate::handshake::verify_hello;
use crate::hub::cluster::records::Resumed;
use crate::hub::routing::inbound::{Decoded, Inbound};
use crate::hub::routing::origin::Origin;
use crate::hub::routing::peers::Peer;
use crate::hub::routing::tasks::WorkState;
use crate::hub::{ConnId, Hub, HubEvent, Output};
use crate::message::{ClientMsg, HelloBody, MAX_LIST, NodeKey, RelayMsg, TaskSpec};

impl Hub {
    pub(in crate::hub) fn dispatch(
        &mut self,
        conn: ConnId,
        inbound: Inbound,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let limit = self.config.max_messages_per_minute;
        let c = self
            .conns
            .get_mut(conn)
            .ok_or_else(|| ProtoError::Unexpected("unknown connection".into()))?;
        let node = c.node();
        // Before its hello a connection has its own window; after, its identity's window counts
        // (across connections, and item by item).
        if node.is_none() {
            c.count_message(now, limit)?;
        }
        let decoded = inbound.0?;
        // A worker another relay lends is counted there, where it is connected (`hub/routing/rates.rs`).
        if let Some(node) = node.filter(|_| self.remote.borrowed_on(conn).is_none()) {
            let elsewhere = self.remote.messages_elsewhere(&node);
            // A holder's answer to a hold the relay sent is the relay's cost, not the holder's
            // (thousands of holds once kicked honest holders off for their rate).
            let cost = if is_shard_state(&decoded) && self.collections.take_reply(&node) {
                0
            } else {
                decoded.cost()
            };
            self.rates
                .count(node, cost, elsewhere, now, limit, &mut self.timers)?;
        }
        let msg = match (node, decoded) {
            (Some(node), Decoded::Entries(entries)) => {
                return self.handle_entries(node, entries, now);
            }
            (Some(node), Decoded::Proof { challenge, proves }) => {
                return self.on_work_proof(node, challenge, proves, now);
            }
            (None, other @ (Decoded::Entries(_) | Decoded::Proof { .. })) => {
                return Err(ProtoError::Unexpected(format!(
                    "{} before the handshake; send Hello first",
                    other.name()
                )));
            }
            (_, Decoded::Msg(msg)) => msg,
        };
        // A lent worker's claim or result about another relay's task goes to that relay.
        if let Some(node) = node
            && self.route_back(node, &msg)
        {
            return Ok(());
        }
        match (node, msg) {
            (None, ClientMsg::Hello { body, signature }) => {
                self.on_hello(conn, body, &signature, now)
            }
            (None, other) => Err(ProtoError::Unexpected(format!(
                "{} before the handshake; send Hello first",
                other.name()
            ))),
            (Some(_), ClientMsg::Hello { .. }) => {
                Err(ProtoError::Unexpected("a second Hello".into()))
            }
            (Some(node), ClientMsg::Ledger(sync)) => self.handle_ledger(node, sync, now),
            (Some(node), ClientMsg::Submit(spec)) => {
                self.on_submit(node, spec, now, true);
                Ok(())
            }
            (Some(node), ClientMsg::Claim { task }) => {
                self.on_claim(node, task, now);
                Ok(())
            }
            (
                Some(node),
                ClientMsg::Payload {
                    task,
                    worker,
                    envelope,
                },
            ) => self.on_payload(node, task, &worker, envelope, now),
            (
                Some(node),
                ClientMsg::Result {
                    task,
                    envelope,
                    commitment,
                    signature,
                },
            ) => self.on_result(node, task, envelope, commitment, signature, now),
            (
                Some(node),
                ClientMsg::Verdict {
                    task,
                    agreeing,
                    outvoted,
                },
            ) => self.on_verdict(node, task, agreeing, outvoted, now),
            // Decoded as `Decoded::Proof` above.
            (_, ClientMsg::WorkProof { .. }) => Ok(()),
            (Some(node), ClientMsg::SubmitShard { spec, target }) => {
                self.on_submit_shard(node, spec, target, now);
                Ok(())
            }
            (Some(node), ClientMsg::Collection(bytes)) => self.on_collection_msg(node, &bytes, now),
            (Some(node), ClientMsg::Reveal(bytes)) => self.on_reveal(node, &bytes, now),
        }
    }

    fn on_hello(
        &mut self,
        conn: ConnId,
        body: HelloBody,
        signature: &[u8],
        now: Millis,
    ) -> Result<(), ProtoError> {
        let Some(crate::hub::routing::conns::ConnState::AwaitHello { nonce, .. }) =
            self.conns.get_mut(conn).map(|c| &c.state)
        else {
            return Err(ProtoError::Unexpected("a second Hello".into()));
        };
        let nonce = *nonce;
        let node = verify_hello(&nonce, self.key.node_id().as_bytes(), &body, signature)?;

        // A node that reconnects before its old socket was noticed dead replaces it.
        if let Some(old) = self.peers.conn(&node) {
            self.out.push_back(Output::Close(old));
            self.on_disconnect(old, now);
        }
        self.conns.authenticate(conn, node);
        self.timers.cancel(&crate::hub::Timer::Handshake(conn));
        let info = body.peer;
        let limit = self.config.max_peers_announced.min(MAX_LIST);
        let peers = self.peers.welcome_sample(limit);
        self.send(conn, &RelayMsg::Welcome { peers });
        let joined = RelayMsg::PeerJoined(info.clone());
        for other in self.peers.announce_to(self.config.max_peers_announced) {
            self.send(other, &joined);
        }
        self.event(HubEvent::PeerJoined {
            node: node.to_string(),
            role: crate::hub::events::role_name(info.role),
            backends: info.capabilities.backends.clone(),
        });
        let network = self.conns.network(conn);
        let peer = Peer::joined(conn, info, network, self.rng.next_u64(), now);
        let worker = peer.is_worker();
        self.peers.insert(node, peer);
        if let Some(score) = self.ledger.account(&Account::of(&node)).reputation {
            self.peers.reputation(&node, score);
        }
        if worker && self.config.pays_uptime() {
            let due = now + self.config.uptime_period_ms;
            self.timers
                .set(crate::hub::Timer::Uptime(*node.as_bytes()), due);
        }
        self.ask_work(&node);
        self.maybe_canary(node, now);
        // Offer the new peer whatever is waiting for workers.
        let waiting: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.needs_workers())
            .map(|(&id, _)| id)
            .collect();
        for id in waiting {
            self.offer_to(id, node);
        }
        Ok(())
    }

    /// A refusal is about that task, so it is answered as the task's failure: a node with several
    /// submissions open learns which one was refused.
    /// `may_park`: a resumed task recorded open at a relay that looks alive may wait for that
    /// relay's next announcement before it is answered (`hub/cluster/records.rs`).
    pub(in crate::hub) fn on_submit(
        &mut self,
        node: NodeId,
        spec: TaskSpec,
        now: Millis,
        may_park: bool,
    ) {
        let task = spec.id;
        let look = spec.clone();
        match self.accept_task(node, spec, now, may_park) {
            Ok(()) => {
                self.remember_submitter_look(&node, &look);
                self.escrow_claimed(&node, &task);
            }
            // A resumed task that failed before carries its own code (`hub/cluster/records.rs`).
            Err(err) => self.refuse_task(node, task, &err),
        }
    }

    /// Answers a submission the hub will not take with the task's failure.
    pub(in crate::hub) fn refuse_task(&mut self, node: NodeId, task: TaskId, err: &ProtoError) {
        self.stats.errors += 1;
        self.send_to(&node, &RelayMsg::task_failed(task, err));
    }

    /// A submission's timeout is in range.
    pub(in crate::hub) fn check_timeout(&self, spec: &TaskSpec) -> Result<(), ProtoError> {
        if spec.timeout_ms == 0 || spec.timeout_ms > self.config.max_task_timeout_ms {
            return Err(ProtoError::InvalidTask(format!(
                "timeout {} ms not in 1..={}",
                spec.timeout_ms, self.config.max_task_timeout_ms
            )));
        }
        Ok(())
    }

    /// Its submitter has room among its open tasks (in a cluster, its open tasks at the other
    /// relays count too: `hub/cluster/remote.rs`).
    pub(in crate::hub) fn check_open(&self, node: &NodeId) -> Result<(), ProtoError> {
        let open = self.tasks.open_of(node) + self.remote.open_elsewhere(node);
        if open >= self.config.max_open_tasks_per_submitter {
            return Err(ProtoError::InvalidTask(format!(
                "{open} tasks already open; wait for some to finish"
            )));
        }
        Ok(())
    }

    fn accept_task(
        &mut self,
        node: NodeId,
        spec: TaskSpec,
        now: Millis,
        may_park: bool,
    ) -> Result<(), ProtoError> {
        // A newer peer's kind decodes (a number on the wire) and is refused here, alone.
        spec.kind.known()?;
        if spec.redundancy == 0 || spec.redundancy > self.config.max_redundancy {
            return Err(ProtoError::InvalidTask(format!(
                "redundancy {} not in 1..={}",
                spec.redundancy, self.config.max_redundancy
            )));
        }
        self.check_timeout(&spec)?;
        // The same id again: a submitter resuming a task its relay lost, or a mistake.
        let (spec, adopted) = match self.resumed(&node, &spec, now) {
            Resumed::New => (spec, None),
            Resumed::Adopt(spec, expires) => (spec, Some(expires)),
            Resumed::Elsewhere(_) if may_park && self.park(node, spec.clone(), now) => {
                return Ok(());
            }
            Resumed::Elsewhere(err) | Resumed::Answer(err) => return Err(err),
        };
        self.check_escrow(&node, &spec)?;
        self.check_open(&node)?;
        let id = spec.id;
        self.metrics.kind_mut(spec.kind).submitted += 1;
        self.event(HubEvent::TaskSubmitted {
            task: spec.id.to_string(),
            kind: spec.kind.name(),
            redundancy: spec.redundancy,
        });
        let mut task = self.accepted_task(spec, node, Origin::Submitter, now);
        if let Some(expires) = adopted {
            // Its original deadline: resuming does not buy a task more time.
            task.expires = expires;
            self.stats.tasks_resumed += 1;
        }
        self.tasks.insert(task, &mut self.timers);
        self.record_task(id);
        self.send_to(&node, &RelayMsg::Accepted { task: id });
        self.offer(id, now);
        Ok(())
    }

    /// A claim is taken only for a task offered to the claimer in this round of offers, of a kind
    /// it advertises, while the task still needs workers. Stale and surplus claims are normal
    /// (offers go to several peers); the claimer is told, so it frees the slot it kept.
    fn on_payload(
        &mut self,
        node: NodeId,
        task: TaskId,
        worker: &NodeKey,
        envelope: Vec<u8>,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let deadline = now + self.config.assignment_timeout_ms;
        let t = self
            .tasks
            .get_mut(&task)
            .ok_or_else(|| ProtoError::UnknownTask(task.to_string()))?;
        if t.submitter != node {
            return Err(ProtoError::NotAllowed(
                "only the submitter sends payloads".into(),
            ));
        }
        let worker = t.assigned_worker(worker).ok_or_else(|| {
            ProtoError::NotAllowed("that worker is not assigned to this task".into())
        })?;
        t.payload_sent(&worker, deadline, &mut self.timers);
        let payload = RelayMsg::Payload {
            task,
            submitter: *node.as_bytes(),
            envelope,
        };
        self.send_to(&worker, &payload);
        Ok(())
    }

    fn on_result(
        &mut self,
        node: NodeId,
        task: TaskId,
        envelope: Vec<u8>,
        commitment: [u8; 32],
        signature: Vec<u8>,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let t = self
            .tasks
            .get_mut(&task)
            .ok_or_else(|| ProtoError::UnknownTask(task.to_string()))?;
        let sig =
            Signature::from_slice(&signature).map_err(|e| ProtoError::NotAllowed(e.to_string()))?;
        node.verify(&result_signing_message(&task, &commitment), &sig)
            .map_err(|_| ProtoError::NotAllowed("result signature does not verify".into()))?;
        let proof = (commitment, signature.clone());
        if !t.return_work(&node, now, proof, &mut self.peers, &mut self.timers) {
            return Err(ProtoError::NotAllowed(
                "not assigned to this task (or already returned)".into(),
            ));
        }
        let (submitter, canary) = (t.submitter, t.canary().is_some());
        self.peers.returned_result(&node);
        if canary {
            self.check_canary(task, node, &envelope, &commitment, &signature);
            return Ok(());
        }
        self.maybe_spot_check(node, now);
        let result = RelayMsg::Result {
            task,
            worker: *node.as_bytes(),
            envelope,
            commitment,
            signature,
        };
        self.send_to(&submitter, &result);
        Ok(())
    }

    fn on_verdict(
        &mut self,
        node: NodeId,
        task: TaskId,
        agreeing: Vec<NodeKey>,
        outvoted: Vec<NodeKey>,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let t = self.judged_by(node, task)?;
        let returned: Vec<NodeId> = t.in_state(WorkState::Returned).map(|w| w.worker).collect();
        // Each returned worker at most once, in one list: a repeated name would be paid (or
        // marked down) once per repetition.
        let mut named: Vec<NodeId> = Vec::with_capacity(agreeing.len() + outvoted.len());
        let mut parse = |keys: &[NodeKey]| -> Result<Vec<NodeId>, ProtoError> {
            keys.iter()
                .map(|k| {
                    let id = NodeId::from_bytes(k)
                        .ok()
                        .filter(|id| returned.contains(id))
                        .ok_or_else(|| {
                            ProtoError::NotAllowed(
                                "verdict names a worker that returned no result".into(),
                            )
                        })?;
                    if named.contains(&id) {
                        return Err(ProtoError::NotAllowed(
                            "verdict names a worker twice".into(),
                        ));
                    }
                    named.push(id);
                    Ok(id)
                })
                .collect()
        };
        let (agreed, lost) = (parse(&agreeing)?, parse(&outvoted)?);
        let (agreed, lost, overruled) = self.checked_verdict(task, agreed, lost);
        // The commitments back it (an exact kind), or it is only the submitter's word.
        let proven = self.commitment_verdict(task).is_some();
        if let Some(t) = self.tasks.get_mut(&task) {
            t.proven = proven;
        }
        self.conclude(task, agreed, lost, now);
        if overruled {
            return Err(self.overruled(node, now));
        }
        Ok(())
    }
}

/// Whether a decoded frame is a holder's `ShardState` (small: decoded again to look).
fn is_shard_state(decoded: &Decoded) -> bool {
    matches!(decoded, Decoded::Msg(ClientMsg::Collection(bytes))
    if bytes.len() <= 128
        && matches!(
            crate::message::CollectionUp::decode(bytes),
            Ok(crate::message::CollectionUp::ShardState { .. })
        ))
}
