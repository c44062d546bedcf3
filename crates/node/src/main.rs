//! `edgenet-node`: the native node's command line.
//!
//! `run` joins a relay as a worker, `submit` sends a task and prints the verified result, `check`
//! profiles this machine, `status` shows the running node's connection state, `earnings` its
//! credits, and `id`/`export`/`import` manage the identity.

use edgenet_node::{check, run, status, submit};

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use edgenet_core::ErrorCode;
use edgenet_core::keyfile::{self, KdfCost};
use edgenet_core::kinds::vector_search::SearchMetric;
use edgenet_keystore::{Origin, load, load_or_create, save};

#[derive(Parser)]
#[command(name = "edgenet-node", version, about = "EdgeNet native node")]
struct Cli {
    /// Key file holding this node's identity (created with mode 0600 on first use).
    #[arg(long, env = "EDGENET_KEY_FILE", global = true, default_value_os_t = default_key_file())]
    key_file: PathBuf,
    /// Also trust the PEM certificates in this file for `wss://` relays (a private CA or a
    /// self-signed relay); the usual web roots are always trusted.
    #[arg(long, value_name = "PEM", env = "EDGENET_CA_CERT", global = true)]
    ca_cert: Option<PathBuf>,
    /// Log lines as `text` or `json` (one object per line); `EDGENET_LOG` chooses what is logged.
    #[arg(long, value_enum, env = "EDGENET_LOG_FORMAT", default_value_t = edgenet_ops::logging::LogFormat::Text, global = true)]
    log_format: edgenet_ops::logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Join a relay as a worker and run tasks until stopped (Ctrl-C or SIGTERM).
    Run {
        /// Relay WebSocket URL; repeatable (or comma-separated), tried in turn. The node also
        /// learns a cluster's other relays from the one it joins, and moves to them when it fails.
        #[arg(
            long = "relay",
            env = "EDGENET_RELAY",
            value_delimiter = ',',
            default_value = "ws://127.0.0.1:8080/ws"
        )]
        relay: Vec<String>,
        /// Longest wait between reconnection attempts, in milliseconds.
        #[arg(long, default_value_t = 30_000)]
        max_backoff_ms: u64,
        /// Tasks run at once (default: the number of cores).
        #[arg(long)]
        max_jobs: Option<usize>,
        /// Test only: misbehave on purpose, to exercise the network's defences.
        #[arg(long, hide = true, value_enum)]
        fault_inject: Option<run::Fault>,
        /// The embedding model's directory (all-MiniLM-L6-v2 as scripts/setup.sh unpacks it).
        /// With the model the node also runs `embedding` and `semantic_match`. Default:
        /// ~/.cache/edgenet/models/all-MiniLM-L6-v2, used when it is there.
        #[arg(long, env = "EDGENET_MODEL_DIR")]
        model_dir: Option<PathBuf>,
        /// Do not load the embedding model (no text tasks).
        #[arg(long, conflicts_with = "model_dir")]
        no_model: bool,
        /// Where text tasks run: `auto` (the GPU when a hardware adapter agrees with the CPU
        /// and is faster on probe texts), `cpu`, or `gpu` (software adapters too).
        #[arg(long, value_enum, default_value_t = edgenet_node::text::TextBackend::Auto)]
        text_backend: edgenet_node::text::TextBackend,
        /// Where collection shards are kept (default: `data` beside the key file).
        #[arg(long, env = "EDGENET_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Bytes of disk and memory offered for collection shards (e.g. 2000000000); 0 holds
        /// none. A holder keeps each vector twice (index and log): about 8 bytes per dimension.
        #[arg(long, env = "EDGENET_STORAGE", default_value_t = 0)]
        storage: u64,
    },
    /// Show the connection state of the node running with this key file.
    Status,
    /// Show this node's credits: balance, stake, escrow, all-time earned and spent, reputation.
    Earnings {
        /// Relay WebSocket URL (its HTTP API answers on the same address).
        #[arg(long, env = "EDGENET_RELAY", default_value = "ws://127.0.0.1:8080/ws")]
        relay: String,
        /// Print JSON (micro-credits) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Profile this machine: cores, memory, GPU, kernel backend and a short benchmark.
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also estimate what this machine would earn on this relay (its `/api/rewards`).
        #[arg(long)]
        relay: Option<String>,
        /// Idle hours a day the estimate assumes.
        #[arg(long, default_value_t = 8.0)]
        idle_hours: f64,
    },
    /// Submit a task (vector_search by default, encryption, compression, embedding or semantic-match) and print the verified result.
    Submit {
        /// Relay WebSocket URL; repeatable (or comma-separated). The task goes to the first; if
        /// that connection drops, it is resumed at the next that answers (and at the cluster's
        /// other relays, learned from the first).
        #[arg(
            long = "relay",
            env = "EDGENET_RELAY",
            value_delimiter = ',',
            default_value = "ws://127.0.0.1:8080/ws"
        )]
        relay: Vec<String>,
        /// JSON file {"queries": [[...]], "database": [[...]]}; without it, random vectors are used.
        #[arg(long)]
        vectors: Option<PathBuf>,
        /// Seed of the random vectors.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Random database size.
        #[arg(long, default_value_t = 2_000)]
        n: u32,
        /// Random query count.
        #[arg(long, default_value_t = 4)]
        queries: u32,
        /// Random vector dimension.
        #[arg(long, default_value_t = 64)]
        dim: u32,
        /// Neighbours per query.
        #[arg(long, default_value_t = 10)]
        k: u32,
        /// Similarity metric.
        #[arg(long, value_enum, default_value_t = MetricArg::Dot)]
        metric: MetricArg,
        /// Distinct workers that must run it.
        #[arg(long, default_value_t = 3)]
        redundancy: u8,
        /// Credits to escrow and pay for the task, split among the verified workers (e.g. 1.5),
        /// from this node's account (implies --as-node). 0 submits an unpaid task, which relays
        /// run unless started with --paid-only.
        #[arg(long, default_value = "0", value_parser = edgenet_node::earnings::parse_credits)]
        pay: u64,
        /// Seconds before the task fails.
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
        /// Print a JSON report instead of text (the same as `--output json`).
        #[arg(long)]
        json: bool,
        /// How to print the report.
        #[arg(long, value_enum, default_value_t = OutputArg::Text)]
        output: OutputArg,
        /// `--kind embedding`: the texts, one per line; `--kind semantic-match`: the candidates.
        #[arg(long)]
        file: Option<PathBuf>,
        /// `--kind semantic-match`: the text to match the candidates against.
        #[arg(long)]
        query: Option<String>,
        /// `--kind semantic-match`: how many of the best candidates to return (0: all).
        #[arg(long, default_value_t = 0)]
        top_k: u32,
        /// The model of a text task.
        #[arg(long, default_value = "minilm")]
        model: String,
        /// The task kind.
        #[arg(long, value_enum, default_value_t = KindArg::VectorSearch)]
        kind: KindArg,
        /// Random plaintext bytes for `--kind encryption`.
        #[arg(long, default_value_t = 4096)]
        bytes: usize,
        /// Quantization for `--kind compression` (of `--n` random vectors of `--dim` values).
        #[arg(long, value_enum, default_value_t = ModeArg::Int8)]
        mode: ModeArg,
        /// Submit as this node's identity (the key file) instead of a fresh one. A running worker
        /// and a submitter must not share an identity: the relay keeps one connection per node.
        #[arg(long)]
        as_node: bool,
    },
    /// Shared vector collections: create one (owned by this key file's identity), insert into
    /// it, search it, and show where it lives. Use a key file of its own, not a running
    /// worker's: the relay keeps one connection per identity.
    Collection {
        #[command(subcommand)]
        action: CollectionCmd,
    },
    /// Print this node's id, creating the identity on first use.
    Id {
        /// Print the 10-character short form instead.
        #[arg(long)]
        short: bool,
    },
    /// Print the identity as a key file for backup (encrypted if a passphrase is given).
    Export {
        /// Name of an environment variable holding the passphrase to encrypt with.
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
    },
    /// Write a systemd unit that runs `run --relay URL` with the flags after `--` (its identity
    /// and status in the unit's state directory), and print how to enable it.
    InstallService {
        /// The relay to join.
        #[arg(long, env = "EDGENET_RELAY")]
        relay: String,
        #[command(flatten)]
        install: edgenet_ops::service::InstallArgs,
        /// More `run` flags for the unit's command line, e.g. `-- --model-dir /opt/minilm`.
        #[arg(last = true)]
        flags: Vec<String>,
    },
    /// Install an exported key file as this node's identity (refuses to replace an existing one).
    Import {
        /// The exported key file.
        file: PathBuf,
        /// Name of an environment variable holding the passphrase, for an encrypted file.
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
    },
}

#[derive(clap::Args)]
struct CollectionCommon {
    /// Relay WebSocket URL (its HTTP API answers on the same address).
    #[arg(long, env = "EDGENET_RELAY", default_value = "ws://127.0.0.1:8080/ws")]
    relay: String,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    output: OutputArg,
}

#[derive(Subcommand)]
enum CollectionCmd {
    /// Create a collection; prints its id.
    Create {
        /// Its name (a-z 0-9 - _ .), unique per owner.
        #[arg(long)]
        name: String,
        /// Vector dimension.
        #[arg(long)]
        dim: u32,
        /// How vectors compare.
        #[arg(long, value_enum, default_value_t = MetricArg::Cosine)]
        metric: MetricArg,
        /// Shards the ids are split into.
        #[arg(long, default_value_t = 4)]
        shards: u16,
        /// Holders of each shard.
        #[arg(long, default_value_t = 3)]
        replicas: u8,
        #[command(flatten)]
        common: CollectionCommon,
    },
    /// Insert the vectors of a JSON file {"ids": [...], "vectors": [[...], ...]}.
    Insert {
        /// The collection's id.
        #[arg(long)]
        collection: String,
        /// The file.
        #[arg(long)]
        file: PathBuf,
        /// Escrow and pay the list price (0.5 credit per 100 vectors per replica).
        #[arg(long)]
        pay: bool,
        #[command(flatten)]
        common: CollectionCommon,
    },
    /// Search with the queries of a JSON file {"queries": [[...], ...]} (or {"query": [...]}).
    Search {
        /// The collection's id.
        #[arg(long)]
        collection: String,
        /// The file.
        #[arg(long)]
        query_file: PathBuf,
        /// Neighbours per query.
        #[arg(long, default_value_t = 10)]
        k: u32,
        /// Candidates kept while searching (0: the default, 64).
        #[arg(long, default_value_t = 0)]
        ef: u16,
        /// Escrow and pay the list price (1 credit per 1,000 queries per replica).
        #[arg(long)]
        pay: bool,
        #[command(flatten)]
        common: CollectionCommon,
    },
    /// Show a collection's placement, sizes and replica health.
    Info {
        /// The collection's id.
        #[arg(long)]
        collection: String,
        #[command(flatten)]
        common: CollectionCommon,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    VectorSearch,
    Encryption,
    Compression,
    Embedding,
    SemanticMatch,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Int8,
    Binary,
}

#[derive(Clone, Copy, ValueEnum)]
enum MetricArg {
    Dot,
    Cosine,
    L2,
}

impl From<MetricArg> for SearchMetric {
    fn from(m: MetricArg) -> Self {
        match m {
            MetricArg::Dot => Self::Dot,
            MetricArg::Cosine => Self::Cosine,
            MetricArg::L2 => Self::L2,
        }
    }
}

fn status_file(key_file: &std::path::Path) -> PathBuf {
    key_file.with_extension("status.json")
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("EN-154: cannot start the async runtime: {e}")))
}

fn default_key_file() -> PathBuf {
    let home = std::env::var_os("EDGENET_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".edgenet")))
        .unwrap_or_else(|| PathBuf::from(".edgenet"));
    home.join("node.key")
}

/// A failure to report: its stable code and message.
struct Failure(String);

impl<E: ErrorCode + std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Self(format!("{}: {err}", err.code()))
    }
}

fn passphrase(var: Option<&str>) -> Result<Option<Vec<u8>>, Failure> {
    var.map(|name| {
        std::env::var(name).map(String::into_bytes).map_err(|_| {
            Failure(format!(
                "EN-132: environment variable {name} (named by --passphrase-env) is not set"
            ))
        })
    })
    .transpose()
}

fn execute(cli: Cli) -> Result<(), Failure> {
    if let Some(ca) = &cli.ca_cert {
        edgenet_node::transport::trust_ca(ca)?;
    }
    match cli.command {
        Command::Run {
            relay,
            max_backoff_ms,
            max_jobs,
            fault_inject,
            model_dir,
            no_model,
            text_backend,
            data_dir,
            storage,
        } => {
            let (key, origin) = load_or_create(&cli.key_file)?;
            if origin == Origin::Created {
                eprintln!("created a new identity in {}", cli.key_file.display());
            }
            let options = run::RunOptions {
                relays: relay,
                status_file: status_file(&cli.key_file),
                max_backoff: Duration::from_millis(max_backoff_ms.max(100)),
                max_jobs: max_jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                fault: fault_inject,
                model_required: model_dir.is_some(),
                model_dir: if no_model {
                    None
                } else {
                    model_dir.or_else(edgenet_embed::Embedder::default_dir)
                },
                text_backend,
                data_dir: data_dir.unwrap_or_else(|| cli.key_file.with_file_name("data")),
                storage,
            };
            runtime()?.block_on(run::run(key, options))?;
        }
        Command::Check {
            json,
            relay,
            idle_hours,
        } => {
            let mut report = check::check();
            if let Some(relay) = relay {
                let rewards = runtime()?
                    .block_on(edgenet_node::earnings::get_json(&relay, "/api/rewards"))?;
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
                    println!(
                        "            {backend:>14}: {qps:>8.0} queries/s at {queries} per call"
                    );
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
        }
        Command::Status => {
            let path = status_file(&cli.key_file);
            let status = status::read(&path).ok_or_else(|| {
                Failure(format!(
                    "EN-155: no status at {} (is `edgenet-node run` using this key file?)",
                    path.display()
                ))
            })?;
            println!(
                "{}",
                serde_json::to_string_pretty(&status).unwrap_or_default()
            );
        }
        Command::Earnings { relay, json } => {
            let (key, _) = load_or_create(&cli.key_file)?;
            let id = key.node_id();
            let figures = runtime()?.block_on(edgenet_node::earnings::fetch(&relay, &id))?;
            if json {
                // The same JSON as the relay's `GET /api/ledger/{account}`.
                let mut view = serde_json::to_value(figures).unwrap_or_default();
                view["account"] = id.to_string().into();
                println!("{view}");
            } else {
                println!("{}", edgenet_node::earnings::render(&id, &figures));
            }
        }
        Command::Submit {
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
            as_node,
            kind,
            bytes,
            mode,
        } => {
            let json = json || output == OutputArg::Json;
            let need_file = || {
                file.clone().ok_or_else(|| {
                    edgenet_node::error::NodeError::Input(
                        "--kind embedding and semantic-match read their texts from --file".into(),
                    )
                })
            };
            // Paying spends this node's credits, so a paid task is submitted as this node.
            let key = if as_node || pay > 0 {
                load_or_create(&cli.key_file)?.0
            } else {
                edgenet_core::SecretKey::generate(&mut edgenet_core::rng::os_rng())
            };
            let job = match kind {
                KindArg::Encryption => submit::Job::random_encryption(seed, bytes),
                KindArg::Compression => {
                    let mode = match mode {
                        ModeArg::Int8 => edgenet_core::kinds::compression::Quantization::Int8,
                        ModeArg::Binary => edgenet_core::kinds::compression::Quantization::Binary,
                    };
                    submit::Job::random_compression(seed, mode, n, dim)
                }
                KindArg::Embedding => submit::Job::embedding_of_file(&need_file()?, &model)?,
                KindArg::SemanticMatch => {
                    let query = query.clone().ok_or_else(|| {
                        edgenet_node::error::NodeError::Input(
                            "--kind semantic-match needs --query".into(),
                        )
                    })?;
                    submit::Job::semantic_match_of_file(&query, &need_file()?, &model, top_k)?
                }
                KindArg::VectorSearch => {
                    let vectors = match vectors {
                        Some(path) => submit::Vectors::File(path),
                        None => submit::Vectors::Random {
                            seed,
                            n,
                            queries,
                            dim,
                        },
                    };
                    submit::Job::Search(submit::build_task(&vectors, metric.into(), k)?)
                }
            };
            let options = submit::SubmitOptions {
                relay,
                job,
                redundancy,
                timeout: Duration::from_secs(timeout_s),
                pay,
            };
            let (outcome, id) = runtime()?.block_on(submit::submit(key, &options))?;
            // A text task is checked here too when this machine has the model.
            let local_model = matches!(options.job, submit::Job::Embed(_) | submit::Job::Match(_))
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
        }
        Command::Collection { action } => collection_command(&cli.key_file, action)?,
        Command::InstallService {
            relay,
            install,
            flags,
        } => {
            let binary = std::env::current_exe()
                .map_err(|e| Failure(format!("EN-159: where is this binary? {e}")))?;
            let service = edgenet_ops::service::Service {
                name: "edgenet-node".into(),
                description: "EdgeNet node (shares this machine's idle compute)".into(),
                binary,
                args: [
                    "--key-file",
                    "%S/edgenet-node/node.key",
                    "run",
                    "--relay",
                    &relay,
                ]
                .into_iter()
                .map(str::to_owned)
                .chain(flags)
                .collect(),
                needs_gpu: true,
                low_port: false,
            };
            print!(
                "{}",
                service
                    .install(install.scope(), install.dry_run)
                    .map_err(|e| Failure(format!("EN-159: {e}")))?
            );
            if !install.dry_run {
                println!(
                    "the service has an identity of its own (created on first start); to give it this one instead, before starting it: edgenet-node export | edgenet-node --key-file <state dir>/edgenet-node/node.key import /dev/stdin"
                );
            }
        }
        Command::Id { short } => {
            let (key, origin) = load_or_create(&cli.key_file)?;
            if origin == Origin::Created {
                eprintln!("created a new identity in {}", cli.key_file.display());
            }
            let id = key.node_id();
            println!(
                "{}",
                if short {
                    id.fmt_short()
                } else {
                    id.to_string()
                }
            );
        }
        Command::Export { passphrase_env } => {
            let key = load(&cli.key_file, None)?;
            let text = match passphrase(passphrase_env.as_deref())? {
                Some(p) => keyfile::export_encrypted(
                    &mut edgenet_core::rng::os_rng(),
                    &key,
                    &p,
                    KdfCost::default(),
                )?,
                None => keyfile::export_plain(&key),
            };
            print!("{text}");
        }
        Command::Import {
            file,
            passphrase_env,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure(format!("EN-130: {}: {e}", file.display())))?;
            let key = keyfile::import(&text, passphrase(passphrase_env.as_deref())?.as_deref())?;
            // Stored unencrypted, like a freshly created identity, so the node can start unattended.
            save(&cli.key_file, &keyfile::export_plain(&key))?;
            println!("{}", key.node_id());
        }
    }
    Ok(())
}

fn collection_command(key_file: &std::path::Path, action: CollectionCmd) -> Result<(), Failure> {
    use edgenet_node::collection::{self, Client, InsertFile, QueryFile, read_json};
    let parse_id =
        |s: &str| -> Result<edgenet_core::collection::CollectionId, Failure> { Ok(s.parse()?) };
    let print = |output: OutputArg, value: serde_json::Value, text: String| {
        if output == OutputArg::Json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    };
    let rt = runtime()?;
    match action {
        CollectionCmd::Create {
            name,
            dim,
            metric,
            shards,
            replicas,
            common,
        } => {
            let (key, _) = load_or_create(key_file)?;
            let spec = edgenet_core::collection::CollectionSpec::new(
                &key.node_id(),
                &name,
                dim,
                metric.into(),
                shards,
                replicas,
            );
            spec.validate()?;
            let id = rt.block_on(async {
                let mut client = Client::connect(&common.relay, key).await?;
                let id = client.create(&spec).await;
                client.close().await;
                id
            })?;
            print(
                common.output,
                serde_json::json!({ "collection": id.to_string(), "name": name }),
                id.to_string(),
            );
        }
        CollectionCmd::Insert {
            collection,
            file,
            pay,
            common,
        } => {
            let id = parse_id(&collection)?;
            let input: InsertFile = read_json(&file)?;
            let flat: Vec<f32> = input.vectors.iter().flatten().copied().collect();
            let (key, _) = load_or_create(key_file)?;
            let report = rt.block_on(async {
                let info = collection::info(&common.relay, &id).await?;
                if info.owner != key.node_id().to_string() {
                    return Err(edgenet_node::error::NodeError::Proto(
                        edgenet_proto::error::CollectionRefusal::Spec(
                            edgenet_core::collection::CollectionError::NotOwner,
                        )
                        .into(),
                    ));
                }
                // Rows of the wrong length are caught before anything is sent.
                if let Some(row) = input
                    .vectors
                    .iter()
                    .position(|v| v.len() != info.dim as usize)
                {
                    return Err(edgenet_node::error::NodeError::Proto(
                        edgenet_proto::ProtoError::Remote {
                            code: "EN-404".into(),
                            message: format!(
                                "vector {row} has {} values; the collection's have {}",
                                input.vectors[row].len(),
                                info.dim
                            ),
                        },
                    ));
                }
                let mut client = Client::connect(&common.relay, key).await?;
                let report = client.insert(&info, &input.ids, &flat, pay).await;
                client.close().await;
                report
            })?;
            let text = format!(
                "inserted {} vectors in {} batches into {} ({:.1} s)",
                report.inserted, report.batches, report.collection, report.seconds
            );
            print(
                common.output,
                serde_json::to_value(&report).unwrap_or_default(),
                text,
            );
        }
        CollectionCmd::Search {
            collection,
            query_file,
            k,
            ef,
            pay,
            common,
        } => {
            let id = parse_id(&collection)?;
            let queries: QueryFile = read_json(&query_file)?;
            // A search may come from anyone: a fresh identity unless paying.
            let key = if pay {
                load_or_create(key_file)?.0
            } else {
                edgenet_core::SecretKey::generate(&mut edgenet_core::rng::os_rng())
            };
            let report = rt.block_on(async {
                let info = collection::info(&common.relay, &id).await?;
                let mut client = Client::connect(&common.relay, key).await?;
                let report = client.search(&info, &queries.flat(), k, ef, pay).await;
                client.close().await;
                report
            })?;
            let mut text = String::new();
            for (q, hits) in report.hits.iter().enumerate() {
                let shown: Vec<String> =
                    hits.iter().map(|(i, s)| format!("{i} ({s:.4})")).collect();
                text.push_str(&format!("query {q}: {}\n", shown.join(", ")));
            }
            for (shard, s) in &report.shards {
                text.push_str(&format!(
                    "shard {shard}: {} vectors, verified by {} holders{}\n",
                    s.vectors,
                    s.agreeing.len(),
                    if s.outvoted.is_empty() {
                        String::new()
                    } else {
                        format!(", outvoted: {}", s.outvoted.join(", "))
                    }
                ));
            }
            print(
                common.output,
                serde_json::to_value(&report).unwrap_or_default(),
                text.trim_end().to_owned(),
            );
        }
        CollectionCmd::Info { collection, common } => {
            let id = parse_id(&collection)?;
            let info = rt.block_on(collection::info(&common.relay, &id))?;
            let text = format!(
                "{} ({}): {} vectors of dimension {} ({}), {} shards × {} replicas",
                info.name,
                info.id,
                info.vectors,
                info.dim,
                info.metric,
                info.shards.len(),
                info.replicas
            );
            print(
                common.output,
                serde_json::to_value(&info).unwrap_or_default(),
                text,
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    edgenet_ops::logging::init(cli.log_format);
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
