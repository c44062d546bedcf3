//! `GET /api/ledger/{account}`: one account as the relay's ledger replica evaluates it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use edgenet_core::ledger::{Account, AccountState};
use edgenet_core::{ErrorCode, NodeId};
use serde::Serialize;

use crate::AppState;

/// One account as the relay's replica evaluates it; amounts are integer micro-credits.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// The account's NodeId.
    pub account: String,
    /// Its place by credits earned (1 is the best; `null` before it has earned anything), from
    /// the ranking `/api/leaderboard` shows (recomputed every few seconds).
    pub rank: Option<usize>,
    /// How many accounts have earned anything.
    pub contributors: usize,
    /// The early-adopter multiplier on payments now, parts per million (1,000,000 is 1×).
    pub multiplier_ppm: u64,
    /// Its figures.
    #[serde(flatten)]
    pub figures: AccountState,
}

/// An error body: the stable code and a message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// `EN-nnn`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

/// Public figures, read by pages on other origins (a site's script tag talks to its relay).
const ANYONE: [(header::HeaderName, &str); 1] = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];

#[utoipa::path(
    get,
    path = "/api/ledger/{account}",
    tag = "ledger",
    params(("account" = String, Path, description = "The account's NodeId (52 characters)")),
    responses(
        (status = OK, description = "The account's figures, rank and the multiplier now", body = AccountView),
        (status = BAD_REQUEST, description = "Not a NodeId (EN-101, EN-102)", body = ApiError),
    )
)]
pub(crate) async fn account(
    State(state): State<AppState>,
    Path(text): Path<String>,
) -> Result<impl IntoResponse, (StatusCode, Json<ApiError>)> {
    let id: NodeId = text.parse().map_err(|e: edgenet_core::IdentityError| {
        (
            StatusCode::BAD_REQUEST,
            Json(ApiError {
                code: e.code(),
                message: e.to_string(),
            }),
        )
    })?;
    let account = Account::of(&id);
    let (a, multiplier_ppm) = state
        .driver
        .with_hub_mut(|hub, _| (hub.ledger().account(&account), hub.multiplier_ppm()));
    let ranking = state.leaderboard.get(&state);
    Ok((
        ANYONE,
        Json(AccountView {
            account: id.to_string(),
            rank: ranking.rank(&account),
            contributors: ranking.contributors(),
            multiplier_ppm,
            figures: a,
        }),
    ))
}
