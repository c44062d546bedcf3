//! Shared vector collections on real processes: a relay, five native holders and the owner's
//! client. Filled through the network, searched against brute force, and kept alive through
//! holders killed mid-insert, mid-search, all restarted, and one that lies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::Path;
use std::time::Duration;

use edgenet_core::collection::{CollectionId, CollectionSpec};
use edgenet_core::kinds::vector_search::SearchMetric;
use edgenet_e2e::{Relay, Worker, node, node_stdout, wait_until};
use edgenet_node::collection::{Client, Info, info};

const WAIT: Duration = Duration::from_secs(60);
/// Storage each holder offers: plenty for the tests that are not about running out.
const PLENTY: &str = "4000000000";
/// A relay that lets collections be used without credits: for the tests that are not about
/// what they cost.
const FREE: &[&str] = &["--free-collections"];

fn holder(dir: &Path, name: &str, relay: &Relay, extra: &[&str]) -> Worker {
    let data = dir.join(name).join("data");
    let data = data.to_str().unwrap();
    let mut args = vec!["--storage", PLENTY, "--data-dir", data];
    args.extend_from_slice(extra);
    Worker::start(dir, name, &relay.ws_url(), &args)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The owner's identity: a key file of its own.
fn owner_key(dir: &Path) -> edgenet_core::SecretKey {
    edgenet_keystore::load_or_create(&dir.join("owner.key"))
        .unwrap()
        .0
}

fn create(
    rt: &tokio::runtime::Runtime,
    relay: &Relay,
    dir: &Path,
    name: &str,
    dim: u32,
    shards: u16,
    replicas: u8,
) -> Info {
    let key = owner_key(dir);
    let spec = CollectionSpec::new(
        &key.node_id(),
        name,
        dim,
        SearchMetric::Cosine,
        shards,
        replicas,
    );
    let url = relay.ws_url();
    rt.block_on(async {
        let mut c = Client::connect(&url, key).await.unwrap();
        let id = c.create(&spec, false).await.unwrap();
        c.close().await;
        info(&url, &id).await.unwrap()
    })
}

/// `edgenet-node` with `args` against the relay at `url`, its report as JSON.
fn cli_json(url: &str, key: &Path, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["--relay", url, "--output", "json"]);
    node(key, &all)
}

/// The command failed with `code`.
fn refused(out: std::process::Output, code: &str) {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{code} expected, it succeeded");
    assert!(err.contains(code), "{code} expected: {err}");
}

fn collection_view(relay: &Relay, id: &str) -> serde_json::Value {
    relay.get(&format!("/api/collections/{id}"))
}

/// Every shard has `replicas` ready holders online, all in one state.
fn fully_replicated(view: &serde_json::Value, replicas: usize) -> bool {
    view["shards"].as_array().is_some_and(|shards| {
        shards.iter().all(|s| {
            let holders = s["holders"].as_array().unwrap();
            let ready: Vec<&serde_json::Value> = holders
                .iter()
                .filter(|h| h["ready"] == true && h["online"] == true)
                .collect();
            ready.len() == replicas && ready.iter().all(|h| h["digest"] == ready[0]["digest"])
        })
    })
}

/// The index of a live holder (not in `not`) that holds at least one shard in `view`.
fn holding(holders: &[Option<Worker>], view: &serde_json::Value, not: &[usize]) -> usize {
    let held: Vec<String> = view["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["holders"].as_array().unwrap().iter())
        .map(|h| h["node"].as_str().unwrap().to_owned())
        .collect();
    (0..holders.len())
        .filter(|i| !not.contains(i))
        .find(|&i| {
            holders[i].as_ref().is_some_and(|w| {
                let key = edgenet_keystore::load(&w.key_file, None).unwrap();
                held.contains(&key.node_id().to_string())
            })
        })
        .expect("a live holder holds a shard")
}

/// Brute-force top-k ids by cosine.
fn exact_top(data: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<u64> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    let qn = norm(q);
    let mut scored: Vec<(f32, u64)> = data
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| {
            let dot: f32 = v.iter().zip(q).map(|(a, b)| a * b).sum();
            (dot / (norm(v) * qn), i as u64)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

fn recall(found: &[Vec<(u64, f32)>], truth: &[Vec<u64>]) -> f64 {
    let hit: usize = found
        .iter()
        .zip(truth)
        .map(|(f, t)| f.iter().filter(|(id, _)| t.contains(id)).count())
        .sum();
    hit as f64 / truth.iter().map(Vec::len).sum::<usize>() as f64
}

/// 100,000 vectors (`EDGENET_COLLECTION_N` to change it) in four shards of three replicas on
/// five holders: recall against brute force, a holder killed mid-insert and another mid-search,
/// replicas restored, every holder restarted.
#[test]
fn a_collection_fills_answers_and_survives_its_holders() {
    let n: usize = std::env::var("EDGENET_COLLECTION_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dim = 32usize;
    let dir = tempfile::tempdir().unwrap();
    // A debug build seals each megabyte batch for each replica in about a second, many at once:
    // the payload wait is for submitters that withhold, not for this one.
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &[
            "--handover-grace-ms",
            "1500",
            "--payload-wait-ms",
            "60000",
            "--free-collections",
        ],
    );
    let mut holders: Vec<Option<Worker>> = (0..5)
        .map(|i| Some(holder(dir.path(), &format!("h{i}"), &relay, &[])))
        .collect();
    wait_until(WAIT, "5 holders", || relay.storage_peer_count() == 5);
    let rt = rt();
    let info = create(&rt, &relay, dir.path(), "docs", dim as u32, 4, 3);
    // Queries from the same distribution as the data, held out of it (as the index benchmark).
    let mut data = edgenet_kernels::sample::clustered(n + 50, dim, 7);
    let queries = data.split_off(n * dim);
    let ids: Vec<u64> = (0..n as u64).collect();
    let url = relay.ws_url();

    // The first half, then the second half with a holder SIGKILLed while it goes in.
    let half = n / 2;
    let first = rt.block_on(async {
        let mut c = Client::connect(&url, owner_key(dir.path())).await.unwrap();
        let r = c
            .insert(&info, &ids[..half], &data[..half * dim], false)
            .await
            .unwrap();
        c.close().await;
        r
    });
    assert_eq!(first.inserted, half);
    let (owner, url2, info2) = (owner_key(dir.path()), url.clone(), info.clone());
    let (ids2, data2) = (ids[half..].to_vec(), data[half * dim..].to_vec());
    let inserting = std::thread::spawn(move || {
        rt_block(async move {
            let mut c = Client::connect(&url2, owner).await.unwrap();
            let r = c.insert(&info2, &ids2, &data2, false).await;
            c.close().await;
            r
        })
    });
    std::thread::sleep(Duration::from_millis(1500));
    // A holder that holds a shard: placement follows fresh identities, and a holder left out of
    // every shard (one run in about 40) would leave nothing to hand over.
    let first_victim = holding(&holders, &collection_view(&relay, &info.id), &[]);
    holders[first_victim].take().unwrap().kill();
    let second = inserting
        .join()
        .unwrap()
        .expect("the insert goes on past a killed holder");
    assert_eq!(second.inserted, n - half);

    // No acknowledged vector lost: the shards hold all of them, and R replicas come back.
    wait_until(
        Duration::from_secs(120),
        "three ready replicas of every shard again",
        || fully_replicated(&collection_view(&relay, &info.id), 3),
    );
    let view = collection_view(&relay, &info.id);
    assert_eq!(view["vectors"], n as u64, "{view}");
    assert!(
        relay.get("/api/status")["stats"]["handovers"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // Recall@10 against brute force at the default ef.
    let truth: Vec<Vec<u64>> = queries
        .chunks_exact(dim)
        .map(|q| exact_top(&data, dim, q, 10))
        .collect();
    let search = |queries: Vec<f32>| {
        let (url, info) = (url.clone(), info.clone());
        rt.block_on(async move {
            let key = edgenet_core::SecretKey::generate(&mut edgenet_core::rng::os_rng());
            let mut c = Client::connect(&url, key).await.unwrap();
            let r = c.search(&info, &queries, 10, 0, false).await.unwrap();
            c.close().await;
            r
        })
    };
    let before = search(queries.clone());
    let r = recall(&before.hits, &truth);
    assert!(r >= 0.95, "recall@10 {r}");
    for s in before.shards.values() {
        assert_eq!(s.agreeing.len(), 3, "every replica agrees: {s:?}");
    }

    // A holder SIGKILLed while searches run: they keep answering, with the same hits.
    let (url3, info3, q3) = (url.clone(), info.clone(), queries.clone());
    let searching = std::thread::spawn(move || {
        rt_block(async move {
            let key = edgenet_core::SecretKey::generate(&mut edgenet_core::rng::os_rng());
            let mut c = Client::connect(&url3, key).await.unwrap();
            let mut all = Vec::new();
            for _ in 0..20 {
                all.push(c.search(&info3, &q3, 10, 0, false).await.unwrap().hits);
            }
            all
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    let second_victim = holding(
        &holders,
        &collection_view(&relay, &info.id),
        &[first_victim],
    );
    holders[second_victim].take().unwrap().kill();
    for hits in searching.join().unwrap() {
        assert_eq!(hits, before.hits);
    }
    wait_until(
        Duration::from_secs(120),
        "replicas restored after the search kill",
        || fully_replicated(&collection_view(&relay, &info.id), 3),
    );

    // Every holder restarted (the killed ones too): the collection answers as before.
    for h in holders.iter_mut() {
        if let Some(w) = h.take() {
            w.kill();
        }
    }
    let restarted: Vec<Worker> = (0..5)
        .map(|i| holder(dir.path(), &format!("h{i}"), &relay, &[]))
        .collect();
    wait_until(
        Duration::from_secs(120),
        "every shard back after the restart",
        || fully_replicated(&collection_view(&relay, &info.id), 3),
    );
    let after = search(queries);
    assert_eq!(after.hits, before.hits);
    drop(restarted);
}

fn rt_block<F: std::future::Future>(f: F) -> F::Output {
    rt().block_on(f)
}

/// One holder of three lies about its searches (scores, then a dropped hit): its answers are
/// outvoted, it is named, and the verified hits are the honest ones.
#[test]
fn a_lying_holder_is_outvoted_named_and_replaced() {
    for fault in ["wrong-result", "drop-hit"] {
        let dir = tempfile::tempdir().unwrap();
        let relay = Relay::start(&dir.path().join("relay"), 0, FREE);
        let honest: Vec<Worker> = (0..2)
            .map(|i| holder(dir.path(), &format!("h{i}"), &relay, &[]))
            .collect();
        let liar = holder(dir.path(), "liar", &relay, &["--fault-inject", fault]);
        wait_until(WAIT, "3 holders", || relay.storage_peer_count() == 3);
        let rt = rt();
        let info = create(&rt, &relay, dir.path(), "lies", 16, 1, 3);
        let data = edgenet_kernels::sample::clustered(2_000, 16, 3);
        let ids: Vec<u64> = (0..2_000).collect();
        let url = relay.ws_url();
        let report = rt.block_on(async {
            let mut c = Client::connect(&url, owner_key(dir.path())).await.unwrap();
            c.insert(&info, &ids, &data, false).await.unwrap();
            let report = c
                .search(&info, &data[..16 * 4], 10, 0, false)
                .await
                .unwrap();
            // Its verdict reaches the relay before the connection ends.
            c.close().await;
            report
        });
        let shard = &report.shards[&0];
        assert_eq!(shard.outvoted, vec![liar.id.clone()], "{fault}");
        let mut agreeing = shard.agreeing.clone();
        agreeing.sort();
        let mut want: Vec<String> = honest.iter().map(|w| w.id.clone()).collect();
        want.sort();
        assert_eq!(agreeing, want, "{fault}");
        // Each query's nearest is itself, at cosine 1 (an honest score).
        for (q, hits) in report.hits.iter().enumerate() {
            assert_eq!(hits.len(), 10);
            assert_eq!(hits[0].0, q as u64);
            assert!((hits[0].1 - 1.0).abs() < 1e-4, "{fault}: {hits:?}");
        }
        // The liar is dropped from the shard, and a node that joins takes its place: it copies
        // the shard from an honest replica, and the next search has three that agree.
        let spare = holder(dir.path(), "spare", &relay, &[]);
        wait_until(WAIT, "the spare holds the liar's replica", || {
            let view = collection_view(&relay, &info.id);
            let holders = view["shards"][0]["holders"].as_array().unwrap().clone();
            let ready = |id: &str| {
                holders
                    .iter()
                    .any(|h| h["node"] == id && h["ready"] == true)
            };
            view["shards"][0]["live_replicas"] == 3 && ready(&spare.id) && !ready(&liar.id)
        });
        let again = rt.block_on(async {
            let mut c = Client::connect(&url, owner_key(dir.path())).await.unwrap();
            let report = c
                .search(&info, &data[..16 * 4], 10, 0, false)
                .await
                .unwrap();
            c.close().await;
            report
        });
        assert!(again.shards[&0].outvoted.is_empty(), "{fault}");
        assert!(again.shards[&0].agreeing.contains(&spare.id), "{fault}");
        assert_eq!(again.hits, report.hits, "{fault}");
    }
}

/// The command line, and what it refuses: each refusal a clear code, and nothing stored lost.
#[test]
fn the_cli_creates_fills_searches_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, FREE);
    let url = relay.ws_url();
    let owner = dir.path().join("owner.key");
    let cli = |key: &Path, args: &[&str]| cli_json(&url, key, args);
    // Too few storage nodes for three replicas.
    let _one = holder(dir.path(), "h0", &relay, &[]);
    wait_until(WAIT, "1 holder", || relay.storage_peer_count() == 1);
    refused(
        cli(
            &owner,
            &[
                "collection",
                "create",
                "--name",
                "c",
                "--dim",
                "4",
                "--replicas",
                "3",
            ],
        ),
        "EN-228",
    );
    let _more: Vec<Worker> = (1..3)
        .map(|i| holder(dir.path(), &format!("h{i}"), &relay, &[]))
        .collect();
    wait_until(WAIT, "3 holders", || relay.storage_peer_count() == 3);
    refused(
        cli(
            &owner,
            &["collection", "create", "--name", "Bad Name", "--dim", "4"],
        ),
        "EN-190",
    );
    let created = cli(
        &owner,
        &[
            "collection",
            "create",
            "--name",
            "c",
            "--dim",
            "4",
            "--shards",
            "2",
            "--replicas",
            "3",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let id = serde_json::from_slice::<serde_json::Value>(&created.stdout).unwrap()["collection"]
        .as_str()
        .unwrap()
        .to_owned();
    let write = |name: &str, json: serde_json::Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, json.to_string()).unwrap();
        path.display().to_string()
    };
    let good = write(
        "good.json",
        serde_json::json!({ "ids": [1, 2, 3], "vectors": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }),
    );
    let out = cli(
        &owner,
        &["collection", "insert", "--collection", &id, "--file", &good],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["inserted"], 3);

    // Wrong dimension, an id already stored, a non-owner, an unknown collection.
    let wrong_dim = write(
        "dim.json",
        serde_json::json!({ "ids": [9], "vectors": [[1, 0, 0]] }),
    );
    refused(
        cli(
            &owner,
            &[
                "collection",
                "insert",
                "--collection",
                &id,
                "--file",
                &wrong_dim,
            ],
        ),
        "EN-404",
    );
    let again = write(
        "dup.json",
        serde_json::json!({ "ids": [2, 7], "vectors": [[1, 1, 0, 0], [0, 0, 0, 1]] }),
    );
    let dup = cli(
        &owner,
        &[
            "collection",
            "insert",
            "--collection",
            &id,
            "--file",
            &again,
        ],
    );
    // Id 7 may be in the other shard and go in; id 2's shard refuses its whole batch.
    refused(dup, "EN-405");
    let stranger = dir.path().join("stranger.key");
    refused(
        cli(
            &stranger,
            &["collection", "insert", "--collection", &id, "--file", &good],
        ),
        "EN-192",
    );
    let unknown = CollectionId([7; 16]).to_string();
    refused(
        cli(&owner, &["collection", "info", "--collection", &unknown]),
        "EN-230",
    );
    refused(
        cli(
            &owner,
            &[
                "collection",
                "search",
                "--collection",
                &unknown,
                "--query-file",
                &good,
            ],
        ),
        "EN-230",
    );

    // Nothing stored was lost: 1, 2, 3 are found, each its own nearest.
    let query = write(
        "q.json",
        serde_json::json!({ "queries": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }),
    );
    let out = cli(
        &owner,
        &[
            "collection",
            "search",
            "--collection",
            &id,
            "--query-file",
            &query,
            "--k",
            "1",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tops: Vec<u64> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0][0].as_u64().unwrap())
        .collect();
    assert_eq!(tops, [1, 2, 3]);
    let info_text = node_stdout(
        &owner,
        &["collection", "info", "--collection", &id, "--relay", &url],
    );
    assert!(info_text.contains("dimension 4"), "{info_text}");
}

/// A collection larger than its holders offer is refused at the insert (EN-231), and what was
/// stored stays.
#[test]
fn an_insert_past_the_offered_storage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, FREE);
    // Room for a few hundred 64-dimension vectors each.
    let data = |i: usize| {
        dir.path()
            .join(format!("s{i}"))
            .join("data")
            .display()
            .to_string()
    };
    let small: Vec<Worker> = (0..2)
        .map(|i| {
            let d = data(i);
            Worker::start(
                dir.path(),
                &format!("s{i}"),
                &relay.ws_url(),
                &["--storage", "400000", "--data-dir", &d],
            )
        })
        .collect();
    wait_until(WAIT, "2 holders", || relay.storage_peer_count() == 2);
    let rt = rt();
    let info = create(&rt, &relay, dir.path(), "small", 64, 1, 2);
    let vectors = edgenet_kernels::sample::clustered(1_000, 64, 1);
    let url = relay.ws_url();
    let (fits, too_many) = rt.block_on(async {
        let mut c = Client::connect(&url, owner_key(dir.path())).await.unwrap();
        let ids: Vec<u64> = (0..100).collect();
        let fits = c.insert(&info, &ids, &vectors[..100 * 64], false).await;
        let more: Vec<u64> = (100..1000).collect();
        let too_many = c.insert(&info, &more, &vectors[100 * 64..], false).await;
        (fits, too_many)
    });
    assert_eq!(fits.unwrap().inserted, 100);
    let err = too_many.unwrap_err();
    assert!(
        edgenet_core::ErrorCode::code(&err) == "EN-231" || err.to_string().contains("EN-231"),
        "{err}"
    );
    let view = collection_view(&relay, &info.id);
    assert_eq!(view["vectors"], 100, "{view}");
    drop(small);
}

/// On a relay that prices collections (its default), creating one escrows its deposit, every
/// insert and search carries its list price, and what is not paid is refused with EN-238. At the
/// end of the storage term the deposit goes to the holders: the owner spends exactly the
/// deposit and the list prices, and nothing is left escrowed.
#[test]
fn a_collection_costs_its_deposit_and_its_list_prices() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &[
            "--uptime-period-ms",
            "300",
            "--uptime-bonus",
            "1000000",
            "--storage-term-ms",
            "10000",
        ],
    );
    let url = relay.ws_url();
    let account = |id: &str| relay.get(&format!("/api/ledger/{id}"));
    // The owner earns its credits as a worker (uptime), then only submits.
    let earner = Worker::start(dir.path(), "owner", &url, &[]);
    wait_until(WAIT, "the owner's credits", || {
        account(&earner.id)["balance"].as_u64().unwrap() >= 2_000_000
    });
    let (owner, owner_id) = (earner.key_file.clone(), earner.id.clone());
    earner.kill();
    let _holders: Vec<Worker> = (0..3)
        .map(|i| holder(dir.path(), &format!("h{i}"), &relay, &[]))
        .collect();
    wait_until(WAIT, "3 holders", || relay.storage_peer_count() == 3);
    let cli = |key: &Path, args: &[&str]| cli_json(&url, key, args);
    let create = [
        "collection",
        "create",
        "--name",
        "paid",
        "--dim",
        "4",
        "--shards",
        "2",
    ];
    refused(cli(&owner, &create), "EN-238");
    let named = CollectionId::of(&owner_id.parse().unwrap(), "paid");
    let (status, _) = relay.get_raw(&format!("/api/collections/{named}"));
    assert_eq!(status, 404, "an unpaid create placed nothing");

    let created = cli(&owner, &[&create[..], &["--pay"]].concat());
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let id = serde_json::from_slice::<serde_json::Value>(&created.stdout).unwrap()["collection"]
        .as_str()
        .unwrap()
        .to_owned();
    // 2 shards × 3 replicas × 0.07 credit.
    let deposit = 2 * 3 * edgenet_core::collection::DEPOSIT_PER_SHARD_REPLICA;
    assert_eq!(account(&owner_id)["escrowed"].as_u64().unwrap(), deposit);

    let file = dir.path().join("v.json");
    std::fs::write(
        &file,
        serde_json::json!({ "ids": [1, 2, 3], "vectors": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] })
            .to_string(),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let insert = ["collection", "insert", "--collection", &id, "--file", file];
    refused(cli(&owner, &insert), "EN-238");
    let out = cli(&owner, &[&insert[..], &["--pay"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Anyone may search, and pays for it: a fresh identity that does not is refused.
    let queries = dir.path().join("q.json");
    std::fs::write(
        &queries,
        serde_json::json!({ "queries": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }).to_string(),
    )
    .unwrap();
    let queries = queries.to_str().unwrap();
    let search = [
        "collection",
        "search",
        "--collection",
        &id,
        "--query-file",
        queries,
        "--k",
        "1",
    ];
    refused(cli(&dir.path().join("stranger.key"), &search), "EN-238");
    let out = cli(&owner, &[&search[..], &["--pay"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The term ends: each of the 6 shard replicas is paid its share, nothing stays escrowed.
    wait_until(WAIT, "the deposit paid out", || {
        account(&owner_id)["escrowed"].as_u64().unwrap() == 0
    });
    // 3 vectors × 0.05 credit × 3 replicas, 3 queries × 0.001 credit × 3 replicas × 2 shards.
    let prices = 3 * edgenet_core::collection::INSERT_PRICE_PER_VECTOR * 3
        + 3 * edgenet_core::collection::SEARCH_PRICE_PER_QUERY * 3 * 2;
    assert_eq!(
        account(&owner_id)["spent"].as_u64().unwrap(),
        deposit + prices
    );
}
