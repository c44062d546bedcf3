//! `edgenet-node check`: what this machine offers, measured rather than guessed. A short scan
//! benchmark (well under a second) beside the scalar reference on the same data, the chosen
//! backend, and a plain verdict.

use std::time::Instant;

use edgenet_kernels::{Metric, reference, simd};
use serde::Serialize;

use crate::connection::capabilities;

/// What `check` reports.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// Logical cores.
    pub cores: u16,
    /// Total memory, MiB.
    pub memory_mib: u32,
    /// The GPU wgpu found; `None` when there is none, or only a software renderer.
    pub gpu: Option<String>,
    /// A software renderer wgpu found instead (lavapipe/llvmpipe, SwiftShader): it runs on these
    /// same cores, so it is not counted as a GPU.
    pub software_renderer: Option<String>,
    /// The CPU kernel backend on this machine.
    pub backend: &'static str,
    /// Backend chosen for single queries, and for batches, by the start-up micro-benchmark.
    pub chosen: (&'static str, &'static str),
    /// What that micro-benchmark measured: (backend, queries per call, queries per second).
    pub measured: Vec<(&'static str, usize, f64)>,
    /// Benchmark shape: rows x dimension, one query, k = 10.
    pub bench_shape: (usize, usize),
    /// Queries per second on the chosen backend, all cores.
    pub scan_qps: f64,
    /// Database bytes scanned per second on the chosen backend.
    pub scan_gbs: f64,
    /// Queries per second of the scalar reference, one core.
    pub reference_qps: f64,
    /// Whether the two agreed on the benchmark's answer.
    pub results_agree: bool,
    /// Whether sharing is worth it here, and why.
    pub verdict: String,
    /// With `--relay`: what this machine would earn there.
    pub estimate: Option<Estimate>,
}

/// What this machine would earn on a relay, from its `/api/rewards`.
#[derive(Debug, Serialize)]
pub struct Estimate {
    /// The relay asked.
    pub relay: String,
    /// Idle hours a day the estimate assumes (`--idle-hours`).
    pub idle_hours: f64,
    /// The uptime bonus for those hours, with the early-adopter multiplier now.
    pub uptime_per_day: u64,
    /// What task payments came to per worker-hour there, for those hours.
    pub tasks_per_day: u64,
    /// Both, in micro-credits a day.
    pub per_day: u64,
    /// The relay's figures it came from.
    pub rewards: edgenet_proto::rewards::Rewards,
}

impl Estimate {
    /// The estimate for `idle_hours` a day from a relay's `rewards`.
    pub fn new(relay: &str, idle_hours: f64, rewards: edgenet_proto::rewards::Rewards) -> Self {
        let hours = idle_hours.clamp(0.0, 24.0);
        let multiplier = rewards.multiplier_ppm as f64 / 1e6;
        let uptime_per_day = (rewards.uptime_per_hour as f64 * multiplier * hours) as u64;
        let tasks_per_day = (rewards.task_pay_per_worker_hour as f64 * hours) as u64;
        Self {
            relay: relay.to_owned(),
            idle_hours: hours,
            uptime_per_day,
            tasks_per_day,
            per_day: uptime_per_day.saturating_add(tasks_per_day),
            rewards,
        }
    }
}

/// Profiles this machine.
pub fn check() -> CheckReport {
    let executor = edgenet_kernels::backend::Executor::detect();
    let choice = executor.choice();
    let caps = capabilities(Some(&executor), false);
    let (n, dim, k) = (20_000usize, 384usize, 10usize);
    let database = edgenet_kernels::sample::uniform(n * dim, 0x9e37_79b9);
    let query = edgenet_kernels::sample::uniform(dim, 0x85eb_ca6b);
    let threads = usize::from(caps.cores.max(1));
    let time = |f: &dyn Fn() -> Vec<Vec<reference::Neighbor>>| {
        let _ = f(); // warm caches
        let runs = 5;
        let t = Instant::now();
        let mut out = Vec::new();
        for _ in 0..runs {
            out = f();
        }
        (runs as f64 / t.elapsed().as_secs_f64(), out)
    };
    let (scan_qps, fast) =
        time(&|| simd::knn(Metric::Dot, &query, &database, dim, k, threads).unwrap_or_default());
    let (reference_qps, slow) =
        time(&|| reference::knn(Metric::Dot, &query, &database, dim, k).unwrap_or_default());
    let ids = |r: &[Vec<reference::Neighbor>]| {
        r.iter()
            .flat_map(|q| q.iter().map(|h| h.index))
            .collect::<Vec<_>>()
    };
    let results_agree = !fast.is_empty() && ids(&fast) == ids(&slow);
    let verdict = if !results_agree {
        "do not share: the fast kernel disagrees with the reference here (please report this machine)".to_owned()
    } else if caps.cores < 2 || caps.memory_mib < 2048 {
        format!(
            "limited: {} core(s) and {} MiB leave little to share",
            caps.cores, caps.memory_mib
        )
    } else {
        format!(
            "worth sharing: {} cores, {:.0} searches/s over {n} vectors on {}",
            caps.cores,
            scan_qps,
            simd::backend()
        )
    };
    CheckReport {
        cores: caps.cores,
        memory_mib: caps.memory_mib,
        gpu: caps.gpu.clone().filter(|_| !choice.gpu_software),
        software_renderer: caps.gpu.filter(|_| choice.gpu_software),
        backend: simd::backend(),
        chosen: (choice.single.name(), choice.batch.name()),
        measured: choice
            .measurements
            .iter()
            .map(|m| (m.backend, m.queries, m.qps))
            .collect(),
        bench_shape: (n, dim),
        scan_qps,
        scan_gbs: scan_qps * (n * dim * 4) as f64 / 1e9,
        reference_qps,
        results_agree,
        estimate: None,
        verdict,
    }
}
