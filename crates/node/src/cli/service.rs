//! `install-service`: a systemd unit that runs this node.

use super::Failure;

/// Write a systemd unit that runs `run --relay URL` with the flags after `--`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The relay to join.
    #[arg(long, env = "EDGENET_RELAY")]
    pub(crate) relay: String,
    #[command(flatten)]
    pub(crate) install: edgenet_ops::service::InstallArgs,
    /// More `run` flags for the unit's command line, e.g. `-- --model-dir /opt/minilm`.
    #[arg(last = true)]
    pub(crate) flags: Vec<String>,
}

pub(crate) fn execute(args: Args) -> Result<(), Failure> {
    let Args {
        relay,
        install,
        flags,
    } = args;
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
    Ok(())
}
