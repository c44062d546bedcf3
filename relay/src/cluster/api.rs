//! `GET /api/relays` (what clients rotate through) and `GET /api/cluster` (what operators read).

use axum::Json;
use axum::extract::State;

use super::{ClusterStatus, RelayEntry, directory};
use crate::AppState;

/// The cluster's relays from the directory, this one included; a relay on its own lists itself.
#[utoipa::path(get, path = "/api/relays", tag = "cluster", responses((status = OK, description = "The relays a client may connect to", body = [RelayEntry])))]
pub(crate) async fn relays(State(state): State<AppState>) -> Json<Vec<RelayEntry>> {
    let listed = state.cluster.as_ref().map(super::Cluster::relays);
    match listed.filter(|l| !l.is_empty()) {
        Some(relays) => Json(relays),
        // Alone (or before the first read of the directory): itself, at the address it was
        // asked on is not known here, so the URL is left for the client to keep.
        None => Json(vec![directory::own_entry(&state.driver, "")]),
    }
}

/// This relay's part in its cluster.
#[utoipa::path(get, path = "/api/cluster", tag = "cluster", responses((status = OK, description = "Whether this relay is in a cluster, its NATS link and the ledger log's progress", body = ClusterStatus)))]
pub(crate) async fn status(State(state): State<AppState>) -> Json<ClusterStatus> {
    let outbox = state
        .store
        .as_ref()
        .and_then(|s| s.outbox_len().ok())
        .unwrap_or(0);
    match &state.cluster {
        Some(cluster) => Json(cluster.status(outbox)),
        None => Json(ClusterStatus {
            enabled: false,
            connected: false,
            node_id: state.node_id.to_string(),
            replicas: 0,
            published: 0,
            outbox,
            merged: 0,
            refused: 0,
            position: 0,
            relays: 1,
            last_error: None,
            borrowed_workers: 0,
            lent_routes: 0,
            forwarded_out: 0,
            forwarded_in: 0,
            forward_refused: 0,
            forward_dropped: 0,
            threshold: 1,
            attestations: super::AttestationStatus::default(),
            task_records: super::TaskRecordStatus::default(),
        }),
    }
}
