//! `edgenet-relay` as a library: the axum application, so tests and a future embedding can mount it.
//!
//! The relay holds no protocol logic: it serves the demo site (`www/`) and the browser package
//! (`pkg/`), answers the JSON HTTP API, and (relay issue) wraps WebSocket connections into
//! `edgenet-proto` sessions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use edgenet_core::NodeId;
use serde::Serialize;
use tower_http::services::ServeDir;

/// What the application needs to serve.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The relay's identity.
    pub node_id: NodeId,
    /// Folder with the demo site.
    pub www: PathBuf,
    /// Folder with the browser package.
    pub pkg: PathBuf,
}

struct AppState {
    node_id: NodeId,
    started: Instant,
}

/// `GET /api/status`.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Always `"edgenet-relay"`.
    pub service: &'static str,
    /// The relay's crate version.
    pub version: &'static str,
    /// The wire protocol version it speaks.
    pub protocol_version: u8,
    /// The relay's NodeId.
    pub node_id: String,
    /// Seconds since start.
    pub uptime_s: u64,
}

/// Builds the router.
pub fn app(config: AppConfig) -> Router {
    let state = Arc::new(AppState {
        node_id: config.node_id,
        started: Instant::now(),
    });
    Router::new()
        .route("/api/status", get(status))
        .nest_service("/pkg", ServeDir::new(config.pkg))
        .fallback_service(ServeDir::new(config.www))
        .with_state(state)
}

async fn status(State(state): State<Arc<AppState>>) -> Json<Status> {
    Json(Status {
        service: "edgenet-relay",
        version: env!("CARGO_PKG_VERSION"),
        protocol_version: edgenet_proto::PROTOCOL_VERSION,
        node_id: state.node_id.to_string(),
        uptime_s: state.started.elapsed().as_secs(),
    })
}
