//! What a relay pays its workers, as `GET /api/rewards` shows it: written by the hub, read by a
//! node's `check` to estimate its earnings. A shape of the HTTP API both sides share, apart from
//! the hub's own state.

use serde::Serialize;

/// What a worker earns on this relay, for `/api/rewards`. Micro-credits.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rewards {
    /// Online time in one connection that earns the uptime bonus (0: none is paid).
    pub uptime_period_s: u64,
    /// The bonus per period, before the multiplier.
    pub uptime_bonus: u64,
    /// The bonus per hour online, before the multiplier.
    pub uptime_per_hour: u64,
    /// The early-adopter multiplier on mints and payments now (1,000,000 = 1×).
    pub multiplier_ppm: u64,
    /// Paid once for passing the known-answer canary a new identity gets.
    pub canary_reward: u64,
    /// Whether tasks that offer no credits are refused.
    pub paid_only: bool,
    /// Proven worker online time, network-wide, since the ledger began.
    pub worker_hours: f64,
    /// Paid from escrows to verified workers since this relay started.
    pub micro_credits_paid: u64,
    /// What task payments came to per proven worker-hour (a rough rate: payments since start
    /// over all proven time).
    pub task_pay_per_worker_hour: u64,
}
