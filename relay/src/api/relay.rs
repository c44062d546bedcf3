//! The relay's own views: `/api/status`, `/api/peers`, `/api/tasks`, `/api/rewards` and
//! `/api/federation/status`, each read from the hub (or the federation link) as it stands.

use axum::Json;
use axum::extract::State;
use edgenet_proto::hub::{HubStats, PeerSummary, TaskSummary};
use serde::Serialize;

use crate::{AppState, federation};

/// `GET /api/status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
    /// Hub counters.
    pub stats: HubStats,
}

#[utoipa::path(get, path = "/api/status", tag = "relay", responses((status = OK, description = "The relay and its hub counters", body = Status)))]
pub(crate) async fn status(State(state): State<AppState>) -> Json<Status> {
    let (stats, now) = state.driver.with_hub(|hub, now| (hub.stats(), now));
    Json(Status {
        service: "edgenet-relay",
        version: env!("CARGO_PKG_VERSION"),
        protocol_version: edgenet_proto::PROTOCOL_VERSION,
        node_id: state.node_id.to_string(),
        uptime_s: now / 1000,
        stats,
    })
}

#[utoipa::path(get, path = "/api/peers", tag = "relay", responses((status = OK, description = "The authenticated peers", body = [PeerSummary])))]
pub(crate) async fn peers(State(state): State<AppState>) -> Json<Vec<PeerSummary>> {
    Json(state.driver.with_hub(|hub, now| hub.peers(now)))
}

#[utoipa::path(get, path = "/api/rewards", tag = "ledger", responses((status = OK, description = "What a worker earns here (micro-credits)", body = edgenet_proto::hub::Rewards)))]
pub(crate) async fn rewards(State(state): State<AppState>) -> Json<edgenet_proto::hub::Rewards> {
    Json(state.driver.with_hub(|hub, _| hub.rewards()))
}

#[utoipa::path(get, path = "/api/tasks", tag = "relay", responses((status = OK, description = "Open and recent tasks", body = [TaskSummary])))]
pub(crate) async fn tasks(State(state): State<AppState>) -> Json<Vec<TaskSummary>> {
    Json(state.driver.with_hub(|hub, now| hub.tasks(now)))
}

#[utoipa::path(get, path = "/api/federation/status", tag = "cluster", responses((status = OK, description = "Federation across operators: its mode, link, members and the aggregates they share", body = federation::FederationStatus)))]
pub(crate) async fn federation_status(
    State(state): State<AppState>,
) -> Json<federation::FederationStatus> {
    let own = state.federation.own_stats(&state.driver);
    Json(state.federation.status(own))
}
