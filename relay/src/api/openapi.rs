//! The route table: the relay's OpenAPI 3.1 document (`GET /api/openapi.json`), made from the handlers'
//! `#[utoipa::path]` attributes at the moment they are routed: [`routes`] is the router and its
//! description at once, so a route cannot be served without being described. The schemas come
//! from the response types (core's and proto's behind their `openapi` feature).

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "EdgeNet relay",
        description = "A relay's public, read-only HTTP API, its dashboard stream and the node protocol's WebSocket. Amounts are integer micro-credits; errors are {code, message} with the EN codes of docs/errors.md."
    ),
    tags(
        (name = "relay", description = "The relay, its peers and tasks"),
        (name = "ledger", description = "Credits as the relay's ledger replica evaluates them"),
        (name = "operators", description = "Health, metrics and the live event stream"),
        (name = "nodes", description = "What nodes and browser Workers connect to"),
        (name = "cluster", description = "The relays of this cluster and the ledger they share"),
    )
)]
struct ApiDoc;

/// Every route of the relay's API with its description (`lib.rs` adds the site, `/pkg` and the
/// document itself).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(crate::api::relay::status))
        .routes(routes!(crate::api::relay::peers))
        .routes(routes!(crate::api::relay::tasks))
        .routes(routes!(crate::api::relay::rewards))
        .routes(routes!(crate::api::ledger::account))
        .routes(routes!(crate::api::collections::collection))
        .routes(routes!(crate::api::leaderboard::leaderboard))
        .routes(routes!(crate::metrics::metrics))
        .routes(routes!(crate::metrics::healthz))
        .routes(routes!(crate::metrics::readyz))
        .routes(routes!(crate::events::upgrade))
        .routes(routes!(crate::ws::upgrade))
        .routes(routes!(crate::models::serve))
        .routes(routes!(crate::cluster::api::relays))
        .routes(routes!(crate::cluster::api::status))
        .routes(routes!(crate::api::relay::federation_status))
}
