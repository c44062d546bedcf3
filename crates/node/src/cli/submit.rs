//! `submit`: send one task and print the verified result.

use std::path::PathBuf;
use std::time::Duration;

use edgenet_core::kinds::TaskKind;
use edgenet_keystore::load_or_create;
use edgenet_node::job::{Job, JobArgs, SUBMITTED_KINDS};
use edgenet_node::submit;
use edgenet_node::wasm_job::{Sending, WasmArgs, WasmJob, WasmReport, run_job};

use super::{Context, Failure, MetricArg, OutputArg, runtime};

/// Submit a task and print the verified result.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Relay WebSocket URL; repeatable (or comma-separated). The task goes to the first; if
    /// that connection drops, it is resumed at the next that answers (and at the cluster's
    /// other relays, learned from the first).
    #[arg(
        long = "relay",
        env = "EDGENET_RELAY",
        value_delimiter = ',',
        default_value = "ws://127.0.0.1:8080/ws"
    )]
    pub(crate) relay: Vec<String>,
    /// JSON file {"queries": [[...]], "database": [[...]]}; without it, random vectors are used.
    #[arg(long)]
    pub(crate) vectors: Option<PathBuf>,
    /// Seed of the random vectors.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Random database size.
    #[arg(long, default_value_t = 2_000)]
    pub(crate) n: u32,
    /// Random query count.
    #[arg(long, default_value_t = 4)]
    pub(crate) queries: u32,
    /// Random vector dimension.
    #[arg(long, default_value_t = 64)]
    pub(crate) dim: u32,
    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    pub(crate) k: u32,
    /// Similarity metric.
    #[arg(long, value_enum, default_value_t = MetricArg::Dot)]
    pub(crate) metric: MetricArg,
    /// Distinct workers that must run it.
    #[arg(long, default_value_t = 3)]
    pub(crate) redundancy: u8,
    /// Credits to escrow and pay for the task, split among the verified workers (e.g. 1.5),
    /// from this node's account (implies --as-node). 0 submits an unpaid task, which relays
    /// run unless started with --paid-only.
    #[arg(long, default_value = "0", value_parser = edgenet_node::earnings::parse_credits)]
    pub(crate) pay: u64,
    /// Seconds before the task fails.
    #[arg(long, default_value_t = 60)]
    pub(crate) timeout_s: u64,
    /// Print a JSON report instead of text (the same as `--output json`).
    #[arg(long)]
    pub(crate) json: bool,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    pub(crate) output: OutputArg,
    /// `--kind embedding`: the texts, one per line; `--kind semantic-match`: the candidates.
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// `--kind semantic-match`: the text to match the candidates against.
    #[arg(long)]
    pub(crate) query: Option<String>,
    /// `--kind semantic-match`: how many of the best candidates to return (0: all).
    #[arg(long, default_value_t = 0)]
    pub(crate) top_k: u32,
    /// The model of a text task.
    #[arg(long, default_value = "minilm")]
    pub(crate) model: String,
    /// The task kind, by its name (`-` or `_`): one of the kinds `submit` sends.
    #[arg(long, default_value = "vector_search", value_parser = kind_name)]
    pub(crate) kind: String,
    /// Random plaintext bytes for `--kind encryption`.
    #[arg(long, default_value_t = 4096)]
    pub(crate) bytes: usize,
    /// Quantization mode, `int8` or `binary` (of `--n` random vectors of `--dim` values).
    #[arg(long, default_value = "int8")]
    pub(crate) mode: String,
    /// Submit as this node's identity (the key file) instead of a fresh one. A running worker
    /// and a submitter must not share an identity: the relay keeps one connection per node.
    #[arg(long)]
    pub(crate) as_node: bool,
    /// `--kind custom-wasm`: the WebAssembly module (docs/custom-wasm.md has its ABI).
    #[arg(long)]
    pub(crate) module: Option<PathBuf>,
    /// `--kind custom-wasm`: one input file.
    #[arg(long, conflicts_with = "inputs")]
    pub(crate) input: Option<PathBuf>,
    /// `--kind custom-wasm`: a folder of input files, one run each, in the order of their names.
    #[arg(long)]
    pub(crate) inputs: Option<PathBuf>,
    /// `--kind custom-wasm`: fuel each run may use (about one per instruction).
    #[arg(long, default_value_t = edgenet_core::kinds::custom_wasm::CustomWasm::DEFAULT_FUEL)]
    pub(crate) fuel: u64,
    /// `--kind custom-wasm`: memory each run may reach, in MiB (1-256).
    #[arg(long = "memory", default_value_t = 256)]
    pub(crate) memory_mib: u32,
    /// `--kind custom-wasm`: inputs per task (0: the job spread over 8 tasks).
    #[arg(long, default_value_t = 0)]
    pub(crate) batch: usize,
}

/// `--kind`'s check: a name of a kind `submit` sends (clap prints the list on a mistake).
fn kind_name(name: &str) -> Result<String, String> {
    let names: Vec<&str> = SUBMITTED_KINDS
        .iter()
        .chain(&[TaskKind::CUSTOM_WASM])
        .map(|k| k.name())
        .collect();
    if names.contains(&name.replace('-', "_").as_str()) {
        Ok(name.to_owned())
    } else {
        Err(format!("one of {} expected", names.join(", ")))
    }
}

pub(crate) fn execute(cx: &Context, args: Args) -> Result<(), Failure> {
    let Args {
        relay,
        vectors,
        seed,
        n,
        queries,
        dim,
        k,
        metric,
        redundancy,
        pay,
        timeout_s,
        json,
        output,
        file,
        query,
        top_k,
        model,
        kind,
        bytes,
        mode,
        as_node,
        module,
        input,
        inputs,
        fuel,
        memory_mib,
        batch,
    } = args;
    let json = json || output == OutputArg::Json;
    // Paying spends this node's credits, so a paid task is submitted as this node.
    let key = if as_node || pay > 0 {
        load_or_create(&cx.key_file)?.0
    } else {
        edgenet_core::SecretKey::generate(&mut edgenet_core::rng::os_rng())
    };
    if kind.replace('-', "_") == TaskKind::CUSTOM_WASM.name() {
        let job = WasmJob::from_args(&WasmArgs {
            module: module.ok_or_else(|| {
                edgenet_node::error::NodeError::Input("--kind custom-wasm needs --module".into())
            })?,
            input,
            inputs,
            fuel,
            memory_mib,
            batch,
        })?;
        let sending = Sending {
            relay,
            redundancy,
            pay,
            timeout: Duration::from_secs(timeout_s),
        };
        let report = runtime()?.block_on(run_job(key, &job, &sending))?;
        print_wasm(&report, json);
        return Ok(());
    }
    let job = Job::from_args(&JobArgs {
        kind,
        vectors,
        seed,
        n,
        queries,
        dim,
        k,
        metric: metric.into(),
        file,
        query,
        top_k,
        model,
        bytes,
        mode,
    })?;
    let options = submit::SubmitOptions {
        relay,
        job,
        redundancy,
        timeout: Duration::from_secs(timeout_s),
        pay,
    };
    let (outcome, id) = runtime()?.block_on(submit::submit(key, &options))?;
    // A text task is checked here too when this machine has the model.
    let local_model = options
        .job
        .needs_model()
        .then(edgenet_embed::Embedder::default_dir)
        .flatten()
        .and_then(|dir| edgenet_embed::Embedder::load(&dir).ok());
    let report = submit::report(id, &options.job, &outcome, local_model.as_ref())?;
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        println!(
            "task {} verified by {} of {} workers",
            report.task,
            report.agreeing.len(),
            report.agreeing.len() + report.outvoted.len()
        );
        for w in &report.agreeing {
            println!("  agreed:   {w}");
        }
        for w in &report.outvoted {
            println!("  outvoted: {w}");
        }
        println!("verified result: {} bytes", report.result_bytes);
        println!(
            "matches this machine's own computation: {}",
            match report.matches_local {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "not checked (no model here)",
            }
        );
        for (i, v) in report.embeddings.iter().flatten().enumerate().take(5) {
            let head: Vec<String> = v.iter().take(4).map(|x| format!("{x:.4}")).collect();
            println!("  text {i}: [{}, …] ({} values)", head.join(", "), v.len());
        }
        for m in report.matches.iter().flatten().take(10) {
            println!("  candidate {} ({:.4})", m.index, m.score);
        }
        for (q, hits) in report.hits.iter().enumerate() {
            let shown: Vec<String> = hits
                .iter()
                .take(5)
                .map(|(i, s)| format!("{i} ({s:.4})"))
                .collect();
            println!(
                "  query {q}: {}{}",
                shown.join(", "),
                if hits.len() > 5 { ", …" } else { "" }
            );
        }
    }
    Ok(())
}

/// A custom_wasm job's report: JSON, or a line per run.
fn print_wasm(report: &WasmReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string(report).unwrap_or_default());
        return;
    }
    println!(
        "module {}: {} runs in {} tasks, {}verified by {} workers ({} outvoted)",
        report.module,
        report.runs.len(),
        report.tasks,
        if report.verified { "" } else { "NOT all " },
        report.agreeing.len(),
        report.outvoted.len()
    );
    println!(
        "fuel used {}; cost {} credits; {} runs checked here: {}",
        report.fuel_used,
        report.cost,
        report.spot_checked,
        match report.matches_local {
            Some(true) => "all match",
            Some(false) => "MISMATCH",
            None => "none",
        }
    );
    for run in &report.runs {
        let shown = match (&run.output, &run.output_hex, &run.trap, &run.error) {
            (Some(text), ..) => format!("{text:?}"),
            (_, Some(hex), ..) => format!("0x{hex}"),
            (_, _, Some(trap), _) => format!("trap {trap}"),
            (.., Some(error)) => format!("failed: {error}"),
            _ => String::new(),
        };
        println!("  {}: {shown} ({} fuel)", run.input, run.fuel_used);
    }
}
