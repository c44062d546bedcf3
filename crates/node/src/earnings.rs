//! `edgenet-node earnings`: this node's credits as the relay's ledger replica evaluates them
//! (`GET /api/ledger/{id}`, the same ledger the widget and the HTTP API read).

use edgenet_core::NodeId;
use edgenet_core::ledger::AccountState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::NodeError;
use crate::transport;

/// Fetches `id`'s figures from the relay (its HTTP API on the WebSocket URL's host and port,
/// over TLS for a `wss://` relay).
pub async fn fetch(relay_ws: &str, id: &NodeId) -> Result<AccountState, NodeError> {
    let (tls, host, port) = transport::endpoint_of(relay_ws)?;
    let connect = |reason: String| NodeError::Connect {
        url: relay_ws.to_owned(),
        reason,
    };
    let mut stream = transport::open(&host, port, tls).await?;
    let request = format!(
        "GET /api/ledger/{id} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| connect(e.to_string()))?;
    let mut response = Vec::new();
    // An account's JSON is a few hundred bytes; cap what a confused server can make us hold.
    stream
        .take(1 << 20)
        .read_to_end(&mut response)
        .await
        // A TLS server that closes without its close_notify has still sent the whole answer
        // (it says `Connection: close`); what arrived is judged below.
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() {
                Ok(0)
            } else {
                Err(NodeError::ConnectionLost(e.to_string()))
            }
        })?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| NodeError::BadAnswer("no HTTP response".into()))?;
    if !head.starts_with("HTTP/1.1 200") {
        let status = head.lines().next().unwrap_or_default().to_owned();
        return Err(NodeError::BadAnswer(format!("{status}: {body}")));
    }
    serde_json::from_str(body).map_err(|e| NodeError::BadAnswer(e.to_string()))
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
