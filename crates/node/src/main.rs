//! `edgenet-node`: the native node's command line.
//!
//! `run` joins a relay as a worker, `submit` sends a task and prints the verified result, `check`
//! profiles this machine, `status` shows the running node's connection state, `earnings` its
//! credits, and `id`/`export`/`import` manage the identity. Each command is a file of `cli/`.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::{Context, Failure};

#[derive(Parser)]
#[command(name = "edgenet-node", version, about = "EdgeNet native node")]
struct Cli {
    /// Key file holding this node's identity (created with mode 0600 on first use).
    #[arg(long, env = "EDGENET_KEY_FILE", global = true, default_value_os_t = cli::default_key_file())]
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
    Run(cli::run::Args),
    /// Show the connection state of the node running with this key file.
    Status,
    /// Show this node's credits: balance, stake, escrow, all-time earned and spent, reputation.
    Earnings(cli::earnings::Args),
    /// Profile this machine: cores, memory, GPU, kernel backend and a short benchmark.
    Check(cli::check::Args),
    /// Submit a task (a vector search by default; `--kind` names another) and print the verified
    /// result.
    Submit(Box<cli::submit::Args>),
    /// Shared vector collections: create one (owned by this key file's identity), insert into
    /// it, search it, and show where it lives. Use a key file of its own, not a running
    /// worker's: the relay keeps one connection per identity.
    Collection {
        #[command(subcommand)]
        action: cli::collection::CollectionCmd,
    },
    /// Print this node's id, creating the identity on first use.
    Id(cli::keys::IdArgs),
    /// Print the identity as a key file for backup (encrypted if a passphrase is given).
    Export(cli::keys::ExportArgs),
    /// Write a systemd unit that runs `run --relay URL` with the flags after `--` (its identity
    /// and status in the unit's state directory), and print how to enable it.
    InstallService(cli::service::Args),
    /// Install an exported key file as this node's identity (refuses to replace an existing one).
    Import(cli::keys::ImportArgs),
}

fn execute(cli: Cli) -> Result<(), Failure> {
    if let Some(ca) = &cli.ca_cert {
        edgenet_node::transport::trust_ca(ca)?;
    }
    let cx = Context {
        key_file: cli.key_file,
    };
    match cli.command {
        Command::Run(args) => cli::run::execute(&cx, args),
        Command::Status => cli::earnings::status(&cx),
        Command::Earnings(args) => cli::earnings::execute(&cx, args),
        Command::Check(args) => cli::check::execute(args),
        Command::Submit(args) => cli::submit::execute(&cx, *args),
        Command::Collection { action } => cli::collection::execute(&cx.key_file, action),
        Command::Id(args) => cli::keys::id(&cx, args),
        Command::Export(args) => cli::keys::export(&cx, args),
        Command::InstallService(args) => cli::service::execute(args),
        Command::Import(args) => cli::keys::import(&cx, args),
    }
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
