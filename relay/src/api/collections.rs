//! `GET /api/collections/{id}`: where a collection's shards live and how they are: placement,
//! sizes, replica health. Never a vector (the relay holds none).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use edgenet_core::ErrorCode;
use edgenet_core::collection::CollectionId;
use edgenet_proto::hub::CollectionView;

use super::ledger::ApiError;
use crate::AppState;

#[utoipa::path(
    get,
    path = "/api/collections/{id}",
    tag = "relay",
    params(("id" = String, Path, description = "The collection's id (32 hex characters)")),
    responses(
        (status = OK, description = "The collection's placement, sizes and replica health", body = CollectionView),
        (status = BAD_REQUEST, description = "Not a collection id (EN-190)", body = ApiError),
        (status = NOT_FOUND, description = "No collection with this id here (EN-230)", body = ApiError),
    )
)]
pub(crate) async fn collection(
    State(state): State<AppState>,
    Path(text): Path<String>,
) -> Result<impl IntoResponse, (StatusCode, Json<ApiError>)> {
    let id: CollectionId =
        text.parse()
            .map_err(|e: edgenet_core::collection::CollectionError| {
                (
                    StatusCode::BAD_REQUEST,
                    Json(ApiError {
                        code: e.code(),
                        message: e.to_string(),
                    }),
                )
            })?;
    let view = state.driver.with_hub(|hub, _| hub.collection_view(&id));
    match view {
        Some(view) => Ok(([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(view))),
        None => {
            let e = edgenet_proto::error::CollectionRefusal::Unknown(id.to_string());
            Err((
                StatusCode::NOT_FOUND,
                Json(ApiError {
                    code: e.code(),
                    message: e.to_string(),
                }),
            ))
        }
    }
}
