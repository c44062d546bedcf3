//! The relays a node rotates through: the ones given with `--relay`, then those it learns from a
//! cluster's directory (`GET /api/relays` on the relay it joined). When a connection fails or is
//! lost the node tries the next one, so the workers of a relay that dies move to the others.

use serde::Deserialize;

/// Most relays a node keeps: what it was given and what it learned.
pub const MAX_RELAYS: usize = 16;

/// One relay as `GET /api/relays` lists it (only what a node reads of it).
#[derive(Debug, Clone, Deserialize)]
pub struct Listed {
    /// Its WebSocket URL ("" from a relay that is not in a cluster).
    pub url: String,
}

/// The rotation: URLs in order, and the one to try next.
#[derive(Debug, Clone)]
pub struct Relays {
    urls: Vec<String>,
    current: usize,
}

impl Relays {
    /// The relays given on the command line, in order (at least one).
    pub fn new(given: Vec<String>) -> Self {
        let mut relays = Self {
            urls: Vec::new(),
            current: 0,
        };
        relays.add(given);
        relays
    }

    /// The relay to connect to now.
    pub fn current(&self) -> &str {
        self.urls
            .get(self.current % self.urls.len().max(1))
            .map_or("", String::as_str)
    }

    /// The next relay in turn (after a failure).
    pub fn rotate(&mut self) {
        self.current = (self.current + 1) % self.urls.len().max(1);
    }

    /// All of them, in order.
    pub fn all(&self) -> &[String] {
        &self.urls
    }

    /// Adds the URLs that are new, are `ws://` or `wss://`, while there is room.
    pub fn add(&mut self, urls: impl IntoIterator<Item = String>) {
        for url in urls {
            let url = url.trim().to_owned();
            let websocket = url.starts_with("ws://") || url.starts_with("wss://");
            if websocket && !self.urls.contains(&url) && self.urls.len() < MAX_RELAYS {
                self.urls.push(url);
            }
        }
    }

    /// Learns a cluster's relays from the directory of the relay at `url`.
    pub async fn fetch(url: &str) -> Result<Vec<String>, crate::error::NodeError> {
        let listed: Vec<Listed> = crate::http::get_json(url, "/api/relays").await?;
        Ok(listed.into_iter().map(|l| l.url).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_through_given_then_learned_relays_without_repeats() {
        let mut r = Relays::new(vec!["ws://a/ws".into(), "ws://b/ws".into()]);
        assert_eq!(r.current(), "ws://a/ws");
        r.add(vec![
            "ws://b/ws".into(),
            "".into(),
            "http://c/".into(),
            "wss://c/ws".into(),
        ]);
        assert_eq!(r.all(), ["ws://a/ws", "ws://b/ws", "wss://c/ws"]);
        r.rotate();
        assert_eq!(r.current(), "ws://b/ws");
        r.rotate();
        r.rotate();
        assert_eq!(r.current(), "ws://a/ws");
    }

    #[test]
    fn keeps_at_most_max_relays() {
        let mut r = Relays::new(vec!["ws://given/ws".into()]);
        r.add((0..100).map(|i| format!("ws://r{i}/ws")));
        assert_eq!(r.all().len(), MAX_RELAYS);
        assert_eq!(r.all()[0], "ws://given/ws");
    }
}
