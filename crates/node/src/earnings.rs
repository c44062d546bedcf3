//! `edgenet-node earnings`: this node's credits as the relay's ledger replica evaluates them
//! (`GET /api/ledger/{id}`, the same ledger the widget and the HTTP API read).

use edgenet_core::NodeId;
use edgenet_core::ledger::AccountState;

use crate::error::NodeError;
use crate::http::get_json;

/// Fetches `id`'s figures from the relay (its HTTP API on the WebSocket URL's host and port,
/// over TLS for a `wss://` relay), with hyper's HTTP/1.1 client on the node's own socket.
pub async fn fetch(relay_ws: &str, id: &NodeId) -> Result<AccountState, NodeError> {
    get_json(relay_ws, &format!("/api/ledger/{id}")).await
}

/// Micro-credits as credits with six decimals.
pub fn credits(micro: u64) -> String {
    format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

/// Credits as written by a person ("2", "0.25", "1.000001") to micro-credits.
pub fn parse_credits(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not an amount of credits (up to 6 decimals)");
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    if frac.len() > 6 || (whole.is_empty() && frac.is_empty()) {
        return Err(bad());
    }
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: u64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

/// The text `earnings` prints.
pub fn render(id: &NodeId, a: &AccountState) -> String {
    let reputation = a.reputation.map_or_else(
        || "not rated yet".to_owned(),
        |r| format!("{}.{:02} %", r / 100, r % 100),
    );
    format!(
        "account:    {id}\n\
         balance:    {} credits\n\
         staked:     {} credits\n\
         escrowed:   {} credits\n\
         earned:     {} credits (all time)\n\
         spent:      {} credits (all time)\n\
         reputation: {reputation}\n\
         frozen:     {}\n\
         entries:    {}",
        credits(a.balance),
        credits(a.stake),
        credits(a.escrowed),
        credits(a.earned),
        credits(a.spent),
        if a.frozen { "YES (equivocation)" } else { "no" },
        a.chain_len,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_have_six_decimals() {
        assert_eq!(credits(0), "0.000000");
        assert_eq!(credits(1_500_000), "1.500000");
        assert_eq!(credits(u64::MAX), "18446744073709.551615");
    }

    #[test]
    fn credits_parse_to_micro_credits() {
        assert_eq!(parse_credits("2"), Ok(2_000_000));
        assert_eq!(parse_credits("0.25"), Ok(250_000));
        assert_eq!(parse_credits(".5"), Ok(500_000));
        assert_eq!(parse_credits("1.000001"), Ok(1_000_001));
        for bad in ["", ".", "1.0000001", "-1", "1e3", "x", "99999999999999999"] {
            assert!(parse_credits(bad).is_err(), "{bad}");
        }
    }
}
