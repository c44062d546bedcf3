//! The shards this node holds for collections (`edgenet-node run --data-dir DIR --storage
//! BYTES`): what it tells the relay it holds, the insert and search tasks it runs on them, and
//! the copies it sends to and takes from other holders.
//!
//! On disk, under the data directory: `collections/<id>/collection.bin` (the owner's signed
//! spec) and `collections/<id>/shard-<n>.log` (the shard's insert log, `log.rs`). Nothing else
//! is needed to rebuild a shard: its index is rebuilt from the log at start.

mod log;
mod shard;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use edgenet_core::collection::{
    CollectionId, ShardAnswer, ShardSearch, ShardState, SignedCollection,
};
use edgenet_core::task::TaskKind;
use edgenet_core::{SecretKey, SignedExchangeKey, envelope};
use edgenet_proto::message::{
    ClientMsg, CollectionDown, CollectionUp, Holding, MAX_ENVELOPE, MAX_HOLDINGS, PeerInfo,
};

pub use shard::Shard;

/// Bytes of batches one chunk carries (at least one batch, whatever its size).
pub const CHUNK_BYTES: usize = 512 * 1024;

type Key = (CollectionId, u16);

/// A holder's answer to a collection message from the relay: a `Hold` (open the shard; copy it
/// when a source is named), a `Fetch` (seal the batches asked for), a `Chunk` (apply it; fetch
/// the rest). Runs on a blocking thread: a chunk is up to half a MiB of inserts.
pub fn answer(
    store: &ShardStore,
    key: &SecretKey,
    msg: CollectionDown,
) -> Result<Option<ClientMsg>, String> {
    match msg {
        CollectionDown::Hold {
            collection,
            shard,
            source,
        } => {
            store.hold(&collection, shard)?;
            let (id, _) = collection.open().map_err(|e| e.to_string())?;
            Ok(store.after_hold(id, shard, source.is_some()))
        }
        CollectionDown::Fetch {
            collection,
            shard,
            from_batch,
            to,
        } => store
            .chunk_for(
                &mut edgenet_core::rng::os_rng(),
                key,
                collection,
                shard,
                from_batch,
                &to,
            )
            .map(Some),
        CollectionDown::Chunk {
            collection,
            shard,
            from,
            envelope,
            more,
        } => store
            .take_chunk(key, collection, shard, &from, &envelope, more)
            .map(Some),
        // For an owner, not a holder.
        CollectionDown::Created { .. } => Ok(None),
    }
}

/// This node's shards.
pub struct ShardStore {
    dir: PathBuf,
    offered: u64,
    shards: Mutex<HashMap<Key, Arc<RwLock<Shard>>>>,
    specs: Mutex<HashMap<CollectionId, SignedCollection>>,
    /// Held while a shard is opened: two holds of one collection write its spec once.
    opening: Mutex<()>,
}

fn io(e: impl std::fmt::Display) -> String {
    format!("EN-194: shard storage: {e}")
}

/// The envelope's associated data for a chunk: which shard it copies.
fn chunk_aad(collection: &CollectionId, shard: u16) -> Vec<u8> {
    [
        &b"edgenet/shard-chunk/v1"[..],
        &collection.0,
        &shard.to_le_bytes(),
    ]
    .concat()
}

impl ShardStore {
    /// Opens the store under `dir`, replaying every shard it finds.
    pub fn open(dir: &Path, offered: u64) -> Result<Self, String> {
        let root = dir.join("collections");
        std::fs::create_dir_all(&root).map_err(io)?;
        let store = Self {
            dir: root.clone(),
            offered,
            shards: Mutex::new(HashMap::new()),
            specs: Mutex::new(HashMap::new()),
            opening: Mutex::new(()),
        };
        for entry in std::fs::read_dir(&root).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let Ok(bytes) = std::fs::read(path.join("collection.bin")) else {
                continue;
            };
            let Ok(signed) = postcard::from_bytes::<SignedCollection>(&bytes) else {
                tracing::warn!(path = %path.display(), "not a collection spec; skipped");
                continue;
            };
            for shard in 0..signed.open().map(|(_, s)| s.shards).unwrap_or(0) {
                if path.join(format!("shard-{shard}.log")).exists() {
                    store.hold(&signed, shard)?;
                }
            }
        }
        Ok(store)
    }

    /// Bytes offered.
    pub fn offered(&self) -> u64 {
        self.offered
    }

    /// What the relay is told on connecting.
    pub fn storage_message(&self) -> ClientMsg {
        let specs = self.specs.lock().map(|s| s.clone()).unwrap_or_default();
        let mut holding: Vec<Holding> = self
            .all()
            .into_iter()
            .filter_map(|(k, s)| {
                let s = s.read().ok()?;
                Some(Holding {
                    collection: specs.get(&k.0)?.clone(),
                    shard: k.1,
                    state: s.state(),
                    proof: s.proof(),
                })
            })
            .collect();
        holding.truncate(MAX_HOLDINGS);
        CollectionUp::Storage {
            offered: self.offered,
            holding,
        }
        .to_msg()
    }

    fn all(&self) -> Vec<(Key, Arc<RwLock<Shard>>)> {
        self.shards
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }

    fn get(&self, collection: &CollectionId, shard: u16) -> Option<Arc<RwLock<Shard>>> {
        self.shards.lock().ok()?.get(&(*collection, shard)).cloned()
    }

    /// Holds `shard` of a collection (opening it from disk if it is there); its state.
    pub fn hold(&self, signed: &SignedCollection, shard: u16) -> Result<ShardState, String> {
        let (id, spec) = signed
            .open()
            .map_err(|e| format!("{}: {e}", edgenet_core::ErrorCode::code(&e)))?;
        if shard >= spec.shards {
            return Err(format!("EN-190: shard {shard} of {}", spec.shards));
        }
        let _opening = self.opening.lock().map_err(io)?;
        if let Some(s) = self.get(&id, shard) {
            return Ok(s.read().map_err(io)?.state());
        }
        let dir = self.dir.join(id.to_string());
        std::fs::create_dir_all(&dir).map_err(io)?;
        let spec_path = dir.join("collection.bin");
        if !spec_path.exists() {
            let bytes = postcard::to_allocvec(signed).map_err(io)?;
            let tmp = dir.join("collection.bin.tmp");
            std::fs::write(&tmp, bytes).map_err(io)?;
            std::fs::rename(&tmp, &spec_path).map_err(io)?;
        }
        let opened =
            Shard::open(&dir.join(format!("shard-{shard}.log")), id, spec, shard).map_err(io)?;
        let state = opened.state();
        tracing::info!(collection = %id, shard, vectors = state.vectors, batches = state.batches, "holding shard");
        if let Ok(mut specs) = self.specs.lock() {
            specs.insert(id, signed.clone());
        }
        if let Ok(mut shards) = self.shards.lock() {
            shards.insert((id, shard), Arc::new(RwLock::new(opened)));
        }
        Ok(state)
    }

    /// The kinds a shard store runs (a node lists them when it offers storage).
    pub const KINDS: [TaskKind; 2] = [TaskKind::VECTOR_INSERT, TaskKind::SHARD_SEARCH];

    /// Whether `kind` only reads a shard (a search), so that a lying holder's answer changes
    /// nothing stored.
    pub fn only_reads(kind: TaskKind) -> bool {
        kind == TaskKind::SHARD_SEARCH
    }

    /// Runs a `vector_insert` or `shard_search` payload on the shard it names; the result, and
    /// the shard's state for the relay after an insert.
    pub fn execute(
        &self,
        kind: TaskKind,
        payload: &[u8],
    ) -> Result<(Vec<u8>, Option<ClientMsg>), String> {
        let code = |e: edgenet_core::collection::CollectionError| {
            format!("{}: {e}", edgenet_core::ErrorCode::code(&e))
        };
        match kind {
            TaskKind::VECTOR_INSERT => {
                let batch = edgenet_core::collection::SignedBatch::decode(payload).map_err(code)?;
                // Which shard: read from the batch (its signature is the shard's check).
                let insert =
                    edgenet_core::collection::VectorInsert::decode(&batch.insert).map_err(code)?;
                let shard = self.get(&insert.collection, insert.shard).ok_or_else(|| {
                    format!(
                        "EN-190: shard {} of {} is not held here",
                        insert.shard, insert.collection
                    )
                })?;
                let mut s = shard.write().map_err(io)?;
                let answer = s.insert(payload);
                let report = CollectionUp::ShardState {
                    collection: insert.collection,
                    shard: insert.shard,
                    state: answer.state,
                    proof: s.proof(),
                }
                .to_msg();
                Ok((answer.encode(), Some(report)))
            }
            TaskKind::SHARD_SEARCH => {
                let search = ShardSearch::decode(payload).map_err(code)?;
                let shard = self.get(&search.collection, search.shard).ok_or_else(|| {
                    format!(
                        "EN-190: shard {} of {} is not held here",
                        search.shard, search.collection
                    )
                })?;
                let answer: ShardAnswer = shard.read().map_err(io)?.search(&search);
                Ok((answer.encode(), None))
            }
            other => Err(format!("EN-193: {} does not run on a shard", other.name())),
        }
    }

    /// A source's answer to a fetch: the batches from `from_batch` on, sealed to `to`.
    pub fn chunk_for<R: rand_core::CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        key: &SecretKey,
        collection: CollectionId,
        shard: u16,
        from_batch: u64,
        to: &PeerInfo,
    ) -> Result<ClientMsg, String> {
        let held = self
            .get(&collection, shard)
            .ok_or_else(|| format!("EN-190: shard {shard} of {collection} is not held here"))?;
        let (batches, more) = held
            .read()
            .map_err(io)?
            .batches_from(from_batch, CHUNK_BYTES)
            .map_err(io)?;
        let plain = postcard::to_allocvec(&batches).map_err(io)?;
        let exchange = SignedExchangeKey::decode(&to.exchange_key).map_err(|e| e.to_string())?;
        let envelope = envelope::seal(rng, key, &exchange, &chunk_aad(&collection, shard), &plain)
            .map_err(|e| e.to_string())?;
        if envelope.len() > MAX_ENVELOPE {
            return Err("EN-204: a chunk above the envelope limit".into());
        }
        Ok(CollectionUp::Chunk {
            collection,
            shard,
            to: to.node,
            envelope,
            more,
        }
        .to_msg())
    }

    /// Applies a chunk from `from`; returns the next message: a fetch for the rest, or the
    /// shard's state once the source has no more.
    pub fn take_chunk(
        &self,
        key: &SecretKey,
        collection: CollectionId,
        shard: u16,
        from: &PeerInfo,
        sealed: &[u8],
        more: bool,
    ) -> Result<ClientMsg, String> {
        let held = self
            .get(&collection, shard)
            .ok_or_else(|| format!("EN-190: shard {shard} of {collection} is not held here"))?;
        let exchange = SignedExchangeKey::decode(&from.exchange_key).map_err(|e| e.to_string())?;
        let plain = envelope::open(key, &exchange, &chunk_aad(&collection, shard), sealed)
            .map_err(|e| e.to_string())?;
        let batches: Vec<Vec<u8>> =
            postcard::from_bytes(&plain).map_err(|e| format!("EN-190: chunk: {e}"))?;
        let mut s = held.write().map_err(io)?;
        for b in &batches {
            // Each batch carries the owner's signature: a source cannot make one up.
            s.apply(b, true)
                .map_err(|(code, m)| format!("{code}: {m}"))?;
        }
        Ok(next_step(
            collection,
            shard,
            &s,
            more && !batches.is_empty(),
        ))
    }

    /// The message that starts a copy from a source, or reports the shard without one.
    pub fn after_hold(
        &self,
        collection: CollectionId,
        shard: u16,
        copying: bool,
    ) -> Option<ClientMsg> {
        let held = self.get(&collection, shard)?;
        let s = held.read().ok()?;
        Some(next_step(collection, shard, &s, copying))
    }
}

/// A copying holder's next message: a fetch from where its shard ends, or (`fetch` false) the
/// shard's state for the relay.
fn next_step(collection: CollectionId, shard: u16, held: &Shard, fetch: bool) -> ClientMsg {
    if fetch {
        CollectionUp::Fetch {
            collection,
            shard,
            from_batch: held.state().batches,
        }
    } else {
        CollectionUp::ShardState {
            collection,
            shard,
            state: held.state(),
            proof: held.proof(),
        }
    }
    .to_msg()
}
