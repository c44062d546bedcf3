//! What the in-memory hub tests share: a worker's capabilities, one small search and the CPU
//! reference result a worker answers it with, and the peers they put on the in-memory network
//! (`edgenet_sim`).
#![allow(dead_code)] // each test file uses its part

pub(crate) mod peers;

/// `$wrapper { net: Network<$peer>, .. }` reads as the network itself: a test's wrapper adds its
/// own helpers and keeps the network's (`now`, `rng`, `settle`, `drive`, …).
#[allow(unused_macros)] // not every test file wraps the network
macro_rules! wraps_network {
    ($wrapper:ident, $peer:ty) => {
        impl std::ops::Deref for $wrapper {
            type Target = edgenet_sim::Network<$peer>;
            fn deref(&self) -> &Self::Target {
                &self.net
            }
        }

        impl std::ops::DerefMut for $wrapper {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.net
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use wraps_network;

use edgenet_core::SecretKey;
use edgenet_core::kinds::vector_search::{Hit, KnnResult, SearchMetric, VectorSearch};
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{Account, Entry, EntryKind, MintReason};
use edgenet_core::task::TaskKind;
use edgenet_proto::hub::Hub;
use edgenet_proto::message::Capabilities;
use edgenet_proto::message::ClientMsg;

/// A native worker of vector searches.
pub(crate) fn caps() -> Capabilities {
    Capabilities {
        cores: 2,
        memory_mib: 1024,
        gpu: None,
        kernels: vec![TaskKind::VECTOR_SEARCH],
        backends: vec!["cpu".into()],
    }
}

/// Brute-force k-NN: what an honest worker returns.
pub(crate) fn reference_knn(t: &VectorSearch) -> KnnResult {
    let dim = t.dim as usize;
    let hits = t
        .queries
        .chunks(dim)
        .map(|q| {
            let mut scored: Vec<Hit> = t
                .database
                .chunks(dim)
                .enumerate()
                .map(|(i, v)| Hit {
                    index: i as u32,
                    score: q.iter().zip(v).map(|(a, b)| a * b).sum(),
                })
                .collect();
            scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
            scored.truncate(t.k as usize);
            scored
        })
        .collect();
    KnnResult { hits }
}

/// A search of four 3-d vectors.
pub(crate) fn search() -> VectorSearch {
    VectorSearch {
        metric: SearchMetric::Dot,
        dim: 3,
        k: 2,
        queries: vec![1.0, 0.0, 0.5],
        database: vec![0.1, 0.2, 0.3, 1.0, 1.0, 1.0, -1.0, 0.0, 2.0, 0.3, 0.3, 0.3],
    }
}

/// Credits for `to`, minted by the relay (as an uptime bonus would be).
pub(crate) fn mint(hub: &mut Hub, to: Account, amount: u64) {
    hub.write_ledger(EntryKind::Mint {
        to,
        amount,
        reason: MintReason::Uptime { seconds: 3600 },
    })
    .unwrap();
}

/// The message that sends node `seed`'s next entry of its own chain (an escrow, a transfer) to
/// the relay, as the node's chain writer would.
pub(crate) fn own_entry(hub: &mut Hub, seed: u8, kind: EntryKind) -> ClientMsg {
    let key = SecretKey::from_seed(&[seed; 32]);
    let body = hub
        .ledger()
        .next_body(Account::of(&key.node_id()), kind)
        .unwrap();
    ClientMsg::Ledger(SyncMessage::Entries(vec![Entry::sign(body, &key)]))
}
