//! The handshake, both sides: the relay challenges each connection with a fresh nonce, and the
//! node answers with a hello signed over that nonce, the relay's identity and the hello's body.
//!
//! ```text
//! relay --Challenge { nonce, relay, versions }--> node
//! node  --Hello { body, sign(transcript) }------> relay     transcript = domain ‖ nonce ‖ relay ‖ body
//! relay --Welcome { peers }----------------------> node      (or Error, then close)
//! ```
//!
//! Binding the nonce and the relay's key means a hello cannot be replayed on another connection
//! or to another relay. [`sign_hello`] is the node's half ([`crate::client`]), [`verify_hello`] the
//! relay's ([`crate::hub`]).

use edgenet_core::{NodeId, SecretKey, Signature, SignedExchangeKey};

use crate::PROTOCOL_VERSION;
use crate::error::ProtoError;
use crate::message::{HelloBody, NodeKey};

const HELLO_DOMAIN: &[u8] = b"edgenet/hello/v1";

/// What a hello's signature covers: a domain tag, the connection's challenge, the relay's id and
/// the body.
pub fn hello_transcript(
    nonce: &[u8; 32],
    relay: &NodeKey,
    body: &HelloBody,
) -> Result<Vec<u8>, ProtoError> {
    let body = postcard::to_allocvec(body).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    Ok([HELLO_DOMAIN, nonce, relay, &body].concat())
}

/// The node's signature over its hello to `relay` on the connection challenged with `nonce`.
pub fn sign_hello(
    key: &SecretKey,
    nonce: &[u8; 32],
    relay: &NodeKey,
    body: &HelloBody,
) -> Result<Vec<u8>, ProtoError> {
    Ok(key
        .sign(&hello_transcript(nonce, relay, body)?)
        .to_bytes()
        .to_vec())
}

/// The relay's check of a hello: the version it speaks, keys that belong together, and a
/// signature over this connection's challenge. Returns the node it authenticates.
pub fn verify_hello(
    nonce: &[u8; 32],
    relay: &NodeKey,
    body: &HelloBody,
    signature: &[u8],
) -> Result<NodeId, ProtoError> {
    if body.version != PROTOCOL_VERSION {
        return Err(ProtoError::BadHandshake(format!(
            "protocol version {} is not supported; this relay speaks {PROTOCOL_VERSION}",
            body.version
        )));
    }
    let node =
        NodeId::from_bytes(&body.peer.node).map_err(|e| ProtoError::BadHandshake(e.to_string()))?;
    let exchange = SignedExchangeKey::decode(&body.peer.exchange_key)
        .map_err(|e| ProtoError::BadHandshake(format!("exchange key: {e}")))?;
    if exchange.node_id() != node {
        return Err(ProtoError::BadHandshake(
            "exchange key belongs to another node".into(),
        ));
    }
    let signature =
        Signature::from_slice(signature).map_err(|e| ProtoError::BadHandshake(e.to_string()))?;
    let transcript = hello_transcript(nonce, relay, body)?;
    node.verify(&transcript, &signature).map_err(|_| {
        ProtoError::BadHandshake("signature does not match this connection's challenge".into())
    })?;
    Ok(node)
}
