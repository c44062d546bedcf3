//! `edgenet-node submit --kind custom-wasm`: one module mapped over many inputs, as a job of
//! tasks. The inputs are cut into batches (a task carries the module once and its batch's
//! inputs), the tasks go out over one connection, a failed task is submitted again once, and the
//! runs come back in input order. A sample of the runs is checked against this machine's own run
//! of the same module: the workers cannot tell which runs (docs/threat-model.md, "custom_wasm").

use std::path::{Path, PathBuf};
use std::time::Duration;

use edgenet_core::ErrorCode;
use edgenet_core::SecretKey;
use edgenet_core::kinds::TaskKind;
use edgenet_core::kinds::custom_wasm::{CustomWasm, WasmEnd, WasmRun, WasmRuns};
use edgenet_sandbox::executor::{Reference, WasmExecutor};
use rand_chacha::rand_core::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::NodeError;
use crate::submit::{submit_all, task_spec};

/// Tasks a job keeps open at once (below the relay's bound of 64 per submitter).
pub const WINDOW: usize = 32;
/// Tasks a job's inputs are spread over when the submitter names no batch size: enough to keep
/// several workers busy, few enough that the relay's rounds of offers (one every 500 ms for a
/// task still short of workers) do not dominate a job of small runs.
pub const DEFAULT_TASKS: usize = 8;
/// Times a task is submitted before its inputs are reported failed.
pub const ATTEMPTS: usize = 2;
/// Runs checked on this machine, drawn at random.
pub const SPOT_CHECKS: usize = 8;

/// What the command line says of a `custom_wasm` job.
pub struct WasmArgs {
    /// The module.
    pub module: PathBuf,
    /// One input file.
    pub input: Option<PathBuf>,
    /// A folder of input files, run in the order of their names.
    pub inputs: Option<PathBuf>,
    /// Fuel per run.
    pub fuel: u64,
    /// Memory per run, in MiB.
    pub memory_mib: u32,
    /// Inputs per task (0: the inputs spread over [`DEFAULT_TASKS`] tasks).
    pub batch: usize,
}

/// A job: the module, the named inputs and the task's limits.
pub struct WasmJob {
    /// The module's bytes.
    pub module: Vec<u8>,
    /// Each input with its name (its file's name).
    pub inputs: Vec<(String, Vec<u8>)>,
    /// Fuel per run.
    pub fuel: u64,
    /// Memory per run, in MiB.
    pub memory_mib: u32,
    /// Inputs per task.
    pub batch: usize,
    /// This machine's own runner: it prepares the module before anything is sent, and runs the
    /// spot checks (the module prepared once for both).
    local: WasmExecutor<Reference>,
}

impl WasmJob {
    /// Reads the files the arguments name and prepares the module here, so that a module the
    /// sandbox refuses (EN-601 to EN-606) is refused before anything is sent.
    pub fn from_args(a: &WasmArgs) -> Result<Self, NodeError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| NodeError::Input(format!("{}: {e}", p.display())))
        };
        let module = read(&a.module)?;
        let inputs = match (&a.input, &a.inputs) {
            (Some(file), None) => vec![(name_of(file), read(file)?)],
            (None, Some(dir)) => {
                let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                    .map_err(|e| NodeError::Input(format!("{}: {e}", dir.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect();
                files.sort();
                files
                    .iter()
                    .map(|f| Ok((name_of(f), read(f)?)))
                    .collect::<Result<_, NodeError>>()?
            }
            _ => {
                return Err(NodeError::Input(
                    "--kind custom-wasm needs --module and one of --input FILE or --inputs DIR"
                        .into(),
                ));
            }
        };
        if inputs.is_empty() {
            return Err(NodeError::Input("--inputs names an empty folder".into()));
        }
        let job = Self {
            module,
            inputs,
            fuel: a.fuel,
            memory_mib: a.memory_mib,
            batch: a.batch,
            local: WasmExecutor::new(Reference),
        };
        let first = job.task(0..1);
        first
            .validate()
            .map_err(|e| NodeError::Input(format!("{}: {e}", e.code())))?;
        job.local
            .prepared(&first)
            .map_err(|e| NodeError::Input(format!("{}: {}", e.code, e.message)))?;
        Ok(job)
    }

    /// The task of the inputs in `range`.
    fn task(&self, range: std::ops::Range<usize>) -> CustomWasm {
        CustomWasm {
            module: self.module.clone(),
            inputs: self.inputs[range].iter().map(|(_, b)| b.clone()).collect(),
            fuel: self.fuel,
            memory_mib: self.memory_mib,
        }
    }

    /// The inputs cut into tasks: `batch` a task (or as many as spread the job over
    /// [`DEFAULT_TASKS`]), fewer where a task would pass a limit of [`CustomWasm`].
    pub fn batches(&self) -> Result<Vec<std::ops::Range<usize>>, NodeError> {
        let wanted = match self.batch {
            0 => self.inputs.len().div_ceil(DEFAULT_TASKS),
            n => n,
        };
        let by_fuel =
            usize::try_from(CustomWasm::MAX_TASK_FUEL / self.fuel.max(1)).unwrap_or(usize::MAX);
        let most = wanted.min(CustomWasm::MAX_INPUTS).min(by_fuel).max(1);
        let mut batches = Vec::new();
        let mut start = 0;
        while start < self.inputs.len() {
            let mut end = start;
            let mut bytes = self.module.len();
            while end < self.inputs.len() && end - start < most {
                let next = self.inputs[end].1.len() + 8;
                if end > start && bytes + next > CustomWasm::MAX_PAYLOAD {
                    break;
                }
                bytes += next;
                end += 1;
            }
            self.task(start..end).validate().map_err(|e| {
                NodeError::Input(format!("{}: input {}: {e}", e.code(), self.inputs[start].0))
            })?;
            batches.push(start..end);
            start = end;
        }
        Ok(batches)
    }
}

/// A file's name, for the report.
fn name_of(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// How a job is sent.
pub struct Sending {
    /// Relays, as `submit` takes them.
    pub relay: Vec<String>,
    /// Distinct workers per task.
    pub redundancy: u8,
    /// Most micro-credits the whole job may escrow (0: unpaid tasks).
    pub pay: u64,
    /// Each task's timeout.
    pub timeout: Duration,
}

/// What `submit --kind custom-wasm` prints with `--json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct WasmReport {
    /// SHA-256 of the module (hex): what the job runs.
    pub module: String,
    /// Tasks the inputs were sent in (retries not counted).
    pub tasks: usize,
    /// Tasks submitted again after a failure.
    pub retried: usize,
    /// Whether every run's task was verified by agreeing workers.
    pub verified: bool,
    /// Fuel the verified runs used, in all.
    pub fuel_used: u64,
    /// Credits escrowed for the job at the list price (0: unpaid).
    pub cost: f64,
    /// Runs checked on this machine, and whether they all matched.
    pub spot_checked: usize,
    /// Whether the spot-checked runs matched this machine's own.
    pub matches_local: Option<bool>,
    /// Workers whose results agreed, over all tasks.
    pub agreeing: Vec<String>,
    /// Workers outvoted, over all tasks.
    pub outvoted: Vec<String>,
    /// One entry per input, in order.
    pub runs: Vec<RunOut>,
}

/// One input's run in a report.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunOut {
    /// The input's name.
    pub input: String,
    /// The output, as UTF-8 text when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The output in hex, when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_hex: Option<String>,
    /// The trap's EN code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trap: Option<String>,
    /// Fuel the run used.
    pub fuel_used: u64,
    /// Why the run has no verified result (its task failed twice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Sends the job and waits for every task; returns the report.
pub async fn run_job(
    key: SecretKey,
    job: &WasmJob,
    sending: &Sending,
) -> Result<WasmReport, NodeError> {
    let batches = job.batches()?;
    let info = TaskKind::CUSTOM_WASM
        .known()
        .map_err(|e| NodeError::Input(e.to_string()))?;
    let tasks: Vec<CustomWasm> = batches.iter().map(|r| job.task(r.clone())).collect();
    let payloads = tasks
        .iter()
        .map(|t| t.encode().map_err(|e| NodeError::Input(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    // The list price of the fuel each task allows (the kind's units), for each worker; nothing
    // for an unpaid job.
    let price = info.payloads().price();
    let prices: Vec<u64> = tasks
        .iter()
        .map(|t| match sending.pay {
            0 => 0,
            _ => price
                .of(t.fuel_allowed())
                .saturating_mul(u64::from(sending.redundancy)),
        })
        .collect();
    let total: u64 = prices.iter().sum();
    if sending.pay > 0 && total > sending.pay {
        return Err(NodeError::Input(format!(
            "EN-153: the job costs {} credits at the list price (0.01 credit per 10^9 fuel allowed, per worker), above --pay {}",
            total as f64 / 1e6,
            sending.pay as f64 / 1e6
        )));
    }
    let mut results: Vec<Option<Result<(WasmRuns, edgenet_proto::submit::Outcome), NodeError>>> =
        (0..tasks.len()).map(|_| None).collect();
    let mut retried = 0;
    for attempt in 0..ATTEMPTS {
        let pending: Vec<usize> = (0..tasks.len())
            .filter(|&i| !matches!(results[i], Some(Ok(_))))
            .collect();
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            retried += pending.len();
        }
        let specs = pending
            .iter()
            .map(|&i| {
                let spec = task_spec(
                    TaskKind::CUSTOM_WASM,
                    sending.redundancy,
                    prices[i],
                    sending.timeout,
                );
                (spec, payloads[i].clone())
            })
            .collect();
        let outcomes = submit_all(key.clone(), &sending.relay, specs, WINDOW).await?;
        for (i, outcome) in pending.into_iter().zip(outcomes) {
            results[i] = Some(outcome.and_then(|o| {
                let runs =
                    WasmRuns::decode(&o.result).map_err(|e| NodeError::Input(e.to_string()))?;
                if runs.runs.len() != tasks[i].inputs.len() {
                    return Err(NodeError::Input(format!(
                        "{} runs for {} inputs",
                        runs.runs.len(),
                        tasks[i].inputs.len()
                    )));
                }
                Ok((runs, o))
            }));
        }
    }
    Ok(report(job, &batches, &tasks, results, retried, total))
}

/// The report of a job's results, with a random sample of runs checked here.
fn report(
    job: &WasmJob,
    batches: &[std::ops::Range<usize>],
    tasks: &[CustomWasm],
    results: Vec<Option<Result<(WasmRuns, edgenet_proto::submit::Outcome), NodeError>>>,
    retried: usize,
    cost: u64,
) -> WasmReport {
    let mut rep = WasmReport {
        module: edgenet_core::radix::hex(&Sha256::digest(&job.module)),
        tasks: tasks.len(),
        retried,
        verified: true,
        fuel_used: 0,
        cost: cost as f64 / 1e6,
        spot_checked: 0,
        matches_local: None,
        agreeing: Vec::new(),
        outvoted: Vec::new(),
        runs: Vec::new(),
    };
    let mut verified_runs: Vec<(usize, usize, WasmRun)> = Vec::new();
    for (t, (range, result)) in batches.iter().zip(results).enumerate() {
        match result {
            Some(Ok((runs, outcome))) => {
                for w in outcome.agreeing {
                    push_unique(&mut rep.agreeing, w.to_string());
                }
                for w in outcome.outvoted {
                    push_unique(&mut rep.outvoted, w.to_string());
                }
                for (k, run) in runs.runs.into_iter().enumerate() {
                    rep.fuel_used = rep.fuel_used.saturating_add(run.fuel_used);
                    rep.runs.push(run_out(&job.inputs[range.start + k].0, &run));
                    verified_runs.push((t, k, run));
                }
            }
            other => {
                rep.verified = false;
                let error = match other {
                    Some(Err(e)) => format!("{}: {e}", e.code()),
                    _ => "not sent".to_owned(),
                };
                for i in range.clone() {
                    rep.runs.push(RunOut {
                        input: job.inputs[i].0.clone(),
                        output: None,
                        output_hex: None,
                        trap: None,
                        fuel_used: 0,
                        error: Some(error.clone()),
                    });
                }
            }
        }
    }
    // The spot checks: runs drawn at random, run here as a worker would.
    let mut rng = edgenet_core::rng::os_rng();
    let mut matches = true;
    for _ in 0..SPOT_CHECKS.min(verified_runs.len()) {
        let pick = (rng.next_u64() % verified_runs.len() as u64) as usize;
        let (t, k, run) = verified_runs.swap_remove(pick);
        if run.end == WasmEnd::Trap(613) {
            // Maybe past the task's room for outputs, which a run alone would not reach.
            continue;
        }
        let one = CustomWasm {
            inputs: vec![tasks[t].inputs[k].clone()],
            ..tasks[t].clone()
        };
        let here = job
            .local
            .run_task(&one)
            .ok()
            .and_then(|r| r.runs.into_iter().next());
        matches &= here.as_ref() == Some(&run);
        rep.spot_checked += 1;
    }
    if rep.spot_checked > 0 {
        rep.matches_local = Some(matches);
    }
    rep
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// A run as the report shows it.
fn run_out(input: &str, run: &WasmRun) -> RunOut {
    let (mut output, mut output_hex, mut trap) = (None, None, None);
    match &run.end {
        WasmEnd::Output(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => output = Some(text.to_owned()),
            Err(_) => output_hex = Some(edgenet_core::radix::hex(bytes)),
        },
        WasmEnd::Trap(code) => trap = Some(format!("EN-{code}")),
    }
    RunOut {
        input: input.to_owned(),
        output,
        output_hex,
        trap,
        fuel_used: run.fuel_used,
        error: None,
    }
}
