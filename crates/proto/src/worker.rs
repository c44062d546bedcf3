//! A worker's side of tasks: claim what it can run, open payloads, and seal, commit and sign
//! results. Running the kernel is the caller's (native node or browser compute worker): this module
//! hands out [`Action::Execute`] and takes the result back in [`Worker::finish`].

use std::collections::{HashMap, HashSet};

use edgenet_core::task::{TaskId, TaskKind, result_commitment, result_signing_message};
use edgenet_core::{NodeId, SecretKey, SignedExchangeKey, envelope};
use rand_core::CryptoRng;

use crate::error::ProtoError;
use crate::message::{ClientMsg, RelayMsg};

/// A task assigned to this worker.
#[derive(Debug, Clone)]
pub struct Job {
    /// The task.
    pub task: TaskId,
    /// Its kind.
    pub kind: TaskKind,
    /// Who submitted it (results are sealed to them).
    pub submitter: SignedExchangeKey,
}

/// What to do after a relay message.
// Made and consumed once per message: boxing the large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Action {
    /// Nothing for the worker.
    None,
    /// Send this message.
    Send(ClientMsg),
    /// Run the task on this plaintext payload, then call [`Worker::finish`].
    Execute {
        /// The job (task, kind, submitter).
        job: Job,
        /// The opened payload.
        payload: Vec<u8>,
    },
    /// The submitter's verdict on a task this worker returned.
    Verdict {
        /// The task.
        task: TaskId,
        /// Whether this node's result was in the majority.
        agreed: bool,
    },
}

/// Tracks the tasks a worker claimed and runs.
pub struct Worker {
    kinds: Vec<TaskKind>,
    max_jobs: usize,
    jobs: HashMap<TaskId, Job>,
    /// Claims sent and not yet answered (an assignment, or the relay's word that it was not taken).
    claimed: HashSet<TaskId>,
}

impl Worker {
    /// A worker running `kinds`, at most `max_jobs` at a time.
    pub fn new(kinds: Vec<TaskKind>, max_jobs: usize) -> Self {
        Self {
            kinds,
            max_jobs: max_jobs.max(1),
            jobs: HashMap::new(),
            claimed: HashSet::new(),
        }
    }

    /// Tasks assigned and not yet finished.
    pub fn jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Forgets claims and jobs (after a reconnect the relay has reassigned them).
    pub fn reset(&mut self) {
        self.jobs.clear();
        self.claimed.clear();
    }

    /// Handles a relay message.
    pub fn handle(&mut self, msg: RelayMsg, key: &SecretKey) -> Result<Action, ProtoError> {
        match msg {
            RelayMsg::Offer { task, kind, .. } => {
                // A shard's holders are the only nodes it can run on: they always take its tasks
                // (the node runs a shard's tasks one after another, in order).
                let busy =
                    self.jobs.len() + self.claimed.len() >= self.max_jobs && !kind.needs_shard();
                if !self.kinds.contains(&kind) || busy || self.jobs.contains_key(&task) {
                    return Ok(Action::None);
                }
                if !self.claimed.insert(task) {
                    return Ok(Action::None);
                }
                Ok(Action::Send(ClientMsg::Claim { task }))
            }
            RelayMsg::Assignment {
                task,
                kind,
                submitter,
                ..
            } => {
                self.claimed.remove(&task);
                let submitter = SignedExchangeKey::decode(&submitter.exchange_key)
                    .map_err(|e| ProtoError::NotAllowed(format!("submitter key: {e}")))?;
                self.jobs.insert(
                    task,
                    Job {
                        task,
                        kind,
                        submitter,
                    },
                );
                Ok(Action::None)
            }
            RelayMsg::Payload {
                task,
                submitter,
                envelope: sealed,
            } => {
                let job = self
                    .jobs
                    .get(&task)
                    .ok_or_else(|| ProtoError::UnknownTask(task.to_string()))?;
                if NodeId::from_bytes(&submitter).ok() != Some(job.submitter.node_id()) {
                    return Err(ProtoError::NotAllowed(
                        "payload from someone other than the submitter".into(),
                    ));
                }
                let payload = envelope::open(key, &job.submitter, &task.0, &sealed)
                    .map_err(|e| ProtoError::NotAllowed(format!("payload: {e}")))?;
                Ok(Action::Execute {
                    job: job.clone(),
                    payload,
                })
            }
            // The relay did not take a claim, or took back an assignment (deadline passed, task
            // ended): the slot is free for other work.
            RelayMsg::TaskFailed { task, .. } => {
                self.claimed.remove(&task);
                self.jobs.remove(&task);
                Ok(Action::None)
            }
            RelayMsg::Verdict { task, agreeing, .. } => Ok(Action::Verdict {
                task,
                agreed: agreeing.contains(key.node_id().as_bytes()),
            }),
            _ => Ok(Action::None),
        }
    }

    /// Seals, commits to and signs the result of `job`, and forgets the job.
    pub fn finish<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        key: &SecretKey,
        job: &Job,
        result: &[u8],
    ) -> Result<ClientMsg, ProtoError> {
        self.jobs.remove(&job.task);
        let sealed = envelope::seal(rng, key, &job.submitter, &job.task.0, result)
            .map_err(|e| ProtoError::NotAllowed(e.to_string()))?;
        let commitment = result_commitment(&job.task, result);
        let signature = key
            .sign(&result_signing_message(&job.task, &commitment))
            .to_bytes()
            .to_vec();
        Ok(ClientMsg::Result {
            task: job.task,
            envelope: sealed,
            commitment,
            signature,
        })
    }

    /// Gives up a job that could not run (its assignment will time out and be reassigned).
    pub fn abandon(&mut self, task: &TaskId) {
        self.jobs.remove(task);
    }
}
