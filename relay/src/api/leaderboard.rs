//! `GET /api/leaderboard`: contributors ranked by credits earned, and the rank one account has
//! (which `/api/ledger/{account}` includes). A ranking sorts every account, so it is computed at
//! most once per [`REFRESH`] and shared by every request until then: a flood of requests costs
//! one sort per period, not one each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use edgenet_core::ledger::Account;
use serde::{Deserialize, Serialize};

use crate::AppState;

/// How long one ranking serves requests.
pub const REFRESH: Duration = Duration::from_secs(5);
/// Entries one request may ask for (`?limit=`), and what it gets without asking.
pub const MAX_LIMIT: usize = 100;
const DEFAULT_LIMIT: usize = 20;

/// Every contributor (an account that earned anything), best first.
#[derive(Debug, Default)]
pub struct Ranking {
    order: Vec<(Account, u64)>,
    rank_of: HashMap<Account, usize>,
}

impl Ranking {
    /// Ranks `(account, earned)` pairs: most earned first, ties in account order (so every
    /// replica ranks alike); accounts that earned nothing are not contributors.
    pub fn new(accounts: impl IntoIterator<Item = (Account, u64)>) -> Self {
        let mut order: Vec<(Account, u64)> = accounts.into_iter().filter(|(_, e)| *e > 0).collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let rank_of = order
            .iter()
            .enumerate()
            .map(|(i, (a, _))| (*a, i + 1))
            .collect();
        Self { order, rank_of }
    }

    /// 1 for the best; `None` for an account that has earned nothing.
    pub fn rank(&self, account: &Account) -> Option<usize> {
        self.rank_of.get(account).copied()
    }

    /// How many accounts have earned anything.
    pub fn contributors(&self) -> usize {
        self.order.len()
    }

    /// The best `limit` (a request's `?limit=`, at most [`MAX_LIMIT`]; default 20).
    pub fn top(&self, limit: Option<usize>) -> Vec<Place> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
        self.order
            .iter()
            .take(limit)
            .enumerate()
            .map(|(i, (account, earned))| Place {
                rank: i + 1,
                account: account.to_string(),
                earned: *earned,
            })
            .collect()
    }
}

/// A ranking and when it was made.
type Made = (Instant, Arc<Ranking>);

/// The shared ranking.
#[derive(Debug, Default, Clone)]
pub struct Cache(Arc<Mutex<Option<Made>>>);

impl Cache {
    /// The current ranking, made again when older than [`REFRESH`].
    pub(crate) fn get(&self, state: &AppState) -> Arc<Ranking> {
        let mut cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((made, ranking)) = cached.as_ref()
            && made.elapsed() < REFRESH
        {
            return ranking.clone();
        }
        let ranking = Arc::new(state.driver.with_hub_mut(|hub, _| {
            Ranking::new(hub.ledger().state().accounts().map(|(a, s)| (*a, s.earned)))
        }));
        *cached = Some((Instant::now(), ranking.clone()));
        ranking
    }
}

/// `?limit=N`.
#[derive(Debug, Deserialize)]
pub(crate) struct Params {
    limit: Option<usize>,
}

/// One place on the board.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Place {
    /// 1 for the best.
    pub rank: usize,
    /// The contributor's NodeId.
    pub account: String,
    /// Micro-credits earned, ever.
    pub earned: u64,
}

/// `GET /api/leaderboard`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Board {
    /// Accounts that have earned anything.
    pub contributors: usize,
    /// The best `limit` (at most 100) of them.
    pub top: Vec<Place>,
    /// Seconds between recomputations of the ranking.
    pub refreshed_every_s: u64,
}

#[utoipa::path(
    get,
    path = "/api/leaderboard",
    tag = "ledger",
    params(("limit" = Option<usize>, Query, description = "Places to list, 1-100 (default 20)")),
    responses((status = OK, description = "Contributors by credits earned", body = Board))
)]
pub(crate) async fn leaderboard(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> impl IntoResponse {
    let ranking = state.leaderboard.get(&state);
    let top = ranking.top(params.limit);
    (
        [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(Board {
            contributors: ranking.contributors(),
            top,
            refreshed_every_s: REFRESH.as_secs(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_earned_first_ties_by_account_and_idle_accounts_unranked() {
        let a = |b: u8| Account([b; 32]);
        let r = Ranking::new([(a(3), 10), (a(1), 50), (a(2), 10), (a(4), 0)]);
        assert_eq!(r.contributors(), 3);
        assert_eq!(r.rank(&a(1)), Some(1));
        assert_eq!(r.rank(&a(2)), Some(2), "a tie goes to the lower account");
        assert_eq!(r.rank(&a(3)), Some(3));
        assert_eq!(r.rank(&a(4)), None, "earned nothing: not a contributor");
    }

    #[test]
    fn a_request_gets_at_most_a_hundred_places() {
        let many = Ranking::new((0..150u8).map(|b| (Account([b; 32]), 1 + u64::from(b))));
        assert_eq!(many.contributors(), 150);
        assert_eq!(many.top(Some(1000)).len(), MAX_LIMIT);
        assert_eq!(many.top(None).len(), DEFAULT_LIMIT);
        let top = many.top(Some(3));
        assert_eq!((top[0].rank, top[0].earned), (1, 150));
        assert_eq!((top[2].rank, top[2].earned), (3, 148));
    }
}
