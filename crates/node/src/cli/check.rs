//! `check`: profile this machine, and estimate what it would earn on a relay.

use edgenet_node::check;

use super::{Failure, runtime};

/// Profile this machine: cores, memory, GPU, kernel backend and a short benchmark.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also estimate what this machine would earn on this relay (its `/api/rewards`).
    #[arg(long)]
    pub(crate) relay: Option<String>,
    /// Idle hours a day the estimate assumes.
    #[arg(long, default_value_t = 8.0)]
    pub(crate) idle_hours: f64,
}

pub(crate) fn execute(args: Args) -> Result<(), Failure> {
    let Args {
        json,
        relay,
        idle_hours,
    } = args;
    let mut report = check::check();
    if let Some(relay) = relay {
        let rewards = runtime()?.block_on(edgenet_node::http::get_json(&relay, "/api/rewards"))?;
        let estimate = check::Estimate::new(&relay, idle_hours, rewards);
        if report.results_agree && estimate.per_day == 0 {
            report.verdict = format!(
                "not worth it on {relay} now: it pays no uptime bonus and its workers have \
                     not been paid for tasks yet ({})",
                report.verdict
            );
        }
        report.estimate = Some(estimate);
    }
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!("cores:      {}", report.cores);
        println!("memory:     {} MiB", report.memory_mib);
        let gpu = match (&report.gpu, &report.software_renderer) {
            (Some(gpu), _) => gpu.clone(),
            (None, Some(soft)) => {
                format!("no GPU (software renderer: {soft}, which runs on these cores)")
            }
            (None, None) => "no GPU (no adapter found)".to_owned(),
        };
        println!("gpu:        {gpu}");
        println!(
            "backend:    {} (chosen: {} for single queries, {} for batches)",
            report.backend, report.chosen.0, report.chosen.1
        );
        for (backend, queries, qps) in &report.measured {
            println!("            {backend:>14}: {qps:>8.0} queries/s at {queries} per call");
        }
        println!(
            "benchmark:  {:.0} searches/s ({:.1} GB/s) over {} x {} vectors; scalar reference {:.0}/s ({:.1}x)",
            report.scan_qps,
            report.scan_gbs,
            report.bench_shape.0,
            report.bench_shape.1,
            report.reference_qps,
            report.scan_qps / report.reference_qps.max(f64::MIN_POSITIVE)
        );
        if let Some(e) = &report.estimate {
            let credits = edgenet_node::earnings::credits;
            println!(
                "earnings:   about {} credits a day for {} idle hours on {}: uptime {} (at {:.1}× early-adopter multiplier) + tasks {} (what its workers were paid per hour)",
                credits(e.per_day),
                e.idle_hours,
                e.relay,
                credits(e.uptime_per_day),
                e.rewards.multiplier_ppm as f64 / 1e6,
                credits(e.tasks_per_day),
            );
        }
        println!("verdict:    {}", report.verdict);
    }
    Ok(())
}
