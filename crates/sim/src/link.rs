//! Links: how long a packet takes and whether it arrives (str0m's `netem`, in miniature).
//!
//! A connection between a page or node and its relay is a WebSocket over TCP: a frame is never
//! lost, and frames arrive in the order they were sent. A "lost" frame there is one TCP sends
//! again, so it arrives [`RETRANSMIT_MS`] late, and everything behind it waits (head-of-line
//! blocking). Relays talk over NATS core subjects, which deliver at most once: a lost packet
//! between relays is gone.

use std::collections::BTreeMap;

use edgenet_proto::Millis;
use rand_chacha::rand_core::Rng;

use crate::packet::Addr;
use crate::rng::SimRng;

/// How long TCP takes to send a lost segment again (Linux's minimum retransmission timeout).
pub const RETRANSMIT_MS: Millis = 200;

/// One link's behaviour. The default is perfect: no delay, no loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Link {
    /// One-way delay.
    pub latency_ms: Millis,
    /// Up to this much more delay, drawn per packet (order on a connection is kept all the same).
    pub jitter_ms: Millis,
    /// Packets lost, per million.
    pub loss_ppm: u32,
}

impl Link {
    /// A link with `latency_ms` of one-way delay and nothing else.
    pub fn delay(latency_ms: Millis) -> Self {
        Self {
            latency_ms,
            ..Self::default()
        }
    }

    /// Whether drawing for this link takes randomness (a perfect or fixed link takes none, so
    /// that adding one does not change what the rest of a run draws).
    fn random(&self) -> bool {
        self.jitter_ms > 0 || self.loss_ppm > 0
    }
}

/// What became of a packet put on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// It arrives at this time.
    Arrives(Millis),
    /// It is gone (a lost packet between relays).
    Lost,
}

/// Which way a packet goes on a connection (each way keeps its own order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Way {
    Down,
    Up,
}

/// Every link of the network: one for all relay-to-relay traffic, one per connection that has
/// its own, and the default for the rest.
#[derive(Debug, Default)]
pub(crate) struct Links {
    pub(crate) default: Link,
    pub(crate) cluster: Link,
    pub(crate) per_conn: BTreeMap<Addr, Link>,
    /// When the last packet each way on a connection arrives: none may overtake it.
    last: BTreeMap<(Addr, Way), Millis>,
}

impl Links {
    /// When a packet sent now over a connection arrives (never lost: TCP sends it again).
    pub(crate) fn on_conn(
        &mut self,
        addr: Addr,
        way: Way,
        now: Millis,
        rng: &mut SimRng,
    ) -> Millis {
        let link = self.per_conn.get(&addr).copied().unwrap_or(self.default);
        let mut at = now + link.latency_ms;
        if link.random() {
            at += jitter(&link, rng);
            if lost(&link, rng) {
                at += RETRANSMIT_MS;
            }
        }
        let last = self.last.entry((addr, way)).or_insert(0);
        let at = at.max(*last);
        *last = at;
        at
    }

    /// What becomes of a packet sent now between two relays.
    pub(crate) fn between_relays(&mut self, now: Millis, rng: &mut SimRng) -> Fate {
        let link = self.cluster;
        if !link.random() {
            return Fate::Arrives(now + link.latency_ms);
        }
        let at = now + link.latency_ms + jitter(&link, rng);
        if lost(&link, rng) {
            Fate::Lost
        } else {
            Fate::Arrives(at)
        }
    }

    /// Forgets a closed connection's order.
    pub(crate) fn forget(&mut self, addr: Addr) {
        self.last.remove(&(addr, Way::Down));
        self.last.remove(&(addr, Way::Up));
    }
}

fn jitter(link: &Link, rng: &mut SimRng) -> Millis {
    if link.jitter_ms == 0 {
        0
    } else {
        rng.next_u64() % (link.jitter_ms + 1)
    }
}

fn lost(link: &Link, rng: &mut SimRng) -> bool {
    link.loss_ppm > 0 && rng.next_u32() % 1_000_000 < link.loss_ppm
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    #[test]
    fn a_connection_never_loses_and_never_reorders_and_a_lost_segment_comes_late() {
        let mut rng = SimRng::seed_from_u64(1);
        let mut links = Links {
            default: Link {
                latency_ms: 30,
                jitter_ms: 50,
                loss_ppm: 250_000,
            },
            ..Links::default()
        };
        let addr = Addr::new(0, 1);
        let mut last = 0;
        let mut late = 0;
        // A second apart, so that no segment waits behind a late one.
        for now in (0..2_000).map(|i| i * 1_000) {
            let at = links.on_conn(addr, Way::Down, now, &mut rng);
            assert!(at >= now + 30 && at >= last, "order kept");
            assert!(at <= now + 30 + 50 + RETRANSMIT_MS);
            if at > now + 30 + 50 {
                late += 1;
            }
            last = at;
        }
        // About a quarter of the segments were sent again, 200 ms late.
        assert!((300..700).contains(&late), "{late} late of 2,000");
    }

    #[test]
    fn a_cluster_link_loses_about_its_rate_and_a_perfect_link_draws_nothing() {
        let mut rng = SimRng::seed_from_u64(2);
        let mut links = Links {
            cluster: Link {
                latency_ms: 5,
                jitter_ms: 0,
                loss_ppm: 100_000,
            },
            ..Links::default()
        };
        let lost = (0..10_000)
            .filter(|_| links.between_relays(0, &mut rng) == Fate::Lost)
            .count();
        assert!((800..1_200).contains(&lost), "{lost} of 10,000");
        let mut a = SimRng::seed_from_u64(3);
        let b = a.clone();
        let mut perfect = Links::default();
        assert_eq!(perfect.between_relays(7, &mut a), Fate::Arrives(7));
        assert_eq!(perfect.on_conn(Addr::new(0, 1), Way::Up, 7, &mut a), 7);
        assert_eq!(a, b, "no randomness drawn");
    }
}
