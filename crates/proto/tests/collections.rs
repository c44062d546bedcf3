//! Collections in the hub, driven in memory: placement by rendezvous score, who may do what, the
//! bounds, and the handover of a shard whose holder stays away.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::HashMap;

use edgenet_core::SecretKey;
use edgenet_core::collection::{
    CollectionId, CollectionSpec, ShardState, SignedCollection, rendezvous,
};
use edgenet_core::kinds::vector_search::SearchMetric;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::hub::{
    ConnId, Hub, HubConfig, Input, MAX_COLLECTIONS, MAX_COLLECTIONS_PER_OWNER,
    MAX_SHARDS_PER_HOLDER,
};
use edgenet_proto::message::{
    Capabilities, ClientMsg, CollectionDown, CollectionUp, Holding, MAX_HOLDINGS, RelayMsg,
    ShardTarget, TaskSpec,
};
use edgenet_sim::{Addr, Network};
use support::caps;
use support::peers::SessionPeer;

mod support;

/// One relay and its nodes on the in-memory network.
struct Net {
    net: Network<SessionPeer>,
}

support::wraps_network!(Net, SessionPeer);

impl Net {
    fn new() -> Self {
        Self::with(HubConfig::default())
    }

    fn with(config: HubConfig) -> Self {
        let config = HubConfig {
            work_bits: 0,
            handover_grace_ms: 1_000,
            ..config
        };
        let mut net = Network::new(0);
        net.add_relay(Hub::new(SecretKey::from_seed(&[0xee; 32]), config));
        Self { net }
    }

    fn hub(&mut self) -> &mut Hub {
        self.net.hub_mut(0)
    }

    /// A native node (seed `seed`), offering `storage` bytes when it is not 0.
    fn join(&mut self, seed: u8, storage: u64) -> ConnId {
        let conn = ConnId::from(seed);
        let kernels = if storage > 0 {
            vec![TaskKind::VECTOR_INSERT, TaskKind::SHARD_SEARCH]
        } else {
            vec![]
        };
        let relay = self.net.hub(0).node_id();
        let mut peer = SessionPeer::new(key(seed), Capabilities { kernels, ..caps() }, relay);
        // It holds shards; it runs no tasks here.
        peer.worker = None;
        self.net.connect(0, conn, peer, [seed; 32]);
        self.pump();
        if storage > 0 {
            self.send(
                conn,
                &CollectionUp::Storage {
                    offered: storage,
                    holding: vec![],
                }
                .to_msg(),
            );
        }
        conn
    }

    fn send(&mut self, conn: ConnId, msg: &ClientMsg) {
        self.net.peer_mut(Addr::new(0, conn)).unwrap().send(msg);
        self.pump();
    }

    fn leave(&mut self, conn: ConnId) {
        self.net.remove(Addr::new(0, conn));
        self.pump();
    }

    fn tick(&mut self, ms: u64) {
        self.net.jump(ms);
        self.pump();
    }

    fn pump(&mut self) {
        self.net.settle();
        self.hub().check_invariants().unwrap();
    }

    /// Whether the relay closed `conn`.
    fn nodes_closed(&self, conn: ConnId) -> bool {
        self.net.is_closed(Addr::new(0, conn))
    }

    /// Takes what `conn` was sent.
    fn take(&mut self, conn: ConnId) -> Vec<RelayMsg> {
        self.net
            .peer_mut(Addr::new(0, conn))
            .map(|p| std::mem::take(&mut p.inbox))
            .unwrap_or_default()
    }
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// The owner's signed head for `state` of `shard`: what an honest holder shows with it.
fn head(id: CollectionId, shard: u16, state: &ShardState) -> Vec<u8> {
    edgenet_core::collection::sign_head(&key(OWNER), id, shard, state)
}

/// Each of `holders` reports `state` of shard 0 with the owner's head for it, as after an insert.
fn report_signed(net: &mut Net, holders: &[ConnId], id: CollectionId, state: ShardState) {
    for &h in holders {
        let msg = CollectionUp::ShardState {
            collection: id,
            shard: 0,
            state,
            proof: head(id, 0, &state),
        };
        net.send(h, &msg.to_msg());
    }
}

fn spec_of(owner: u8, name: &str, shards: u16, replicas: u8) -> CollectionSpec {
    CollectionSpec::new(
        &key(owner).node_id(),
        name,
        8,
        SearchMetric::L2,
        shards,
        replicas,
    )
}

fn created(msgs: &[RelayMsg]) -> Option<(CollectionId, Option<String>)> {
    down(msgs).into_iter().find_map(|m| match m {
        CollectionDown::Created {
            collection, code, ..
        } => Some((collection, code)),
        _ => None,
    })
}

fn create_msg(signed: SignedCollection) -> ClientMsg {
    CollectionUp::Create(signed).to_msg()
}

/// The holder messages among `msgs`, decoded.
fn down(msgs: &[RelayMsg]) -> Vec<CollectionDown> {
    msgs.iter()
        .filter_map(|m| match m {
            RelayMsg::Collection(bytes) => Some(CollectionDown::decode(bytes).unwrap()),
            _ => None,
        })
        .collect()
}

fn holds(msgs: &[RelayMsg]) -> Vec<(u16, bool)> {
    down(msgs)
        .into_iter()
        .filter_map(|m| match m {
            CollectionDown::Hold { shard, source, .. } => Some((shard, source.is_some())),
            _ => None,
        })
        .collect()
}

fn failed_code(msgs: &[RelayMsg], task: TaskId) -> Option<String> {
    msgs.iter().find_map(|m| match m {
        RelayMsg::TaskFailed { task: t, code, .. } if *t == task => Some(code.clone()),
        _ => None,
    })
}

fn shard_task(
    id: u8,
    kind: TaskKind,
    collection: CollectionId,
    shard: u16,
    vectors: u32,
) -> ClientMsg {
    ClientMsg::SubmitShard {
        spec: TaskSpec {
            id: TaskId([id; 16]),
            kind,
            redundancy: 0,
            max_credits: 0,
            priority: 0,
            timeout_ms: 10_000,
        },
        target: ShardTarget {
            collection,
            shard,
            vectors,
        },
    }
}

const OWNER: u8 = 100;

#[test]
fn shards_go_to_the_top_scores_and_the_owner_is_told() {
    let mut net = Net::new();
    let holders: Vec<ConnId> = (1..=5).map(|s| net.join(s, 1 << 30)).collect();
    let owner = net.join(OWNER, 0);
    let spec = spec_of(OWNER, "docs", 4, 3);
    let signed = SignedCollection::sign(&key(OWNER), &spec).unwrap();
    net.send(owner, &create_msg(signed.clone()));
    let (id, code) = created(&net.take(owner)).unwrap();
    assert_eq!((id, code), (spec.id(), None));
    // Each shard at the three best scores among the five.
    let mut held: HashMap<u16, Vec<u8>> = HashMap::new();
    for (&conn, seed) in holders.iter().zip(1u8..) {
        for (shard, copy) in holds(&net.take(conn)) {
            assert!(!copy);
            held.entry(shard).or_default().push(seed);
        }
    }
    for shard in 0..4u16 {
        let mut ranked: Vec<u8> = (1..=5).collect();
        ranked.sort_by_key(|s| {
            std::cmp::Reverse(rendezvous(&id, shard, key(*s).node_id().as_bytes()))
        });
        let mut want = ranked[..3].to_vec();
        want.sort();
        let mut got = held[&shard].clone();
        got.sort();
        assert_eq!(got, want, "shard {shard}");
    }
    // The same spec again is a no-op; another spec under the same id is refused.
    net.send(owner, &create_msg(signed));
    assert_eq!(created(&net.take(owner)).unwrap().1, None);
    let mut other = spec_of(OWNER, "docs", 4, 3);
    other.dim = 16;
    let other = SignedCollection::sign(&key(OWNER), &other).unwrap();
    net.send(owner, &create_msg(other));
    assert_eq!(
        created(&net.take(owner)).unwrap().1.as_deref(),
        Some("EN-226")
    );
    let view = net.hub().collection_view(&id).unwrap();
    assert_eq!(view.shards.len(), 4);
    assert!(view.shards.iter().all(|s| s.live_replicas == 3));
}

#[test]
fn refusals_have_their_codes_and_change_nothing() {
    let mut net = Net::new();
    let owner = net.join(OWNER, 0);
    let stranger = net.join(101, 0);
    let h1 = net.join(1, 1 << 30);
    // One storage node for three replicas.
    let spec = spec_of(OWNER, "c", 1, 3);
    let signed = SignedCollection::sign(&key(OWNER), &spec).unwrap();
    net.send(owner, &create_msg(signed.clone()));
    assert_eq!(
        created(&net.take(owner)).unwrap().1.as_deref(),
        Some("EN-228")
    );
    // Someone else's signed spec, sent by a stranger.
    net.join(2, 1 << 30);
    // Room for about 100 vectors of dimension 8 (8 × 8 + 156 = 220 bytes each).
    net.join(3, 22_000);
    net.send(stranger, &create_msg(signed.clone()));
    assert_eq!(
        created(&net.take(stranger)).unwrap().1.as_deref(),
        Some("EN-192")
    );
    net.send(owner, &create_msg(signed));
    assert_eq!(created(&net.take(owner)).unwrap().1, None);
    let id = spec.id();
    // An insert by a stranger, into an unknown collection, past a holder's storage.
    net.send(stranger, &shard_task(1, TaskKind::VECTOR_INSERT, id, 0, 10));
    assert_eq!(
        failed_code(&net.take(stranger), TaskId([1; 16])).as_deref(),
        Some("EN-192")
    );
    net.send(
        owner,
        &shard_task(2, TaskKind::VECTOR_INSERT, CollectionId([9; 16]), 0, 10),
    );
    assert_eq!(
        failed_code(&net.take(owner), TaskId([2; 16])).as_deref(),
        Some("EN-230")
    );
    net.send(owner, &shard_task(3, TaskKind::VECTOR_INSERT, id, 0, 1_000));
    assert_eq!(
        failed_code(&net.take(owner), TaskId([3; 16])).as_deref(),
        Some("EN-231")
    );
    net.send(owner, &shard_task(4, TaskKind::VECTOR_INSERT, id, 5, 1));
    assert_eq!(
        failed_code(&net.take(owner), TaskId([4; 16])).as_deref(),
        Some("EN-190")
    );
    // What fits is accepted, on all three replicas; a search by anyone too.
    net.send(owner, &shard_task(5, TaskKind::VECTOR_INSERT, id, 0, 50));
    let accepted = net.take(owner);
    assert!(
        accepted
            .iter()
            .any(|m| matches!(m, RelayMsg::ShardAccepted { redundancy: 3, .. })),
        "{accepted:?}"
    );
    net.send(stranger, &shard_task(6, TaskKind::SHARD_SEARCH, id, 0, 0));
    assert!(
        net.take(stranger)
            .iter()
            .any(|m| matches!(m, RelayMsg::ShardAccepted { .. }))
    );
    // Offered to the holders only.
    assert!(
        net.take(h1)
            .iter()
            .any(|m| matches!(m, RelayMsg::Offer { .. }))
    );
}

#[test]
fn a_holder_that_stays_away_is_replaced_by_a_copy() {
    let mut net = Net::new();
    let owner = net.join(OWNER, 0);
    let conns: Vec<ConnId> = (1..=3).map(|s| net.join(s, 1 << 30)).collect();
    let spec = spec_of(OWNER, "c", 1, 2);
    let signed = SignedCollection::sign(&key(OWNER), &spec).unwrap();
    net.send(owner, &create_msg(signed.clone()));
    let id = spec.id();
    let holding: Vec<ConnId> = conns
        .iter()
        .copied()
        .filter(|c| !holds(&net.take(*c)).is_empty())
        .collect();
    assert_eq!(holding.len(), 2);
    let spare = *conns.iter().find(|c| !holding.contains(c)).unwrap();
    // The holders applied one batch the owner inserted.
    net.send(owner, &shard_task(5, TaskKind::VECTOR_INSERT, id, 0, 10));
    let state = ShardState::default().after(b"batch", 10);
    report_signed(&mut net, &holding, id, state);
    // One leaves and comes back within the grace: nothing moves.
    net.leave(holding[0]);
    net.tick(500);
    assert!(holds(&net.take(spare)).is_empty());
    // It leaves for good: past the grace, the spare copies from the survivor.
    net.tick(1_000);
    assert_eq!(holds(&net.take(spare)), vec![(0, true)]);
    assert_eq!(net.hub().stats().handovers, 1);
    net.send(
        spare,
        &CollectionUp::Fetch {
            collection: id,
            shard: 0,
            from_batch: 0,
        }
        .to_msg(),
    );
    let asked = net.take(holding[1]);
    assert!(
        down(&asked)
            .iter()
            .any(|m| matches!(m, CollectionDown::Fetch { from_batch: 0, .. })),
        "{asked:?}"
    );
    // A chunk goes only from its source to the copier.
    let chunk = CollectionUp::Chunk {
        collection: id,
        shard: 0,
        to: *key(3).node_id().as_bytes(),
        envelope: vec![1, 2, 3],
        more: false,
    }
    .to_msg();
    net.send(holding[1], &chunk);
    assert!(
        down(&net.take(spare))
            .iter()
            .any(|m| matches!(m, CollectionDown::Chunk { .. }))
    );
    // Not from someone else.
    net.send(owner, &chunk);
    assert!(down(&net.take(spare)).is_empty());
    // While it copies it takes no searches; once it has the state, it does.
    let view = net.hub().collection_view(&id).unwrap();
    assert_eq!(view.shards[0].live_replicas, 1);
    // (The insert, whose holders here never answer, ends first.)
    net.tick(10_000);
    net.send(
        spare,
        &CollectionUp::ShardState {
            collection: id,
            shard: 0,
            state,
            proof: head(id, 0, &state),
        }
        .to_msg(),
    );
    let view = net.hub().collection_view(&id).unwrap();
    assert_eq!(view.shards[0].live_replicas, 2);
}

/// `owner` creates `name` straight through the hub: the session's pump checks invariants at
/// every step, which would make a loop of thousands quadratic.
fn create_direct(net: &mut Net, owner: u8, name: &str) {
    let spec = spec_of(owner, name, 1, 2);
    let signed = SignedCollection::sign(&key(owner), &spec).unwrap();
    let frame = create_msg(signed).encode().unwrap();
    let now = net.now;
    let _ = net.hub().handle(
        now,
        Input::Frame {
            conn: ConnId::from(owner),
            bytes: &frame,
        },
    );
    while net.hub().poll_output().is_some() {}
    net.now += 20;
}

#[test]
fn the_collection_bounds_hold_while_others_keep_working() {
    let mut net = Net::new();
    // Enough holders for 4,096 collections × 2 replicas at 256 shards each, and some spare.
    for s in 1..=40 {
        net.join(s, u64::MAX);
    }
    // One owner: its 33rd collection is refused (EN-237), the relay's others are not.
    let owner = net.join(OWNER, 0);
    for i in 0..MAX_COLLECTIONS_PER_OWNER {
        create_direct(&mut net, OWNER, &format!("c{i}"));
    }
    net.pump();
    let spec = spec_of(OWNER, "one-more", 1, 2);
    net.send(
        owner,
        &create_msg(SignedCollection::sign(&key(OWNER), &spec).unwrap()),
    );
    assert_eq!(
        created(&net.take(owner)).unwrap().1.as_deref(),
        Some("EN-237")
    );
    // 128 owners fill the relay (4,096); the next owner's first is refused (EN-227).
    let per = MAX_COLLECTIONS_PER_OWNER;
    let owners: Vec<u8> = (OWNER + 1..).take(MAX_COLLECTIONS / per - 1).collect();
    for &o in &owners {
        net.join(o, 0);
        for i in 0..per {
            create_direct(&mut net, o, &format!("c{i}"));
        }
    }
    net.pump();
    assert_eq!(net.hub().collection_count(), MAX_COLLECTIONS);
    let late = net.join(250, 0);
    let spec = spec_of(250, "late", 1, 2);
    net.send(
        late,
        &create_msg(SignedCollection::sign(&key(250), &spec).unwrap()),
    );
    assert_eq!(
        created(&net.take(late)).unwrap().1.as_deref(),
        Some("EN-227")
    );
    // An existing collection still takes inserts.
    let first = spec_of(OWNER, "c0", 1, 2).id();
    net.send(owner, &shard_task(7, TaskKind::VECTOR_INSERT, first, 0, 1));
    assert!(
        net.take(owner)
            .iter()
            .any(|m| matches!(m, RelayMsg::ShardAccepted { .. }))
    );
}

/// A holder's state is what its owner signed: a liar that claims 1,000 batches more than it has
/// (in a storage report or a state) shows no signed head for that state, so its claim changes
/// nothing: the honest replicas stay ready, and it is not demoted either (no one's word moves a
/// replica). A state its owner did sign beyond what the relay routed (the owner's own doing) is
/// not ready, and copies the shard like any holder behind.
#[test]
fn a_holder_that_claims_a_state_its_owner_never_signed_changes_nothing() {
    let mut net = Net::new();
    let owner = net.join(OWNER, 0);
    let conns: Vec<ConnId> = (1..=3).map(|s| net.join(s, 1 << 30)).collect();
    let spec = spec_of(OWNER, "c", 1, 3);
    net.send(
        owner,
        &create_msg(SignedCollection::sign(&key(OWNER), &spec).unwrap()),
    );
    let id = spec.id();
    for &c in &conns {
        net.take(c);
    }
    // One insert, applied by all three.
    net.send(owner, &shard_task(5, TaskKind::VECTOR_INSERT, id, 0, 10));
    let state = ShardState::default().after(b"batch", 10);
    report_signed(&mut net, &conns, id, state);
    let live = |net: &mut Net| net.hub().collection_view(&id).unwrap().shards[0].live_replicas;
    assert_eq!(live(&mut net), 3);
    let mut inflated = state;
    inflated.batches += 1_000;
    let liar = conns[0];
    let signed = SignedCollection::sign(&key(OWNER), &spec).unwrap();
    let report = CollectionUp::Storage {
        offered: 1 << 30,
        holding: vec![Holding {
            collection: signed,
            shard: 0,
            state: inflated,
            proof: head(id, 0, &state),
        }],
    };
    net.send(liar, &report.to_msg());
    let claim = CollectionUp::ShardState {
        collection: id,
        shard: 0,
        state: inflated,
        proof: head(id, 0, &state),
    };
    net.take(liar);
    net.send(liar, &claim.to_msg());
    assert!(
        net.take(liar)
            .iter()
            .any(|m| matches!(m, RelayMsg::Error { code, .. } if code == "EN-196")),
        "an unproven state is refused with its code"
    );
    let view = net.hub().collection_view(&id).unwrap();
    assert_eq!(
        (view.shards[0].live_replicas, view.shards[0].batches),
        (3, 1)
    );
    assert!(
        view.shards[0]
            .holders
            .iter()
            .all(|h| h.ready && h.batches == 1)
    );

    // A head the owner signed for a state no insert routed here brought: not ready.
    let claim = CollectionUp::ShardState {
        collection: id,
        shard: 0,
        state: inflated,
        proof: head(id, 0, &inflated),
    };
    net.send(liar, &claim.to_msg());
    assert_eq!(live(&mut net), 2);
    net.send(owner, &shard_task(6, TaskKind::VECTOR_INSERT, id, 0, 10));
    let now = net.now;
    let summary = net.hub().tasks(now);
    let insert = summary
        .iter()
        .find(|t| t.id == TaskId([6; 16]).to_string())
        .unwrap();
    assert_eq!(
        insert.redundancy, 2,
        "the next insert goes to the two others"
    );
}

#[test]
fn answers_to_the_relays_holds_are_free_of_the_holders_rate_and_only_those() {
    let mut net = Net::with(HubConfig {
        max_messages_per_minute: 40,
        ..HubConfig::default()
    });
    let owner = net.join(OWNER, 0);
    let holders: Vec<ConnId> = (1..=2).map(|s| net.join(s, u64::MAX)).collect();
    // 25 collections of 2 shards × 2 replicas: 50 holds for each holder, each answered.
    for i in 0..25 {
        let spec = spec_of(OWNER, &format!("c{i}"), 2, 2);
        net.send(
            owner,
            &create_msg(SignedCollection::sign(&key(OWNER), &spec).unwrap()),
        );
        assert_eq!(created(&net.take(owner)).unwrap().1, None);
        for &h in &holders {
            for shard in 0..2 {
                let msg = CollectionUp::ShardState {
                    collection: spec.id(),
                    shard,
                    state: ShardState::default(),
                    proof: vec![],
                };
                net.send(h, &msg.to_msg());
            }
        }
        net.tick(1_000);
    }
    for &h in &holders {
        let got = net.take(h);
        assert!(
            !got.iter()
                .any(|m| matches!(m, RelayMsg::Error { code, .. } if code == "EN-207")),
            "a holder was refused for answering holds"
        );
        assert!(!net.nodes_closed(h));
    }
    // Reports nobody asked for count: a holder that sends 50 more is over its rate.
    let id = spec_of(OWNER, "c0", 2, 2).id();
    for _ in 0..50 {
        let msg = CollectionUp::ShardState {
            collection: id,
            shard: 0,
            state: ShardState::default(),
            proof: vec![],
        };
        net.send(holders[0], &msg.to_msg());
    }
    assert!(
        net.take(holders[0])
            .iter()
            .any(|m| matches!(m, RelayMsg::Error { code, .. } if code == "EN-207"))
    );
}

#[test]
fn a_holder_is_placed_at_most_its_bound_of_shards() {
    let mut net = Net::new();
    net.join(1, u64::MAX);
    net.join(2, u64::MAX);
    let owner = net.join(OWNER, 0);
    let create = |net: &mut Net, name: &str| {
        let spec = spec_of(OWNER, name, 64, 2);
        net.send(
            owner,
            &create_msg(SignedCollection::sign(&key(OWNER), &spec).unwrap()),
        );
        created(&net.take(owner)).unwrap().1
    };
    // 64 shards × 2 replicas on two holders: four collections fill them (256 shards each).
    for i in 0..MAX_SHARDS_PER_HOLDER / 64 {
        assert_eq!(create(&mut net, &format!("big{i}")), None);
    }
    assert_eq!(create(&mut net, "one-too-many").as_deref(), Some("EN-228"));
    // A new holder takes the next one.
    net.join(3, u64::MAX);
    net.join(4, u64::MAX);
    assert_eq!(create(&mut net, "elsewhere"), None);
}

#[test]
fn a_holder_listing_made_up_collections_never_refuses_an_owner_its_create() {
    let mut net = Net::new();
    net.join(1, u64::MAX);
    net.join(2, u64::MAX);
    // A fake holder reports shards of collections it signed itself (as their owner), in as
    // many reports as it takes to fill the relay's pool of learned collections.
    let fake = net.join(3, 0);
    let mut n = 0;
    while n < MAX_COLLECTIONS + 10 {
        let holding: Vec<Holding> = (n..n + MAX_HOLDINGS)
            .map(|i| Holding {
                collection: SignedCollection::sign(&key(3), &spec_of(3, &format!("fake{i}"), 1, 2))
                    .unwrap(),
                shard: 0,
                state: ShardState::default(),
                proof: vec![],
            })
            .collect();
        let report = CollectionUp::Storage {
            offered: u64::MAX,
            holding,
        };
        let frame = report.to_msg().encode().unwrap();
        let now = net.now;
        let _ = net.hub().handle(
            now,
            Input::Frame {
                conn: fake,
                bytes: &frame,
            },
        );
        while net.hub().poll_output().is_some() {}
        net.now += 1_000;
        n += MAX_HOLDINGS;
    }
    net.pump();
    assert_eq!(
        net.hub().collection_count(),
        MAX_COLLECTIONS,
        "the learned pool is full"
    );
    // An honest owner still creates its collection.
    let owner = net.join(OWNER, 0);
    let spec = spec_of(OWNER, "mine", 1, 2);
    net.send(
        owner,
        &create_msg(SignedCollection::sign(&key(OWNER), &spec).unwrap()),
    );
    assert_eq!(created(&net.take(owner)).unwrap().1, None);
}

#[test]
fn a_storage_report_past_the_holdings_bound_is_refused_whole() {
    let mut net = Net::new();
    let owner = net.join(OWNER, 0);
    net.join(1, u64::MAX);
    net.join(2, u64::MAX);
    let reporter = net.join(3, 0);
    let holdings = |n: usize| -> Vec<Holding> {
        (0..n)
            .map(|i| Holding {
                collection: SignedCollection::sign(
                    &key(OWNER),
                    &spec_of(OWNER, &format!("held{i}"), 1, 2),
                )
                .unwrap(),
                shard: 0,
                state: ShardState::default(),
                proof: vec![],
            })
            .collect()
    };
    let report = |holding| {
        CollectionUp::Storage {
            offered: u64::MAX,
            holding,
        }
        .to_msg()
    };

    net.send(reporter, &report(holdings(MAX_HOLDINGS + 1)));
    let refused = net.take(reporter);
    assert!(
        refused
            .iter()
            .any(|m| matches!(m, RelayMsg::Error { code, .. } if code == "EN-204")),
        "{refused:?}"
    );
    assert_eq!(net.hub().collection_count(), 0, "nothing of it was learned");

    // The reporter is cut off; the owner's own work goes on, and a report at the bound (from a
    // node that reports honestly) is taken whole.
    let spec = spec_of(OWNER, "meanwhile", 1, 2);
    net.send(
        owner,
        &create_msg(SignedCollection::sign(&key(OWNER), &spec).unwrap()),
    );
    assert_eq!(created(&net.take(owner)).unwrap().1, None);
    let honest = net.join(4, 0);
    net.send(honest, &report(holdings(MAX_HOLDINGS)));
    let answer = net.take(honest);
    assert!(
        !answer.iter().any(|m| matches!(m, RelayMsg::Error { .. })),
        "{answer:?}"
    );
    assert_eq!(net.hub().collection_count(), 1 + MAX_HOLDINGS);
}

/// With prices on: a create without its deposit places nothing (EN-238); with it, the deposit
/// is held for the storage term (not refunded as a stray escrow), and a shard task below its
/// list price or declaring no units is refused (EN-238) while one at its price is offered. At
/// the term's end each ready holder is paid one shard replica's share, the share of a replica
/// that is not ready goes back to the owner, and no credit is made.
#[test]
fn a_collection_pays_its_deposit_to_its_ready_holders_at_the_end_of_its_term() {
    use edgenet_core::ledger::{Account, EntryKind};
    let mut net = Net::with(HubConfig {
        paid_collections: true,
        storage_term_ms: 100_000,
        escrow_grace_ms: 10_000,
        ..HubConfig::default()
    });
    let conns: Vec<ConnId> = (1..=2).map(|s| net.join(s, 1 << 30)).collect();
    let owner = net.join(OWNER, 0);
    let payer = Account::of(&key(OWNER).node_id());
    support::mint(net.hub(), payer, 1_000_000);
    let spec = spec_of(OWNER, "paid", 2, 2);
    let id = spec.id();
    let signed = SignedCollection::sign(&key(OWNER), &spec).unwrap();
    net.send(owner, &create_msg(signed.clone()));
    assert_eq!(
        created(&net.take(owner)).unwrap().1.as_deref(),
        Some("EN-238")
    );
    assert!(net.hub().collection_view(&id).is_none());
    assert!(conns.iter().all(|&c| holds(&net.take(c)).is_empty()));

    let deposit = spec.deposit();
    assert_eq!(
        deposit,
        4 * edgenet_core::collection::DEPOSIT_PER_SHARD_REPLICA
    );
    let escrow = EntryKind::Escrow {
        task: id.deposit_task(),
        amount: deposit,
    };
    let msg = support::own_entry(net.hub(), OWNER, escrow);
    net.send(owner, &msg);
    net.send(owner, &create_msg(signed));
    assert_eq!(created(&net.take(owner)).unwrap().1, None);
    net.tick(20_000);
    assert_eq!(
        net.hub().ledger().account(&payer).escrowed,
        deposit,
        "held past the escrow grace"
    );

    // 3 query vectors on a shard of 2 replicas: 6,000 micro-credits.
    let priced = |task: u8, vectors: u32, max_credits: u64| match shard_task(
        task,
        TaskKind::SHARD_SEARCH,
        id,
        0,
        vectors,
    ) {
        ClientMsg::SubmitShard { mut spec, target } => {
            spec.max_credits = max_credits;
            ClientMsg::SubmitShard { spec, target }
        }
        _ => unreachable!(),
    };
    for (task, vectors, offered) in [(1, 3, 5_999), (2, 0, 6_000), (3, 3, 0)] {
        net.send(owner, &priced(task, vectors, offered));
        let msgs = net.take(owner);
        assert_eq!(
            failed_code(&msgs, TaskId([task; 16])).as_deref(),
            Some("EN-238"),
            "{vectors} units for {offered}"
        );
    }
    let paid = EntryKind::Escrow {
        task: TaskId([4; 16]),
        amount: 6_000,
    };
    let msg = support::own_entry(net.hub(), OWNER, paid);
    net.send(owner, &msg);
    net.send(owner, &priced(4, 3, 6_000));
    assert!(
        net.take(owner)
            .iter()
            .any(|m| matches!(m, RelayMsg::ShardAccepted { task, .. } if *task == TaskId([4; 16])))
    );

    // Holder 1 overstates shard 1: that replica is not ready at the term's end.
    let inflated = ShardState {
        batches: 1_000,
        ..ShardState::default()
    };
    let claim = CollectionUp::ShardState {
        collection: id,
        shard: 1,
        state: inflated,
        proof: head(id, 1, &inflated),
    };
    net.send(conns[0], &claim.to_msg());
    let ready = |net: &mut Net, seed: u8| -> usize {
        let node = key(seed).node_id().to_string();
        let view = net.hub().collection_view(&id).unwrap();
        view.shards
            .iter()
            .filter(|s| s.holders.iter().any(|h| h.node == node && h.ready))
            .count()
    };
    assert_eq!((ready(&mut net, 1), ready(&mut net, 2)), (1, 2));
    net.tick(100_000);
    let share = edgenet_core::collection::DEPOSIT_PER_SHARD_REPLICA;
    let earned = |net: &mut Net, seed: u8| {
        net.hub()
            .ledger()
            .account(&Account::of(&key(seed).node_id()))
            .earned
    };
    assert_eq!(
        (earned(&mut net, 1), earned(&mut net, 2)),
        (share, 2 * share)
    );
    let owner_after = net.hub().ledger().account(&payer);
    assert_eq!(
        owner_after.escrowed, 0,
        "the deposit closed, the search refunded"
    );
    assert_eq!(owner_after.spent, 3 * share);
    assert_eq!(owner_after.balance, 1_000_000 - 3 * share);
}

/// An owner that declares fewer vectors than its batch holds (to pay less) gets a shard whose
/// replicas all hold more than was routed: none is ready, and its next insert is refused. The
/// understatement buys nothing.
#[test]
fn an_insert_that_understates_its_vectors_leaves_its_shard_without_a_ready_replica() {
    let mut net = Net::new();
    let owner = net.join(OWNER, 0);
    let conns: Vec<ConnId> = (1..=2).map(|s| net.join(s, 1 << 30)).collect();
    let spec = spec_of(OWNER, "c", 1, 2);
    net.send(
        owner,
        &create_msg(SignedCollection::sign(&key(OWNER), &spec).unwrap()),
    );
    let id = spec.id();
    // Declared 1 vector; the holders applied the batch's 100.
    net.send(owner, &shard_task(5, TaskKind::VECTOR_INSERT, id, 0, 1));
    let state = ShardState::default().after(b"batch", 100);
    report_signed(&mut net, &conns, id, state);
    assert_eq!(
        net.hub().collection_view(&id).unwrap().shards[0].live_replicas,
        0
    );
    net.take(owner);
    net.send(owner, &shard_task(6, TaskKind::VECTOR_INSERT, id, 0, 1));
    assert_eq!(
        failed_code(&net.take(owner), TaskId([6; 16])).as_deref(),
        Some("EN-232")
    );
}
