//! `edgenet-relay` as a library: the axum application, so tests and embedders can mount it.
//!
//! The relay holds no protocol logic. It serves the demo site (`www/`) and the browser package
//! (`pkg/`), answers the JSON HTTP API, and wraps each WebSocket on `/ws` into the protocol's
//! [`Hub`](edgenet_proto::hub::Hub) through [`hub_driver::HubDriver`].

pub mod api;
pub mod assets;
pub mod byte_range;
pub mod client_ip;
pub mod cluster;
pub mod events;
pub mod federation;
pub mod hub_driver;
mod metrics;
pub mod models;
pub mod nats;
pub mod serve;
pub mod store;
mod ws;

use std::path::PathBuf;
use std::time::Duration;

use axum::http::Method;
use axum::routing::get;
use axum::{Json, Router};
use edgenet_core::{NodeId, SecretKey};
use edgenet_proto::hub::{Hub, HubConfig, Input};
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;

pub use api::relay::Status;
pub use client_ip::{Cidr, TrustedProxies};
pub use hub_driver::{HubDriver, SocketLimits};

/// What the application needs.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Folder with the demo site; `None` serves the copy built into the relay.
    pub www: Option<PathBuf>,
    /// Folder with the browser package; `None` serves the copy built into the relay.
    pub pkg: Option<PathBuf>,
    /// Protocol limits and timers.
    pub hub: HubConfig,
    /// Socket-level limits.
    pub sockets: SocketLimits,
    /// The ledger's database file; `None` keeps the ledger in memory only.
    pub ledger_store: Option<PathBuf>,
    /// Reverse proxies whose forwarding headers count for the per-IP limits.
    pub trusted_proxies: TrustedProxies,
    /// The embedding model's directory, served to browser Workers under `/models/minilm/`.
    pub model_dir: Option<PathBuf>,
    /// The validator set when this relay is one of several (`None`: the relay alone, 1 of 1).
    pub validators: Option<edgenet_core::ledger::LedgerConfig>,
    /// Membership of a cluster over NATS (`None`: a relay on its own). Needs `ledger_store`.
    pub cluster: Option<cluster::ClusterConfig>,
    /// Anonymized statistics shared with other operators' relays (`None`: federation off).
    pub federation: Option<federation::FederationConfig>,
}

#[derive(Clone)]
pub(crate) struct AppState {
    node_id: NodeId,
    pub(crate) driver: HubDriver,
    pub(crate) proxies: std::sync::Arc<TrustedProxies>,
    /// The ledger store's commit times, when there is a store.
    pub(crate) commits: Option<store::CommitTimes>,
    /// The contributors' ranking, shared for a few seconds.
    pub(crate) leaderboard: api::leaderboard::Cache,
    /// The embedding model's files (`/models/…`).
    pub(crate) models: models::Models,
    /// This relay's cluster membership, when it has one.
    pub(crate) cluster: Option<cluster::Cluster>,
    /// The ledger store, when there is one (the cluster status reads its outbox).
    pub(crate) store: Option<store::LedgerStore>,
    /// Federation across operators (off unless configured).
    pub(crate) federation: federation::Federation,
}

impl axum::extract::FromRef<AppState> for models::Models {
    fn from_ref(state: &AppState) -> Self {
        state.models.clone()
    }
}

/// Builds the router and starts the hub's timer task (on the current tokio runtime), and the
/// cluster membership when configured. Fails when the ledger store cannot be opened or read, and
/// when the validator set leaves this relay out.
pub fn app(key: SecretKey, config: AppConfig) -> Result<Router, String> {
    let node_id = key.node_id();
    let mut hub_config = config.hub;
    if config.cluster.is_some() {
        // Tasks outlive this relay through the cluster's task records (`hub/cluster/records.rs`).
        hub_config.task_records = true;
        hub_config.epoch_unix_ms = cluster::directory::unix_ms();
    }
    let mut hub = Hub::new(key, hub_config);
    if let Some(validators) = config.validators {
        hub = hub.with_validators(validators)?;
    }
    let mut seed = [0u8; 32];
    rand_core::Rng::fill_bytes(&mut edgenet_core::rng::os_rng(), &mut seed);
    hub.seed_randomness(seed);
    let mut commits = None;
    let mut opened = None;
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    if let Some(path) = &config.ledger_store {
        let mut store = store::LedgerStore::open(path)?;
        if config.cluster.is_some() {
            store = store.with_outbox(wake.clone());
        }
        commits = Some(store.commit_times());
        let entries = store.load()?;
        let replicated = store.replicated()?;
        let count = entries.len();
        hub = hub
            .with_cluster_store(Box::new(store.clone()), entries, &replicated)
            .map_err(|e| format!("{}: damaged ledger store: {e}", path.display()))?;
        let _ = hub.handle(0, Input::AwaitingAttestation(store.awaiting()?));
        tracing::info!(entries = count, path = %path.display(), "ledger loaded");
        opened = Some(store);
    }
    let driver = HubDriver::new(hub, config.sockets);
    let cluster = match (config.cluster, &opened) {
        (Some(cluster), Some(store)) => Some(cluster::Cluster::start(
            cluster,
            driver.clone(),
            store.clone(),
            wake,
        )),
        (Some(_), None) => return Err("a cluster member needs a ledger store".into()),
        (None, _) => None,
    };
    let timers = driver.clone();
    tokio::spawn(async move {
        loop {
            let wait: Duration = timers.tick();
            tokio::time::sleep(wait).await;
        }
    });
    // Every route is registered with its OpenAPI description (`openapi.rs`), so the document at
    // /api/openapi.json cannot leave one out.
    let (api_routes, api) = api::openapi::routes().split_for_parts();
    let api = std::sync::Arc::new(api);
    let mut router = api_routes.route(
        "/api/openapi.json",
        get(move || {
            let api = api.clone();
            async move { Json(api.as_ref().clone()) }
        }),
    );
    router = match config.pkg {
        Some(dir) => router.nest_service("/pkg", ServeDir::new(dir)),
        None => router
            .route("/pkg", get(embedded_pkg))
            .route("/pkg/", get(embedded_pkg))
            .route("/pkg/{*path}", get(embedded_pkg)),
    };
    router = match config.www {
        Some(dir) => router.fallback_service(ServeDir::new(dir)),
        None => router.fallback(embedded_www),
    };
    let state = AppState {
        node_id,
        proxies: std::sync::Arc::new(config.trusted_proxies),
        commits,
        leaderboard: api::leaderboard::Cache::default(),
        models: models::Models::new(config.model_dir),
        federation: match config.federation {
            Some(f) => federation::Federation::start(f, driver.clone()),
            None => federation::Federation::disabled(),
        },
        driver,
        cluster,
        store: opened,
    };
    tokio::spawn(events::stats_ticker(state.clone()));
    Ok(router
        .layer(axum::middleware::from_fn(guard))
        // Other sites embed the package and read the API: public, read-only, no credentials.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD]),
        )
        .with_state(state))
}

async fn embedded_www(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    embedded::<assets::Www>("www", uri.path(), &headers).await
}

async fn embedded_pkg(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let path = uri.path().strip_prefix("/pkg").unwrap_or_default();
    embedded::<assets::Pkg>("pkg", path, &headers).await
}

async fn embedded<E: rust_embed::RustEmbed + 'static>(
    scope: &'static str,
    path: &str,
    headers: &axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (path, headers) = (percent_decoded(path), headers.clone());
    // A file's first compressed variant takes a while (the wasm: most of a second): off the
    // runtime's threads.
    let answer =
        tokio::task::spawn_blocking(move || assets::respond::<E>(scope, &path, &headers)).await;
    answer
        .ok()
        .flatten()
        .unwrap_or_else(|| axum::http::StatusCode::NOT_FOUND.into_response())
}

/// `%XX` escapes decoded (bytes that do not form UTF-8 are replaced); anything else kept.
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every response: no file whose path has a dot-segment (`.gitignore`, `.env`: never part of the
/// site), and headers that keep browsers from guessing content types or leaking the page's URL.
async fn guard(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    // Decoded as the file service decodes it (`%2e` is a dot), then split on both separators.
    let path = percent_decoded(request.uri().path());
    let hidden = path
        .split(['/', '\\'])
        .any(|segment| segment.starts_with('.'));
    let mut response = if hidden {
        StatusCode::NOT_FOUND.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
