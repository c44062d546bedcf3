//! Verdicts the relay checks itself, and how a verdict concludes a task.
//!
//! For a kind whose results agree exactly when their bytes do (`KindInfo::exact`), equal
//! result commitments are agreeing results, so the relay needs nobody's word: the workers that
//! returned the commitment a strict majority of the task's workers returned agree, and the
//! others that returned are outvoted ([`Hub::commitment_verdict`]). A submitter's verdict that
//! says otherwise is overruled: the commitments' verdict is settled instead (the workers are
//! paid, nobody honest is marked down), the submitter is told EN-236, and its rate window pays
//! [`DISPUTE_COST`] messages. A task whose submitter never gives a verdict is settled the same way
//! when it expires, instead of refunded.
//!
//! For kinds compared with a tolerance (embeddings, k-NN scores) equal results differ in their
//! bytes, so commitments say nothing; the submitter shows its evidence instead: a [`Reveal`]
//! holds the results it opened, the relay checks each against its worker's signed commitment
//! and compares them with the kind's own rule ([`Hub::on_reveal`]). A plain verdict on such a
//! kind is recorded and passed on, but it withholds nobody's pay and marks nobody down
//! (`settle.rs`): a submitter that calls every result wrong pays the workers all the same.

use std::collections::BTreeMap;

use edgenet_core::NodeId;
use edgenet_core::task::TaskId;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::Hub;
use crate::hub::events::HubEvent;
use crate::hub::routing::tasks::{TaskStatus, WorkState};
use crate::message::{RelayMsg, Reveal};

/// What an overruled verdict counts for against its submitter's message rate: a tenth of the
/// default minute's window.
pub const DISPUTE_COST: u64 = 600;

impl Hub {
    /// For a task of an exact kind: the verdict its result commitments give, if a strict
    /// majority of its workers returned one commitment (agreeing, outvoted).
    pub(in crate::hub) fn commitment_verdict(
        &self,
        id: TaskId,
    ) -> Option<(Vec<NodeId>, Vec<NodeId>)> {
        let task = self.tasks.get(&id)?;
        if !task.spec.kind.info().is_some_and(|k| k.exact) {
            return None;
        }
        let returned: Vec<(NodeId, [u8; 32])> = task
            .in_state(WorkState::Returned)
            .filter_map(|w| w.commitment.as_ref().map(|(c, _)| (w.worker, *c)))
            .collect();
        let mut counts: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for (_, c) in &returned {
            *counts.entry(*c).or_default() += 1;
        }
        let (best, n) = counts.into_iter().max_by_key(|&(c, n)| (n, c))?;
        if n * 2 <= usize::from(task.workers) {
            return None;
        }
        let (agreeing, outvoted): (Vec<_>, Vec<_>) =
            returned.into_iter().partition(|(_, c)| *c == best);
        Some((
            agreeing.into_iter().map(|(w, _)| w).collect(),
            outvoted.into_iter().map(|(w, _)| w).collect(),
        ))
    }

    /// The submitter's verdict, checked against the commitments where its kind allows: the
    /// verdict to settle, and whether the submitter's was overruled.
    pub(in crate::hub) fn checked_verdict(
        &self,
        id: TaskId,
        agreeing: Vec<NodeId>,
        outvoted: Vec<NodeId>,
    ) -> (Vec<NodeId>, Vec<NodeId>, bool) {
        let same =
            |a: &[NodeId], b: &[NodeId]| a.len() == b.len() && a.iter().all(|x| b.contains(x));
        match self.commitment_verdict(id) {
            Some((a, o)) if !same(&a, &agreeing) || !same(&o, &outvoted) => (a, o, true),
            _ => (agreeing, outvoted, false),
        }
    }

    /// The submitter's verdict with its evidence: the results it opened. Each that matches its
    /// worker's commitment counts; the relay finds the strict majority among them with the
    /// kind's comparison. Workers in it agree; those whose revealed results differ are outvoted;
    /// a worker whose result was not revealed (or not the one it committed to) is counted as
    /// agreeing, since nothing shows it wrong. Without a strict majority of the task's workers
    /// nobody is outvoted.
    pub(in crate::hub) fn on_reveal(
        &mut self,
        node: NodeId,
        bytes: &[u8],
        now: Millis,
    ) -> Result<(), ProtoError> {
        let reveal = Reveal::decode(bytes)?;
        let id = reveal.task;
        let task = self.judged_by(node, id)?;
        let kind = task.spec.kind;
        let returned: Vec<(NodeId, Option<&[u8]>)> = task
            .in_state(WorkState::Returned)
            .map(|w| {
                let shown = w.commitment.as_ref().and_then(|(c, _)| {
                    reveal
                        .results
                        .iter()
                        .find(|(k, r)| {
                            k == w.worker.as_bytes()
                                && edgenet_core::task::result_commitment(&id, r) == *c
                        })
                        .map(|(_, r)| r.as_slice())
                });
                (w.worker, shown)
            })
            .collect();
        let agree = |a: &Option<&[u8]>, b: &Option<&[u8]>| match (a, b) {
            (Some(a), Some(b)) => edgenet_core::kinds::results_agree(kind, a, b),
            _ => false,
        };
        let shown: Vec<Option<&[u8]>> = returned.iter().map(|(_, r)| *r).collect();
        let winners = edgenet_core::verify::majority(&shown, agree).filter(|m| {
            m.agreeing.len() * 2 > usize::from(task.workers) && shown[m.agreeing[0]].is_some()
        });
        let (mut agreeing, mut outvoted) = (Vec::new(), Vec::new());
        for (i, (worker, result)) in returned.iter().enumerate() {
            let lost = winners
                .as_ref()
                .is_some_and(|m| result.is_some() && !m.agreeing.contains(&i));
            if lost {
                outvoted.push(*worker);
            } else {
                agreeing.push(*worker);
            }
        }
        let (agreeing, outvoted) = self.commitment_verdict(id).unwrap_or((agreeing, outvoted));
        if let Some(t) = self.tasks.get_mut(&id) {
            t.proven = true;
        }
        self.conclude(id, agreeing, outvoted, now);
        Ok(())
    }

    /// Task `id`, if `node` may give its verdict: it submitted the task, and the task is open.
    pub(in crate::hub) fn judged_by(
        &self,
        node: NodeId,
        id: TaskId,
    ) -> Result<&crate::hub::routing::tasks::Task, ProtoError> {
        let task = self
            .tasks
            .get(&id)
            .ok_or_else(|| ProtoError::UnknownTask(id.to_string()))?;
        if task.submitter != node || task.status != TaskStatus::Open {
            return Err(ProtoError::NotAllowed(
                "only the submitter of an open task gives its verdict".into(),
            ));
        }
        Ok(task)
    }

    /// The task is verified with this verdict: workers told, metrics and events, the escrow
    /// settled, the task retired.
    pub(in crate::hub) fn conclude(
        &mut self,
        id: TaskId,
        agreeing: Vec<NodeId>,
        outvoted: Vec<NodeId>,
        now: Millis,
    ) {
        let Some(t) = self.tasks.get_mut(&id) else {
            return;
        };
        let returned: Vec<NodeId> = t.in_state(WorkState::Returned).map(|w| w.worker).collect();
        let verdict = RelayMsg::Verdict {
            task: id,
            agreeing: agreeing.iter().map(|w| *w.as_bytes()).collect(),
            outvoted: outvoted.iter().map(|w| *w.as_bytes()).collect(),
        };
        let (agreed, lost) = (agreeing.len(), outvoted.len());
        t.agreeing = agreeing;
        t.outvoted = outvoted;
        t.status = TaskStatus::Verified;
        let (kind, created) = (t.spec.kind, t.created);
        self.stats.tasks_verified += 1;
        self.metrics.verdict(kind, created, now, agreed, lost);
        self.event(HubEvent::TaskVerified {
            task: id.to_string(),
            kind: kind.name(),
            agreeing: agreed,
            outvoted: lost,
            latency_ms: now.saturating_sub(created),
        });
        for worker in returned {
            self.send_to(&worker, &verdict);
        }
        self.settle(id);
        self.retire(id);
    }

    /// A submitter whose verdict was overruled pays for the dispute in its rate window.
    pub(in crate::hub) fn overruled(&mut self, submitter: NodeId, now: Millis) -> ProtoError {
        match self.charge(submitter, DISPUTE_COST, now) {
            Err(e) => e,
            Ok(()) => ProtoError::VerdictOverruled(
                "the result commitments show otherwise; the task was settled by them".into(),
            ),
        }
    }

    /// A paid task of an exact kind at its deadline with a majority commitment: its escrow pays
    /// those workers (the submitter gave no verdict). The submitter is told the task expired, as
    /// it would be otherwise: a submitter still waiting for a slower replica may submit again.
    /// True if it was settled.
    pub(in crate::hub) fn settle_by_commitments(
        &mut self,
        id: TaskId,
        expired: &ProtoError,
        now: Millis,
    ) -> bool {
        if self.tasks.get(&id).is_none_or(|t| t.spec.max_credits == 0) {
            return false;
        }
        let Some((agreeing, outvoted)) = self.commitment_verdict(id) else {
            return false;
        };
        let Some(submitter) = self.tasks.get(&id).map(|t| t.submitter) else {
            return false;
        };
        if let Some(t) = self.tasks.get_mut(&id) {
            t.proven = true;
        }
        self.conclude(id, agreeing, outvoted, now);
        self.send_to(&submitter, &RelayMsg::task_failed(id, expired));
        true
    }
}
