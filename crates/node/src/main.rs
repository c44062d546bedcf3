//! `edgenet-node`: the native node's command line.
//!
//! So far it manages the node's identity; `check`, `run`, `earnings`, `submit` and
//! `install-service` arrive with the relay, kernels and ledger issues.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use edgenet_core::ErrorCode;
use edgenet_core::keyfile::{self, KdfCost};
use edgenet_keystore::{Origin, load, load_or_create, save};

#[derive(Parser)]
#[command(name = "edgenet-node", version, about = "EdgeNet native node")]
struct Cli {
    /// Key file holding this node's identity (created with mode 0600 on first use).
    #[arg(long, env = "EDGENET_KEY_FILE", global = true, default_value_os_t = default_key_file())]
    key_file: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Install an exported key file as this node's identity (refuses to replace an existing one).
    Import {
        /// The exported key file.
        file: PathBuf,
        /// Name of an environment variable holding the passphrase, for an encrypted file.
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
    },
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

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
