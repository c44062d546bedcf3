//! Paying for work: a paid task's escrow checked at submission, released by the relay (the
//! validator) on the verdict — each agreeing worker's share plus the minted early-adopter bonus,
//! a reputation loss for the outvoted (and a slash of their stake, a share's worth, with their
//! signed commitment as evidence), the rest back to the submitter — or refunded whole when the
//! task fails. All of a settlement's entries are stored in one commit, then sent to the accounts
//! they name.
//!
//! The relay cannot open results, so a verdict withholds pay and moves reputation only when it
//! rests on evidence the relay checked (`Task::proven`): for a kind whose results agree exactly
//! when their bytes do, the result commitments; for the others, the results the submitter
//! revealed, each matching its worker's commitment (`verdicts.rs`). A plain verdict on a
//! tolerance-compared kind pays every worker that returned a result and marks nobody down. Even
//! with evidence, a worker "outvoted" although its commitment equals an agreeing worker's
//! returned the very same bytes, so it is neither marked down nor slashed.

use std::collections::BTreeMap;

use edgenet_core::NodeId;
use edgenet_core::ledger::{Account, Entry, EntryKind, Evidence};
use edgenet_core::task::TaskId;

use crate::error::ProtoError;
use crate::hub::Hub;
use crate::hub::routing::tasks::{SignedCommitment, TaskStatus, WorkState};
use crate::message::{RelayMsg, TaskSpec};

/// Reputation of a worker no validator has rated yet, and what being outvoted costs.
const START_REPUTATION: u16 = 5_000;
const OUTVOTED_PENALTY: u16 = 1_000;

impl Hub {
    /// A paid task needs the submitter's open escrow for it, holding at least `max_credits`.
    pub(in crate::hub) fn check_escrow(
        &mut self,
        node: &NodeId,
        spec: &TaskSpec,
    ) -> Result<(), ProtoError> {
        if spec.max_credits == 0 {
            return if self.config.paid_only {
                Err(ProtoError::PaymentRequired)
            } else {
                Ok(())
            };
        }
        let account = Account::of(node);
        let state = self.ledger.state();
        let escrowed = state.escrow(&account, &spec.id).unwrap_or(0);
        if escrowed < spec.max_credits {
            return Err(ProtoError::InsufficientCredits(format!(
                "{escrowed} of {} micro-credits escrowed for task {}; balance {}",
                spec.max_credits,
                spec.id,
                state.account(&account).balance
            )));
        }
        Ok(())
    }

    /// The verdict is in: pays the agreeing workers, marks down the outvoted, refunds the rest.
    pub(in crate::hub) fn settle(&mut self, id: TaskId) {
        let Some(task) = self.tasks.get(&id) else {
            return;
        };
        if task.spec.max_credits == 0 || task.status != TaskStatus::Verified {
            return;
        }
        let payer = Account::of(&task.submitter);
        let share = task.spec.max_credits / u64::from(task.workers.max(1));
        let returned = |w: &NodeId| {
            task.work
                .iter()
                .find(|x| x.worker == *w && x.state == WorkState::Returned)
        };
        let work_ms = |w: &NodeId| returned(w).map_or(0, |x| x.work_ms);
        // A verdict nobody could check (a plain verdict on a tolerance-compared kind) withholds
        // no pay and marks nobody down: every worker that returned a result is paid.
        let unproven: Vec<NodeId> = if task.proven {
            Vec::new()
        } else {
            task.outvoted.clone()
        };
        let agreeing: Vec<(NodeId, u64)> = task
            .agreeing
            .iter()
            .chain(&unproven)
            .map(|w| (*w, work_ms(w)))
            .collect();
        let agreed: Vec<[u8; 32]> = task
            .agreeing
            .iter()
            .filter_map(|w| returned(w)?.commitment.as_ref().map(|(c, _)| *c))
            .collect();
        let outvoted: Vec<(NodeId, Option<SignedCommitment>)> = task
            .outvoted
            .iter()
            .filter(|_| task.proven)
            .map(|w| (*w, returned(w).and_then(|x| x.commitment.clone())))
            .filter(|(_, proof)| !proof.as_ref().is_some_and(|(c, _)| agreed.contains(c)))
            .collect();
        let submitter = task.submitter;
        let mut kinds = Vec::new();
        for (worker, _) in &agreeing {
            let to = Account::of(worker);
            if share > 0 {
                kinds.push(EntryKind::Payment {
                    payer,
                    task: id,
                    to,
                    amount: share,
                });
            }
        }
        for (worker, proof) in outvoted {
            let subject = Account::of(&worker);
            let state = self.ledger.account(&subject);
            let now = state.reputation.unwrap_or(START_REPUTATION);
            kinds.push(EntryKind::Reputation {
                subject,
                score: now.saturating_sub(OUTVOTED_PENALTY),
            });
            if let Some((commitment, signature)) = proof.filter(|_| state.stake > 0) {
                kinds.push(EntryKind::Slash {
                    subject,
                    amount: share.max(1),
                    evidence: Evidence::Outvoted {
                        task: id,
                        commitment,
                        signature,
                    },
                });
            }
        }
        kinds.push(EntryKind::Refund { payer, task: id });
        let _ = self.write_and_send(kinds, &submitter);
    }

    /// A paid task failed or expired: its escrow goes back to the submitter.
    pub(in crate::hub) fn refund(&mut self, id: TaskId) {
        let Some(task) = self.tasks.get(&id) else {
            return;
        };
        if task.spec.max_credits == 0 || task.status != TaskStatus::Open {
            return;
        }
        let kind = EntryKind::Refund {
            payer: Account::of(&task.submitter),
            task: id,
        };
        let submitter = task.submitter;
        let _ = self.write_and_send(vec![kind], &submitter);
    }

    /// Writes the relay's entries, stores them in one commit, and sends each to the accounts it
    /// names (the submitter gets all of them: they are about its escrow).
    pub(in crate::hub) fn write_and_send(
        &mut self,
        kinds: Vec<EntryKind>,
        submitter: &NodeId,
    ) -> Result<(), ProtoError> {
        let entries = self.write_entries(kinds)?;
        // Each account the entries name hears of its own, whatever the size of the network.
        let mut named: BTreeMap<Account, Vec<Entry>> = BTreeMap::new();
        for e in &entries {
            let account = match &e.body.kind {
                EntryKind::Payment { to, .. } | EntryKind::Mint { to, .. } => *to,
                EntryKind::Reputation { subject, .. } | EntryKind::Slash { subject, .. } => {
                    *subject
                }
                _ => continue,
            };
            named.entry(account).or_default().push(e.clone());
        }
        self.effort.verdict_accounts += named.len() as u64;
        for (account, theirs) in named {
            let Ok(peer) = NodeId::from_bytes(&account.0) else {
                continue;
            };
            if peer != *submitter && self.peers.contains(&peer) {
                self.send_to(
                    &peer,
                    &RelayMsg::Ledger(edgenet_core::ledger::sync::SyncMessage::Entries(theirs)),
                );
            }
        }
        self.send_to(
            submitter,
            &RelayMsg::Ledger(edgenet_core::ledger::sync::SyncMessage::Entries(entries)),
        );
        Ok(())
    }
}
