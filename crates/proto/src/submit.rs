//! A submitter's side of one task: submit, seal the payload to each assigned worker, open and check
//! each result, and once every assigned worker has answered, vote and send the verdict.
//!
//! The submitter trusts neither the relay nor the workers: it checks each result's signature and
//! commitment itself, and a result that fails those checks (or does not decode) agrees with nothing,
//! so its worker is outvoted.

use std::collections::HashMap;

use edgenet_core::task::{TaskId, result_commitment, result_signing_message};
use edgenet_core::verify::{majority, results_agree};
use edgenet_core::{NodeId, SecretKey, Signature, SignedExchangeKey, envelope};
use rand_core::CryptoRng;

use crate::error::ProtoError;
use crate::message::{ClientMsg, RelayMsg, ShardTarget, TaskSpec};

/// How a finished task came out.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The majority's result (the first agreeing worker's plaintext).
    pub result: Vec<u8>,
    /// Workers whose results agreed.
    pub agreeing: Vec<NodeId>,
    /// Workers outvoted (wrong, unverifiable or undecodable results).
    pub outvoted: Vec<NodeId>,
}

/// What a relay message meant for this submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Not about this task.
    Unrelated,
    /// The relay accepted the task.
    Accepted,
    /// A worker was assigned; its payload is in the returned messages.
    Assigned(NodeId),
    /// A worker's result arrived.
    ResultIn(NodeId),
    /// All results are in and a majority agreed; the verdict is in the returned messages.
    Done(Outcome),
    /// The task failed.
    Failed(ProtoError),
}

/// One submitted task.
pub struct Submission {
    spec: TaskSpec,
    /// The shard it runs on, for a collection task.
    target: Option<ShardTarget>,
    payload: Vec<u8>,
    workers: HashMap<NodeId, SignedExchangeKey>,
    results: Vec<(NodeId, Option<Vec<u8>>)>,
    finished: bool,
}

impl Submission {
    /// A submission of `payload` (plaintext, encoded for `spec.kind`).
    pub fn new(spec: TaskSpec, payload: Vec<u8>) -> Self {
        Self {
            spec,
            target: None,
            payload,
            workers: HashMap::new(),
            results: Vec::new(),
            finished: false,
        }
    }

    /// A submission of a task on a collection's shard; `spec.redundancy` 0 asks the relay for
    /// every live replica.
    pub fn on_shard(spec: TaskSpec, target: ShardTarget, payload: Vec<u8>) -> Self {
        let mut s = Self::new(spec, payload);
        s.target = Some(target);
        s
    }

    /// The shard it runs on, for a collection task.
    pub fn target(&self) -> Option<ShardTarget> {
        self.target
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.spec.id
    }

    /// What was submitted.
    pub fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    /// The task and its plaintext payload, to submit again elsewhere.
    pub fn into_parts(self) -> (TaskSpec, Vec<u8>) {
        (self.spec, self.payload)
    }

    /// The message that submits the task.
    pub fn submit_message(&self) -> ClientMsg {
        match self.target {
            Some(target) => ClientMsg::SubmitShard {
                spec: self.spec.clone(),
                target,
            },
            None => ClientMsg::Submit(self.spec.clone()),
        }
    }

    /// Workers assigned so far (replacements included) and results in.
    pub fn counts(&self) -> (usize, usize) {
        (self.workers.len(), self.results.len())
    }

    /// Whether the task has finished (done or failed).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Handles a relay message; returns what it meant and the messages to send in response.
    pub fn handle<R: CryptoRng + ?Sized>(
        &mut self,
        msg: &RelayMsg,
        key: &SecretKey,
        rng: &mut R,
    ) -> Result<(Progress, Vec<ClientMsg>), ProtoError> {
        let id = self.spec.id;
        match msg {
            RelayMsg::Accepted { task } if *task == id => Ok((Progress::Accepted, vec![])),
            // The relay gave a shard task its live replicas: their results decide it.
            RelayMsg::ShardAccepted { task, redundancy }
                if *task == id && self.target.is_some() && *redundancy > 0 =>
            {
                self.spec.redundancy = *redundancy;
                Ok((Progress::Accepted, vec![]))
            }
            RelayMsg::Assigned { task, worker } if *task == id => {
                let exchange = SignedExchangeKey::decode(&worker.exchange_key)
                    .map_err(|e| ProtoError::NotAllowed(format!("worker key: {e}")))?;
                let node = exchange.node_id();
                let sealed = envelope::seal(rng, key, &exchange, &id.0, &self.payload)
                    .map_err(|e| ProtoError::NotAllowed(e.to_string()))?;
                self.workers.insert(node, exchange);
                Ok((
                    Progress::Assigned(node),
                    vec![ClientMsg::Payload {
                        task: id,
                        worker: *node.as_bytes(),
                        envelope: sealed,
                    }],
                ))
            }
            RelayMsg::Result {
                task,
                worker,
                envelope: sealed,
                commitment,
                signature,
            } if *task == id => {
                let node = NodeId::from_bytes(worker)
                    .map_err(|e| ProtoError::NotAllowed(e.to_string()))?;
                let Some(exchange) = self.workers.get(&node) else {
                    return Err(ProtoError::NotAllowed(format!(
                        "result from {}, who was never assigned",
                        node.fmt_short()
                    )));
                };
                if self.results.iter().any(|(n, _)| *n == node) {
                    return Err(ProtoError::NotAllowed(format!(
                        "second result from {}",
                        node.fmt_short()
                    )));
                }
                let opened = Self::check_result(key, exchange, &id, sealed, commitment, signature);
                self.results.push((node, opened));
                if self.results.len() < usize::from(self.spec.redundancy) {
                    return Ok((Progress::ResultIn(node), vec![]));
                }
                self.finished = true;
                Ok(self.decide())
            }
            RelayMsg::TaskFailed {
                task,
                code,
                message,
            } if *task == id => {
                self.finished = true;
                Ok((
                    Progress::Failed(ProtoError::Remote {
                        code: code.clone(),
                        message: message.clone(),
                    }),
                    vec![],
                ))
            }
            _ => Ok((Progress::Unrelated, vec![])),
        }
    }

    /// `replies` with a verdict that outvotes a worker replaced by the same verdict with its
    /// evidence: the results this submission opened, in a [`Reveal`](crate::message::Reveal).
    /// For a kind compared with a tolerance the relay cannot check the verdict otherwise, and
    /// withholds nobody's pay (`hub/economy/verdicts.rs`); for an exact kind the commitments
    /// decide either way (the kind is not looked up here: the registry would cost the page's
    /// protocol module a kilobyte). Results too large for one frame together leave the verdict
    /// as it is.
    pub fn with_evidence(&self, mut replies: Vec<ClientMsg>) -> Vec<ClientMsg> {
        for reply in &mut replies {
            if let ClientMsg::Verdict { task, outvoted, .. } = reply
                && !outvoted.is_empty()
            {
                let opened = self
                    .results
                    .iter()
                    .filter_map(|(n, r)| Some((n.as_bytes(), r.as_deref()?)));
                let bytes = crate::message::Reveal::encode_parts(task, opened);
                if bytes.len() <= crate::message::MAX_ENVELOPE {
                    *reply = ClientMsg::Reveal(bytes);
                }
            }
        }
        replies
    }

    /// Opens a result and checks its commitment and signature; `None` if anything is off.
    pub(crate) fn check_result(
        key: &SecretKey,
        worker: &SignedExchangeKey,
        id: &TaskId,
        sealed: &[u8],
        commitment: &[u8; 32],
        signature: &[u8],
    ) -> Option<Vec<u8>> {
        let signature = Signature::from_slice(signature).ok()?;
        worker
            .node_id()
            .verify(&result_signing_message(id, commitment), &signature)
            .ok()?;
        let plain = envelope::open(key, worker, &id.0, sealed).ok()?;
        (result_commitment(id, &plain) == *commitment).then_some(plain)
    }

    fn decide(&self) -> (Progress, Vec<ClientMsg>) {
        let kind = self.spec.kind;
        let agree = |a: &Option<Vec<u8>>, b: &Option<Vec<u8>>| match (a, b) {
            (Some(a), Some(b)) => results_agree(kind, a, b),
            _ => false,
        };
        let opened: Vec<Option<Vec<u8>>> = self.results.iter().map(|(_, r)| r.clone()).collect();
        let Some(m) = majority(&opened, agree) else {
            return (
                Progress::Failed(ProtoError::NoMajority(self.results.len())),
                vec![],
            );
        };
        let agreeing: Vec<NodeId> = m.agreeing.iter().map(|&i| self.results[i].0).collect();
        let outvoted: Vec<NodeId> = m.outvoted.iter().map(|&i| self.results[i].0).collect();
        let result = opened[m.agreeing[0]].clone().unwrap_or_default();
        let verdict = ClientMsg::Verdict {
            task: self.spec.id,
            agreeing: agreeing.iter().map(|n| *n.as_bytes()).collect(),
            outvoted: outvoted.iter().map(|n| *n.as_bytes()).collect(),
        };
        (
            Progress::Done(Outcome {
                result,
                agreeing,
                outvoted,
            }),
            vec![verdict],
        )
    }
}
