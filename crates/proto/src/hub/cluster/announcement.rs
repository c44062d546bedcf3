//! Announcements: each relay of a cluster signs, every second, the list of workers it lends,
//! its submitters' open tasks and its busiest identities' message counts; a relay takes another's
//! only from a validator, borrows the workers it lists (`remote.rs` routes their frames), and
//! counts the rest against its own bounds.

use std::collections::HashMap;

use edgenet_core::ledger::Account;
use edgenet_core::task::TaskId;
use edgenet_core::{NodeId, SecretKey, Signature};
use rand_core::Rng;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::Hub;
use crate::hub::routing::conns::Conn;
use crate::hub::routing::peers::Peer;
use crate::hub::timers::Timer;
use crate::message::{NodeKey, PeerInfo, RelayMsg};

use super::remote::{
    ANNOUNCEMENT_DOMAIN, BORROWED_TTL_MS, MAX_ANNOUNCED_BUSY, MAX_ANNOUNCED_SUBMITTERS,
    MAX_ANNOUNCED_WORKERS, MAX_ANNOUNCEMENT_LEN, MAX_BORROWED, REMOTE_CONN_BASE,
};

/// A relay's signed list of the workers it lends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The lending relay.
    pub relay: NodeId,
    /// Its workers, at most [`MAX_ANNOUNCED_WORKERS`].
    pub workers: Vec<PeerInfo>,
    /// Submitters with open tasks there, and how many, at most [`MAX_ANNOUNCED_SUBMITTERS`].
    pub open_tasks: Vec<(NodeKey, u16)>,
    /// Identities connected there with the messages in their current rate window, at most
    /// [`MAX_ANNOUNCED_BUSY`].
    pub busy: Vec<(NodeKey, u32)>,
}

impl Announcement {
    /// `key`'s relay lends `workers`, has `open_tasks` open and counted `busy` messages: its key
    /// (32 bytes), the signature (64), the length of the worker list (4, little-endian), the
    /// list as a `Welcome` frame (the protocol's own checked encoding of peer lists), then the
    /// open tasks and the message counts (postcard).
    pub fn encode(
        key: &SecretKey,
        workers: Vec<PeerInfo>,
        open_tasks: &[(NodeKey, u16)],
        busy: &[(NodeKey, u32)],
    ) -> Result<Vec<u8>, ProtoError> {
        let frame = RelayMsg::Welcome { peers: workers }.encode()?;
        let open = postcard::to_allocvec(open_tasks)
            .map_err(|e| ProtoError::Malformed(format!("open tasks: {e}")))?;
        let busy = postcard::to_allocvec(busy)
            .map_err(|e| ProtoError::Malformed(format!("message counts: {e}")))?;
        let len = u32::try_from(frame.len())
            .map_err(|_| ProtoError::LimitExceeded("announcement".into()))?;
        let body = [&len.to_le_bytes()[..], &frame, &open, &busy].concat();
        let relay = key.node_id();
        let signature = key.sign(&Self::signed(&relay, &body));
        Ok([relay.as_bytes(), &signature.to_bytes()[..], &body].concat())
    }

    /// Reads and verifies an announcement (whether its relay may lend is the hub's to say).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        if bytes.len() > MAX_ANNOUNCEMENT_LEN {
            return Err(ProtoError::LimitExceeded(format!(
                "announcement of {} bytes (at most {MAX_ANNOUNCEMENT_LEN})",
                bytes.len()
            )));
        }
        if bytes.len() < 100 {
            return Err(ProtoError::Malformed("announcement too short".into()));
        }
        let (relay, rest) = bytes.split_at(32);
        let (signature, body) = rest.split_at(64);
        let relay: &[u8; 32] = relay
            .try_into()
            .map_err(|_| ProtoError::Malformed("announcement relay".into()))?;
        let relay = NodeId::from_bytes(relay)
            .map_err(|e| ProtoError::Malformed(format!("announcement relay: {e}")))?;
        let signature = Signature::from_slice(signature)
            .map_err(|e| ProtoError::Malformed(format!("announcement signature: {e}")))?;
        relay
            .verify(&Self::signed(&relay, body), &signature)
            .map_err(|_| ProtoError::NotAllowed("announcement signature does not verify".into()))?;
        let (len, rest) = body.split_at(4);
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > rest.len() {
            return Err(ProtoError::Malformed("announcement worker list".into()));
        }
        let (frame, open) = rest.split_at(len);
        let RelayMsg::Welcome { peers } = RelayMsg::decode(frame)? else {
            return Err(ProtoError::Malformed(
                "an announcement holds a peer list".into(),
            ));
        };
        if peers.len() > MAX_ANNOUNCED_WORKERS {
            return Err(ProtoError::LimitExceeded(format!(
                "{} workers announced (at most {MAX_ANNOUNCED_WORKERS})",
                peers.len()
            )));
        }
        let (open_tasks, left) = postcard::take_from_bytes::<Vec<(NodeKey, u16)>>(open)
            .map_err(|e| ProtoError::Malformed(format!("announcement open tasks: {e}")))?;
        let (busy, left) = postcard::take_from_bytes::<Vec<(NodeKey, u32)>>(left)
            .map_err(|e| ProtoError::Malformed(format!("announcement message counts: {e}")))?;
        if busy.len() > MAX_ANNOUNCED_BUSY {
            return Err(ProtoError::LimitExceeded(format!(
                "{} message counts announced (at most {MAX_ANNOUNCED_BUSY})",
                busy.len()
            )));
        }
        if !left.is_empty() {
            return Err(ProtoError::Malformed("bytes after the announcement".into()));
        }
        if open_tasks.len() > MAX_ANNOUNCED_SUBMITTERS {
            return Err(ProtoError::LimitExceeded(format!(
                "{} submitters announced (at most {MAX_ANNOUNCED_SUBMITTERS})",
                open_tasks.len()
            )));
        }
        Ok(Self {
            relay,
            workers: peers,
            open_tasks,
            busy,
        })
    }

    fn signed(relay: &NodeId, frame: &[u8]) -> Vec<u8> {
        [ANNOUNCEMENT_DOMAIN, relay.as_bytes(), frame].concat()
    }
}

impl Hub {
    /// This relay's announcement: its own workers, the least loaded first (none it borrowed),
    /// and its submitters with open tasks, those with the most first.
    pub fn announcement(&self) -> Result<Vec<u8>, ProtoError> {
        let workers = self
            .peers
            .least_loaded_workers(MAX_ANNOUNCED_WORKERS)
            .into_iter()
            .filter_map(|n| self.peers.get(&n).map(|p| p.info.clone()))
            .collect();
        let mut open: HashMap<NodeKey, u16> = HashMap::new();
        for (_, task) in self
            .tasks
            .open()
            .filter(|(_, t)| t.origin.asked_by_a_node())
        {
            let n = open.entry(*task.submitter.as_bytes()).or_insert(0);
            *n = n.saturating_add(1);
        }
        let mut open: Vec<(NodeKey, u16)> = open.into_iter().collect();
        open.sort_unstable_by_key(|&(key, n)| (std::cmp::Reverse(n), key));
        open.truncate(MAX_ANNOUNCED_SUBMITTERS);
        let busy = self.rates.busiest(MAX_ANNOUNCED_BUSY);
        Announcement::encode(&self.key, workers, &open, &busy)
    }

    /// Another relay's announcement (decoded and verified, [`Announcement::decode`]): its
    /// workers become this relay's peers on virtual connections, to be offered work after this
    /// relay's own; those it no longer lists are dropped, and their assignments offered again.
    /// Its open tasks count against their submitters' bound here.
    /// Returns how many it lends now; only the cluster's validators may lend.
    pub(in crate::hub) fn borrow_workers(
        &mut self,
        lender: Announcement,
        now: Millis,
    ) -> Result<usize, ProtoError> {
        let relay = lender.relay;
        if relay == self.key.node_id() {
            return Ok(0);
        }
        if !self.ledger.config().is_validator(&Account::of(&relay)) {
            return Err(ProtoError::NotAllowed(format!(
                "{relay} is not a relay of this cluster"
            )));
        }
        self.remote
            .open_elsewhere
            .insert(relay, lender.open_tasks.into_iter().collect());
        self.remote
            .busy_elsewhere
            .insert(relay, lender.busy.into_iter().collect());
        let listed: Vec<(NodeId, PeerInfo)> = lender
            .workers
            .into_iter()
            .filter_map(|info| Some((NodeId::from_bytes(&info.node).ok()?, info)))
            .collect();
        let gone: Vec<NodeId> = self
            .remote
            .borrowed
            .iter()
            .filter(|(w, (r, _))| *r == relay && !listed.iter().any(|(n, _)| n == *w))
            .map(|(w, _)| *w)
            .collect();
        for worker in gone {
            self.drop_borrowed(&worker, now);
        }
        let mut fresh = Vec::new();
        for (node, info) in listed {
            // A worker on this relay itself, or lent by another relay first, stays as it is.
            if self.peers.contains(&node) || self.remote.borrowed.len() >= MAX_BORROWED {
                continue;
            }
            let conn = REMOTE_CONN_BASE + self.remote.next_conn;
            self.remote.next_conn += 1;
            self.conns.insert(conn, Conn::borrowed(node, now));
            self.peers.insert(
                node,
                Peer::borrowed(conn, info, relay, self.rng.next_u64(), now),
            );
            self.remote.borrowed.insert(node, (relay, conn));
            self.remote.by_conn.insert(conn, node);
            fresh.push(node);
        }
        self.timers
            .set(Timer::Lender(*relay.as_bytes()), now + BORROWED_TTL_MS);
        let waiting: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.needs_workers() && t.origin.offered_to_any())
            .map(|(&id, _)| id)
            .collect();
        for node in fresh {
            for &id in &waiting {
                self.offer_to(id, node);
            }
        }
        Ok(self
            .remote
            .borrowed
            .values()
            .filter(|(r, _)| *r == relay)
            .count())
    }
}
