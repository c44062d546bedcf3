//! `run`: join a relay as a worker and run tasks until stopped.

use std::path::PathBuf;
use std::time::Duration;

use edgenet_keystore::{Origin, load_or_create};
use edgenet_node::run;

use super::{Context, Failure, runtime, status_file};

/// Join a relay as a worker and run tasks until stopped (Ctrl-C or SIGTERM).
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Relay WebSocket URL; repeatable (or comma-separated), tried in turn. The node also
    /// learns a cluster's other relays from the one it joins, and moves to them when it fails.
    #[arg(
        long = "relay",
        env = "EDGENET_RELAY",
        value_delimiter = ',',
        default_value = "ws://127.0.0.1:8080/ws"
    )]
    pub(crate) relay: Vec<String>,
    /// Longest wait between reconnection attempts, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub(crate) max_backoff_ms: u64,
    /// Tasks run at once (default: the number of cores).
    #[arg(long)]
    pub(crate) max_jobs: Option<usize>,
    /// Test only: misbehave on purpose, to exercise the network's defences.
    #[arg(long, hide = true, value_enum)]
    pub(crate) fault_inject: Option<run::Fault>,
    /// The embedding model's directory (all-MiniLM-L6-v2 as scripts/setup.sh unpacks it).
    /// With the model the node also runs the text kinds. Default:
    /// ~/.cache/edgenet/models/all-MiniLM-L6-v2, used when it is there.
    #[arg(long, env = "EDGENET_MODEL_DIR")]
    pub(crate) model_dir: Option<PathBuf>,
    /// Do not load the embedding model (no text tasks).
    #[arg(long, conflicts_with = "model_dir")]
    pub(crate) no_model: bool,
    /// Where text tasks run: `auto` (the GPU when a hardware adapter agrees with the CPU
    /// and is faster on probe texts), `cpu`, or `gpu` (software adapters too).
    #[arg(long, value_enum, default_value_t = edgenet_node::text::TextBackend::Auto)]
    pub(crate) text_backend: edgenet_node::text::TextBackend,
    /// Where collection shards are kept (default: `data` beside the key file).
    #[arg(long, env = "EDGENET_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Bytes of disk and memory offered for collection shards (e.g. 2000000000); 0 holds
    /// none. A holder keeps each vector twice (index and log): about 8 bytes per dimension.
    #[arg(long, env = "EDGENET_STORAGE", default_value_t = 0)]
    pub(crate) storage: u64,
    /// Do not run submitters' own WebAssembly modules (`custom_wasm`; they run in a sandbox
    /// with no imports, metered fuel and capped memory: docs/custom-wasm.md).
    #[arg(long, env = "EDGENET_NO_CUSTOM_WASM")]
    pub(crate) no_custom_wasm: bool,
}

pub(crate) fn execute(cx: &Context, args: Args) -> Result<(), Failure> {
    let Args {
        relay,
        max_backoff_ms,
        max_jobs,
        fault_inject,
        model_dir,
        no_model,
        text_backend,
        data_dir,
        storage,
        no_custom_wasm,
    } = args;
    let (key, origin) = load_or_create(&cx.key_file)?;
    if origin == Origin::Created {
        eprintln!("created a new identity in {}", cx.key_file.display());
    }
    let options = run::RunOptions {
        relays: relay,
        status_file: status_file(&cx.key_file),
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
        data_dir: data_dir.unwrap_or_else(|| cx.key_file.with_file_name("data")),
        storage,
        custom_wasm: !no_custom_wasm,
    };
    let runtime = runtime()?;
    let ran = runtime.block_on(run::run(key, options));
    // A job still running on a blocking thread (a kernel mid-task) does not hold up the exit:
    // its result has nowhere to go. Proof searches have stopped already (`proof.rs`).
    runtime.shutdown_timeout(std::time::Duration::from_millis(250));
    ran?;
    Ok(())
}
