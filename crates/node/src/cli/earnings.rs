//! `status` and `earnings`: what the node running with this key file is doing, and what it has.

use edgenet_keystore::load_or_create;
use edgenet_node::status;

use super::{Context, Failure, runtime, status_file};

/// Show this node's credits: balance, stake, escrow, all-time earned and spent, reputation.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Relay WebSocket URL (its HTTP API answers on the same address).
    #[arg(long, env = "EDGENET_RELAY", default_value = "ws://127.0.0.1:8080/ws")]
    pub(crate) relay: String,
    /// Print JSON (micro-credits) instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `status`: the connection state of the node running with this key file.
pub(crate) fn status(cx: &Context) -> Result<(), Failure> {
    let path = status_file(&cx.key_file);
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
    Ok(())
}

pub(crate) fn execute(cx: &Context, args: Args) -> Result<(), Failure> {
    let Args { relay, json } = args;
    let (key, _) = load_or_create(&cx.key_file)?;
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
    Ok(())
}
