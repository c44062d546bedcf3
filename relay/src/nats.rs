//! The relay's NATS client, one way for the cluster (`cluster/`) and federation
//! (`federation.rs`): servers from a comma-separated list, connecting in the background and
//! reconnecting for ever, the link's state reported as it changes.

use std::sync::Arc;

use async_nats::{Client, ConnectOptions, Event, ServerAddr};

/// NATS server URLs, comma-separated, as the client takes them; an error names the bad one.
pub fn servers(urls: &str) -> Result<Vec<ServerAddr>, String> {
    let servers: Vec<ServerAddr> = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| u.parse().map_err(|e| format!("{u}: {e}")))
        .collect::<Result<_, _>>()?;
    if servers.is_empty() {
        return Err("no NATS server URL".into());
    }
    Ok(servers)
}

/// A client named `name` for `urls`. It returns at once and connects in the background (a
/// server that is down is retried for ever); `link` hears `true` on every (re)connection and
/// `false` on every loss.
pub async fn connect(
    name: &str,
    urls: &str,
    link: impl Fn(bool) + Send + Sync + 'static,
) -> Result<Client, String> {
    let link = Arc::new(link);
    ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(move |event| {
            let link = link.clone();
            async move {
                match event {
                    Event::Connected => link(true),
                    Event::Disconnected => link(false),
                    _ => {}
                }
            }
        })
        .connect(servers(urls)?)
        .await
        .map_err(|e| format!("{urls}: {e}"))
}
