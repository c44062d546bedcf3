//! What happens in the hub, as a dashboard sees it: tasks submitted, assigned, verified and
//! failed, peers joining and leaving, credits minted and paid. The relay drains these after each
//! step ([`Hub::poll_event`](super::Hub::poll_event)) and streams them on `/events`.
//!
//! The relay stamps each with its clock as it drains them (a step's events happen at one `now`).
//!
//! Public facts only: kinds, counts, timings, node ids (which `/api/peers` shows anyway) —
//! never payloads, results, keys or addresses. Canaries are the relay's own checks and are not
//! reported as tasks (the metrics count them).

use serde::Serialize;

use crate::Millis;
use crate::message::Role;

/// Events kept when nobody drains them; past this the oldest go (and are counted).
pub const MAX_PENDING_EVENTS: usize = 4096;

/// One thing that happened, serialized as `{"type": "task_submitted", …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubEvent {
    /// A submitter's task was accepted.
    TaskSubmitted {
        /// Task id (hex).
        task: String,
        /// Task kind.
        kind: &'static str,
        /// Workers wanted.
        redundancy: u8,
    },
    /// A worker took a share of it.
    TaskAssigned {
        /// Task id.
        task: String,
        /// Task kind.
        kind: &'static str,
        /// The worker's NodeId.
        worker: String,
        /// `browser` or `native`.
        role: &'static str,
    },
    /// The submitter gave its verdict.
    TaskVerified {
        /// Task id.
        task: String,
        /// Task kind.
        kind: &'static str,
        /// Workers that agreed.
        agreeing: usize,
        /// Workers outvoted.
        outvoted: usize,
        /// Submission to verdict.
        latency_ms: Millis,
    },
    /// It failed (expired, no workers).
    TaskFailed {
        /// Task id.
        task: String,
        /// Task kind.
        kind: &'static str,
        /// The EN code of why.
        code: &'static str,
    },
    /// A node authenticated.
    PeerJoined {
        /// Its NodeId.
        node: String,
        /// `browser` or `native`.
        role: &'static str,
        /// The backends it offers (`avx512`, `wasm-simd128`, `gpu`, …).
        backends: Vec<String>,
    },
    /// It left.
    PeerLeft {
        /// Its NodeId.
        node: String,
        /// `browser` or `native`.
        role: &'static str,
    },
    /// The relay minted credits (uptime, early adopters, canary rewards).
    CreditsMinted {
        /// Micro-credits.
        micro_credits: u64,
    },
    /// The relay paid a worker from a submitter's escrow.
    CreditsPaid {
        /// Micro-credits.
        micro_credits: u64,
    },
}

/// `browser` or `native`.
pub(super) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Browser => "browser",
        Role::Native => "native",
    }
}
