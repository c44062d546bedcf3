//! What the relay's HTTP API shows of the hub: counters, peers and tasks.

use serde::Serialize;

pub use crate::rewards::Rewards;

use super::Hub;
use super::routing::tasks::{TaskStatus, WorkState};
use crate::Millis;
use crate::message::Role;

/// Counters for the API and metrics.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubStats {
    /// Open connections (authenticated or not).
    pub connections: usize,
    /// Authenticated peers.
    pub peers: usize,
    /// Tasks not yet finished.
    pub open_tasks: usize,
    /// Tasks verified since start.
    pub tasks_verified: u64,
    /// Tasks failed since start.
    pub tasks_failed: u64,
    /// Assignments lost to disconnects or deadlines, and offered again.
    pub reassignments: u64,
    /// Tasks another relay (or this one, before a restart) accepted and this relay took over
    /// when their submitters resumed them here (`hub/cluster/records.rs`).
    pub tasks_resumed: u64,
    /// Shards handed to a new holder after one stayed away (`hub/storage/collections.rs`).
    pub handovers: u64,
    /// Frames received.
    pub frames_in: u64,
    /// Frames queued to send.
    pub frames_out: u64,
    /// Frames refused with an error.
    pub errors: u64,
}

/// A peer, for `/api/peers`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeerSummary {
    /// Full NodeId.
    pub node_id: String,
    /// Browser or native.
    pub role: Role,
    /// Cores offered.
    pub cores: u16,
    /// Memory offered, MiB.
    pub memory_mib: u32,
    /// GPU adapter.
    pub gpu: Option<String>,
    /// Task kinds.
    pub kernels: Vec<&'static str>,
    /// Backends.
    pub backends: Vec<String>,
    /// Connected for this long.
    pub connected_ms: Millis,
    /// Results returned in this session.
    pub results: u64,
    /// Disk it offers for collections' shards, bytes (0 until its storage report arrives, and
    /// for nodes that offer none).
    pub storage_bytes: u64,
}

/// A worker's part in a task, for `/api/tasks`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkSummary {
    /// Worker NodeId.
    pub worker: String,
    /// `assigned`, `returned` or `lost`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: WorkState,
}

/// A task, for `/api/tasks`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskSummary {
    /// Task id (hex).
    pub id: String,
    /// Task kind.
    pub kind: &'static str,
    /// Submitter NodeId.
    pub submitter: String,
    /// Workers asked for.
    pub redundancy: u8,
    /// `open`, `verified` or `failed`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: TaskStatus,
    /// Its workers.
    pub work: Vec<WorkSummary>,
    /// Workers whose results agreed (verified tasks).
    pub agreeing: Vec<String>,
    /// Workers outvoted (verified tasks).
    pub outvoted: Vec<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Age.
    pub age_ms: Millis,
}

impl Hub {
    /// The operators' counters ([`HubMetrics`](super::HubMetrics)).
    pub fn metrics(&self) -> &super::HubMetrics {
        &self.metrics
    }

    /// The early-adopter multiplier a payment gets now, in parts per million (10,000,000 is
    /// 10×; it falls towards 1× as proven work accumulates: `core::ledger::curve`).
    pub fn multiplier_ppm(&self) -> u64 {
        edgenet_core::ledger::curve::multiplier_ppm(self.network_work_s)
    }

    /// What a worker is paid here, for `/api/rewards`.
    pub fn rewards(&self) -> Rewards {
        let c = &self.config;
        let per_hour = if c.pays_uptime() {
            c.uptime_bonus.saturating_mul(3_600_000) / c.uptime_period_ms.max(1)
        } else {
            0
        };
        let worker_hours = self.network_work_s as f64 / 3600.0;
        let paid = self.metrics.micro_credits_paid;
        Rewards {
            uptime_period_s: c.uptime_period_ms / 1000,
            uptime_bonus: if c.pays_uptime() { c.uptime_bonus } else { 0 },
            uptime_per_hour: per_hour,
            multiplier_ppm: self.multiplier_ppm(),
            canary_reward: c.canary_reward,
            paid_only: c.paid_only,
            worker_hours,
            micro_credits_paid: paid,
            task_pay_per_worker_hour: if worker_hours > 0.0 {
                (paid as f64 / worker_hours) as u64
            } else {
                0
            },
        }
    }

    /// Authenticated peers: (browsers, natives).
    pub fn peers_by_role(&self) -> (usize, usize) {
        let natives = self
            .peers
            .local()
            .filter(|(_, p)| p.info.role == Role::Native)
            .count();
        (self.peers.local_len() - natives, natives)
    }

    /// Counters.
    pub fn stats(&self) -> HubStats {
        HubStats {
            // Sockets: not the virtual connections of workers borrowed from other relays.
            connections: self.conns.len() - self.remote.counts().0,
            peers: self.peers.local_len(),
            open_tasks: self.tasks.open().count(),
            ..self.stats.clone()
        }
    }

    /// Peers online, for the API.
    pub fn peers(&self, now: Millis) -> Vec<PeerSummary> {
        let mut peers: Vec<PeerSummary> = self
            .peers
            .local()
            .map(|(id, p)| {
                let caps = &p.info.capabilities;
                PeerSummary {
                    node_id: id.to_string(),
                    role: p.info.role,
                    cores: caps.cores,
                    memory_mib: caps.memory_mib,
                    gpu: caps.gpu.clone(),
                    kernels: caps.kernels.iter().map(|k| k.name()).collect(),
                    backends: caps.backends.clone(),
                    connected_ms: now.saturating_sub(p.since),
                    results: p.results,
                    storage_bytes: self.collections.offered_by(id),
                }
            })
            .collect();
        peers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        peers
    }

    /// Open and recently finished tasks, newest first, for the API.
    pub fn tasks(&self, now: Millis) -> Vec<TaskSummary> {
        let mut tasks: Vec<(Millis, TaskSummary)> = self
            .tasks
            .iter()
            .map(|(id, t)| {
                let summary = TaskSummary {
                    id: id.to_string(),
                    kind: t.spec.kind.name(),
                    submitter: t.submitter.to_string(),
                    redundancy: t.spec.redundancy,
                    status: t.status,
                    work: t
                        .work
                        .iter()
                        .map(|w| WorkSummary {
                            worker: w.worker.to_string(),
                            state: w.state,
                        })
                        .collect(),
                    agreeing: t.agreeing.iter().map(ToString::to_string).collect(),
                    outvoted: t.outvoted.iter().map(ToString::to_string).collect(),
                    failure: t.failure.clone(),
                    age_ms: now.saturating_sub(t.created),
                };
                (t.created, summary)
            })
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.0));
        tasks.into_iter().map(|(_, s)| s).collect()
    }
}
