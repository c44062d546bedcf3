//! `collection`: create, insert into, search and show shared vector collections.

use std::path::PathBuf;

use clap::Subcommand;
use edgenet_keystore::load_or_create;
use edgenet_node::error::NodeError;

use super::{Failure, MetricArg, OutputArg, runtime};

#[derive(clap::Args)]
pub(crate) struct CollectionCommon {
    /// Relay WebSocket URL (its HTTP API answers on the same address).
    #[arg(long, env = "EDGENET_RELAY", default_value = "ws://127.0.0.1:8080/ws")]
    pub(crate) relay: String,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = OutputArg::Text)]
    pub(crate) output: OutputArg,
}

#[derive(Subcommand)]
pub(crate) enum CollectionCmd {
    /// Create a collection; prints its id.
    Create {
        /// Its name (a-z 0-9 - _ .), unique per owner.
        #[arg(long)]
        name: String,
        /// Vector dimension.
        #[arg(long)]
        dim: u32,
        /// How vectors compare.
        #[arg(long, value_enum, default_value_t = MetricArg::Cosine)]
        metric: MetricArg,
        /// Shards the ids are split into.
        #[arg(long, default_value_t = 4)]
        shards: u16,
        /// Holders of each shard.
        #[arg(long, default_value_t = 3)]
        replicas: u8,
        /// Escrow the creation deposit (0.07 credit per shard replica: a week of 1 MB at
        /// 0.01 credit/MB/day), which a relay that prices collections asks for (EN-238).
        #[arg(long)]
        pay: bool,
        #[command(flatten)]
        common: CollectionCommon,
    },
    /// Insert the vectors of a JSON file {"ids": [...], "vectors": [[...], ...]}.
    Insert {
        /// The collection's id.
        #[arg(long)]
        collection: String,
        /// The file.
        #[arg(long)]
        file: PathBuf,
        /// Escrow and pay the list price (0.5 credit per 100 vectors per replica).
        #[arg(long)]
        pay: bool,
        #[command(flatten)]
        common: CollectionCommon,
    },
    /// Search with the queries of a JSON file {"queries": [[...], ...]} (or {"query": [...]}).
    Search {
        /// The collection's id.
        #[arg(long)]
        collection: String,
        /// The file.
        #[arg(long)]
        query_file: PathBuf,
        /// Neighbours per query.
        #[arg(long, default_value_t = 10)]
        k: u32,
        /// Candidates kept while searching (0: the default, 64).
        #[arg(long, default_value_t = 0)]
        ef: u16,
        /// Escrow and pay the list price (1 credit per 1,000 queries per replica).
        #[arg(long)]
        pay: bool,
        #[command(flatten)]
        common: CollectionCommon,
    },
    /// Show a collection's placement, sizes and replica health.
    Info {
        /// The collection's id.
        #[arg(long)]
        collection: String,
        #[command(flatten)]
        common: CollectionCommon,
    },
}

pub(crate) fn execute(key_file: &std::path::Path, action: CollectionCmd) -> Result<(), Failure> {
    use edgenet_node::collection::{self, Client};
    let parse_id =
        |s: &str| -> Result<edgenet_core::collection::CollectionId, Failure> { Ok(s.parse()?) };
    let print = |output: OutputArg, value: serde_json::Value, text: String| {
        if output == OutputArg::Json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    };
    let rt = runtime()?;
    match action {
        CollectionCmd::Create {
            name,
            dim,
            metric,
            shards,
            replicas,
            pay,
            common,
        } => {
            let (key, _) = load_or_create(key_file)?;
            let spec = edgenet_core::collection::CollectionSpec::new(
                &key.node_id(),
                &name,
                dim,
                metric.into(),
                shards,
                replicas,
            );
            spec.validate()?;
            let id = rt.block_on(async {
                let mut client = Client::connect(&common.relay, key).await?;
                let id = client.create(&spec, pay).await;
                client.close().await;
                id
            })?;
            print(
                common.output,
                serde_json::json!({ "collection": id.to_string(), "name": name }),
                id.to_string(),
            );
        }
        CollectionCmd::Insert {
            collection,
            file,
            pay,
            common,
        } => {
            let id = parse_id(&collection)?;
            let input: InsertFile = read_json(&file)?;
            let flat: Vec<f32> = input.vectors.iter().flatten().copied().collect();
            let (key, _) = load_or_create(key_file)?;
            let report = rt.block_on(async {
                let info = collection::info(&common.relay, &id).await?;
                if info.owner != key.node_id().to_string() {
                    return Err(edgenet_node::error::NodeError::Proto(
                        edgenet_proto::error::CollectionRefusal::Spec(
                            edgenet_core::collection::CollectionError::NotOwner,
                        )
                        .into(),
                    ));
                }
                // Rows of the wrong length are caught before anything is sent.
                if let Some(row) = input
                    .vectors
                    .iter()
                    .position(|v| v.len() != info.dim as usize)
                {
                    return Err(edgenet_node::error::NodeError::Proto(
                        edgenet_proto::ProtoError::Remote {
                            code: "EN-404".into(),
                            message: format!(
                                "vector {row} has {} values; the collection's have {}",
                                input.vectors[row].len(),
                                info.dim
                            ),
                        },
                    ));
                }
                let mut client = Client::connect(&common.relay, key).await?;
                let report = client.insert(&info, &input.ids, &flat, pay).await;
                client.close().await;
                report
            })?;
            let text = format!(
                "inserted {} vectors in {} batches into {} ({:.1} s)",
                report.inserted, report.batches, report.collection, report.seconds
            );
            print(
                common.output,
                serde_json::to_value(&report).unwrap_or_default(),
                text,
            );
        }
        CollectionCmd::Search {
            collection,
            query_file,
            k,
            ef,
            pay,
            common,
        } => {
            let id = parse_id(&collection)?;
            let queries: QueryFile = read_json(&query_file)?;
            // A search may come from anyone: a fresh identity unless paying.
            let key = if pay {
                load_or_create(key_file)?.0
            } else {
                edgenet_core::SecretKey::generate(&mut edgenet_core::rng::os_rng())
            };
            let report = rt.block_on(async {
                let info = collection::info(&common.relay, &id).await?;
                let mut client = Client::connect(&common.relay, key).await?;
                let report = client.search(&info, &queries.flat(), k, ef, pay).await;
                client.close().await;
                report
            })?;
            let mut text = String::new();
            for (q, hits) in report.hits.iter().enumerate() {
                let shown: Vec<String> =
                    hits.iter().map(|(i, s)| format!("{i} ({s:.4})")).collect();
                text.push_str(&format!("query {q}: {}\n", shown.join(", ")));
            }
            for (shard, s) in &report.shards {
                text.push_str(&format!(
                    "shard {shard}: {} vectors, verified by {} holders{}\n",
                    s.vectors,
                    s.agreeing.len(),
                    if s.outvoted.is_empty() {
                        String::new()
                    } else {
                        format!(", outvoted: {}", s.outvoted.join(", "))
                    }
                ));
            }
            print(
                common.output,
                serde_json::to_value(&report).unwrap_or_default(),
                text.trim_end().to_owned(),
            );
        }
        CollectionCmd::Info { collection, common } => {
            let id = parse_id(&collection)?;
            let info = rt.block_on(collection::info(&common.relay, &id))?;
            let text = format!(
                "{} ({}): {} vectors of dimension {} ({}), {} shards × {} replicas",
                info.name,
                info.id,
                info.vectors,
                info.dim,
                info.metric,
                info.shards.len(),
                info.replicas
            );
            print(
                common.output,
                serde_json::to_value(&info).unwrap_or_default(),
                text,
            );
        }
    }
    Ok(())
}

/// The JSON an insert reads: `{ "ids": [...], "vectors": [[...], ...] }`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct InsertFile {
    /// The ids.
    pub(crate) ids: Vec<u64>,
    /// One vector per id.
    pub(crate) vectors: Vec<Vec<f32>>,
}

/// The JSON a search reads: `{ "queries": [[...], ...] }` or `{ "query": [...] }`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct QueryFile {
    /// Several queries.
    #[serde(default)]
    pub(crate) queries: Vec<Vec<f32>>,
    /// One query.
    #[serde(default)]
    pub(crate) query: Vec<f32>,
}

impl QueryFile {
    /// The queries, row-major.
    pub(crate) fn flat(&self) -> Vec<f32> {
        let mut all = self.query.clone();
        all.extend(self.queries.iter().flatten());
        all
    }
}

/// Reads a JSON file.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<T, NodeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Input(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| NodeError::Input(format!("{}: {e}", path.display())))
}
