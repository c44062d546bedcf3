//! `GET /api/ledger/{account}`: one account as the relay's ledger replica evaluates it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use edgenet_core::ledger::Account;
use edgenet_core::{ErrorCode, NodeId};
use serde::Serialize;

use crate::AppState;

/// One account's figures; amounts are integer micro-credits (1 credit = 1,000,000).
#[derive(Debug, Serialize)]
pub struct AccountView {
    /// The account's NodeId.
    pub account: String,
    /// Spendable.
    pub balance: u64,
    /// Staked.
    pub stake: u64,
    /// Locked in open escrows of its tasks.
    pub escrowed: u64,
    /// Received for work and from mints, ever.
    pub earned: u64,
    /// Paid to workers from its escrows, ever.
    pub spent: u64,
    /// Basis points (0..=10,000), if a validator has set it.
    pub reputation: Option<u16>,
    /// It equivocated.
    pub frozen: bool,
    /// Entries in its chain that the relay holds linked.
    pub chain_len: u64,
}

/// An error body: the stable code and a message.
#[derive(Debug, Serialize)]
pub struct ApiError {
    /// `EN-nnn`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

pub(crate) async fn account(
    State(state): State<AppState>,
    Path(text): Path<String>,
) -> Result<Json<AccountView>, (StatusCode, Json<ApiError>)> {
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
    let a = state
        .driver
        .with_hub_mut(|hub, _| hub.ledger().account(&account));
    Ok(Json(AccountView {
        account: id.to_string(),
        balance: a.balance,
        stake: a.stake,
        escrowed: a.escrowed,
        earned: a.earned,
        spent: a.spent,
        reputation: a.reputation,
        frozen: a.frozen,
        chain_len: a.chain_len,
    }))
}
