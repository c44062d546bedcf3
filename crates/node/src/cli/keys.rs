//! `id`, `export`, `import`: this node's identity.

use std::path::PathBuf;

use edgenet_core::keyfile::{self, KdfCost};
use edgenet_keystore::{Origin, load, load_or_create, save};

use super::{Context, Failure, passphrase};

/// Print this node's id, creating the identity on first use.
#[derive(clap::Args)]
pub(crate) struct IdArgs {
    /// Print the 10-character short form instead.
    #[arg(long)]
    pub(crate) short: bool,
}

/// Print the identity as a key file for backup (encrypted if a passphrase is given).
#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    /// Name of an environment variable holding the passphrase to encrypt with.
    #[arg(long, value_name = "VAR")]
    pub(crate) passphrase_env: Option<String>,
}

/// Install an exported key file as this node's identity (refuses to replace an existing one).
#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// The exported key file.
    pub(crate) file: PathBuf,
    /// Name of an environment variable holding the passphrase, for an encrypted file.
    #[arg(long, value_name = "VAR")]
    pub(crate) passphrase_env: Option<String>,
}

pub(crate) fn id(cx: &Context, IdArgs { short }: IdArgs) -> Result<(), Failure> {
    let (key, origin) = load_or_create(&cx.key_file)?;
    if origin == Origin::Created {
        eprintln!("created a new identity in {}", cx.key_file.display());
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
    Ok(())
}

pub(crate) fn export(
    cx: &Context,
    ExportArgs { passphrase_env }: ExportArgs,
) -> Result<(), Failure> {
    let key = load(&cx.key_file, None)?;
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
    Ok(())
}

pub(crate) fn import(cx: &Context, args: ImportArgs) -> Result<(), Failure> {
    let ImportArgs {
        file,
        passphrase_env,
    } = args;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Failure(format!("EN-130: {}: {e}", file.display())))?;
    let key = keyfile::import(&text, passphrase(passphrase_env.as_deref())?.as_deref())?;
    // Stored unencrypted, like a freshly created identity, so the node can start unattended.
    save(&cx.key_file, &keyfile::export_plain(&key))?;
    println!("{}", key.node_id());
    Ok(())
}
