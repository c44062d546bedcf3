//! A node's session with a relay: answer the challenge, then pass relay messages up as events.
//!
//! ```text
//! AwaitChallenge --Challenge--> (send Hello) AwaitWelcome --Welcome--> Ready
//! ```
//! An `Error` before `Ready` fails the handshake with [`ProtoError::Remote`]. What the hello signs
//! is [`crate::handshake`]'s, shared with the relay's side.

use std::collections::VecDeque;

use edgenet_core::{NodeId, SecretKey, SignedExchangeKey};

use crate::PROTOCOL_VERSION;
use crate::error::ProtoError;
use crate::handshake::sign_hello;
use crate::message::{Capabilities, ClientMsg, HelloBody, PeerInfo, RelayMsg, Role};

/// Where the handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Connected; waiting for the relay's challenge.
    AwaitChallenge,
    /// Hello sent; waiting for the welcome.
    AwaitWelcome,
    /// Authenticated.
    Ready,
}

/// The client half of a connection.
pub struct ClientSession {
    key: SecretKey,
    role: Role,
    capabilities: Capabilities,
    expected_relay: Option<NodeId>,
    relay: Option<NodeId>,
    state: ClientState,
    outgoing: VecDeque<Vec<u8>>,
    events: VecDeque<RelayMsg>,
}

impl ClientSession {
    /// A session for `key`. With `expected_relay`, a relay presenting another identity is refused.
    pub fn new(
        key: SecretKey,
        role: Role,
        capabilities: Capabilities,
        expected_relay: Option<NodeId>,
    ) -> Self {
        Self {
            key,
            role,
            capabilities,
            expected_relay,
            relay: None,
            state: ClientState::AwaitChallenge,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The handshake state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The relay's identity, once its challenge arrived.
    pub fn relay(&self) -> Option<NodeId> {
        self.relay
    }

    /// This node's identity.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// Handles one frame from the relay.
    pub fn handle_frame(&mut self, bytes: &[u8]) -> Result<(), ProtoError> {
        let msg = RelayMsg::decode(bytes)?;
        match (self.state, msg) {
            (
                ClientState::AwaitChallenge,
                RelayMsg::Challenge {
                    nonce,
                    relay,
                    min_version,
                    max_version,
                },
            ) => {
                if !(min_version..=max_version).contains(&PROTOCOL_VERSION) {
                    return Err(ProtoError::IncompatibleRelay(format!(
                        "relay speaks versions {min_version}..={max_version}, this node {PROTOCOL_VERSION}; upgrade the older side"
                    )));
                }
                let relay_id = NodeId::from_bytes(&relay)
                    .map_err(|e| ProtoError::BadHandshake(e.to_string()))?;
                if self.expected_relay.is_some_and(|want| want != relay_id) {
                    return Err(ProtoError::BadHandshake(format!(
                        "relay is {}, expected {:?}",
                        relay_id.fmt_short(),
                        self.expected_relay
                    )));
                }
                let body = HelloBody {
                    version: PROTOCOL_VERSION,
                    peer: PeerInfo {
                        node: *self.key.node_id().as_bytes(),
                        exchange_key: SignedExchangeKey::for_identity(&self.key).encode().to_vec(),
                        role: self.role,
                        capabilities: self.capabilities.clone(),
                    },
                };
                let signature = sign_hello(&self.key, &nonce, &relay, &body)?;
                self.outgoing
                    .push_back(ClientMsg::Hello { body, signature }.encode()?);
                self.relay = Some(relay_id);
                self.state = ClientState::AwaitWelcome;
            }
            (ClientState::AwaitWelcome, msg @ RelayMsg::Welcome { .. }) => {
                self.state = ClientState::Ready;
                self.events.push_back(msg);
            }
            (ClientState::Ready, msg) => self.events.push_back(msg),
            (_, RelayMsg::Error { code, message }) => {
                return Err(ProtoError::Remote { code, message });
            }
            (state, msg) => {
                return Err(ProtoError::Unexpected(format!(
                    "{msg:?} in state {state:?}"
                )));
            }
        }
        Ok(())
    }

    /// Queues a message to the relay; only after the handshake.
    pub fn send(&mut self, msg: &ClientMsg) -> Result<(), ProtoError> {
        if self.state != ClientState::Ready {
            return Err(ProtoError::Unexpected(
                "cannot send before the handshake completes".into(),
            ));
        }
        self.outgoing.push_back(msg.encode()?);
        Ok(())
    }

    /// The next frame to send.
    pub fn poll_outgoing(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// The next message from the relay, after the handshake.
    pub fn poll_event(&mut self) -> Option<RelayMsg> {
        self.events.pop_front()
    }
}
