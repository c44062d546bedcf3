//! What sits at the end of a connection.

use edgenet_proto::Millis;

use crate::rng::SimRng;

/// What a peer is handed when the network calls it: the time, and the run's randomness.
pub struct Context<'a> {
    /// The virtual clock.
    pub now: Millis,
    /// The run's one seeded stream.
    pub rng: &'a mut SimRng,
}

/// A client of a relay, as the network drives it: frames in, frames out, and its own timers.
/// A peer acts on what it receives inside [`Peer::receive`] (answers, runs a task, records an
/// event); the network then sends whatever [`Peer::poll_transmit`] yields.
pub trait Peer {
    /// A frame from its relay.
    fn receive(&mut self, frame: &[u8], cx: &mut Context<'_>);

    /// The next frame it sends to its relay; `None` when it has nothing more. Called after it
    /// received something and after a test touched it ([`Network::peer_mut`]), so it can act on
    /// what the test's own calls raised first.
    ///
    /// [`Network::peer_mut`]: crate::Network::peer_mut
    fn poll_transmit(&mut self, cx: &mut Context<'_>) -> Option<Vec<u8>>;

    /// Its relay closed the connection.
    fn closed(&mut self, _cx: &mut Context<'_>) {}

    /// When it next wants [`Peer::handle_timeout`] (`None`: it keeps no timers, or a test calls
    /// its timers itself).
    fn poll_timeout(&self) -> Option<Millis> {
        None
    }

    /// The clock reached [`Peer::poll_timeout`].
    fn handle_timeout(&mut self, _cx: &mut Context<'_>) {}
}
