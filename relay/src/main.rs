//! `edgenet-relay`: one binary, zero config. Flags or `EDGENET_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use edgenet_core::ErrorCode;
use edgenet_ops::logging::LogFormat;
use edgenet_proto::hub::HubConfig;
use edgenet_relay::serve::{HttpLimits, Tls};
use edgenet_relay::{AppConfig, Cidr, SocketLimits, TrustedProxies, app};

#[derive(Parser, Debug)]
#[command(name = "edgenet-relay", version, about = "EdgeNet relay")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "EDGENET_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder for the relay's identity and store.
    #[arg(long, env = "EDGENET_DATA_DIR", default_value = ".edgenet-relay")]
    data_dir: PathBuf,
    /// Serve the demo site from this folder instead of the copy built into the relay.
    #[arg(long, env = "EDGENET_WWW")]
    www: Option<PathBuf>,
    /// Serve the browser package from this folder instead of the copy built into the relay.
    #[arg(long, env = "EDGENET_PKG")]
    pkg: Option<PathBuf>,
    /// Messages one identity may send per minute before it is disconnected (EN-207).
    #[arg(long, env = "EDGENET_MAX_MESSAGES_PER_MINUTE", default_value_t = 6_000)]
    max_messages_per_minute: u32,
    /// Open WebSocket connections allowed from one IP address (EN-215).
    #[arg(long, env = "EDGENET_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    max_connections_per_ip: usize,
    /// Frames queued per connection before it is dropped as a slow consumer (EN-214).
    #[arg(long, env = "EDGENET_QUEUE_FRAMES", default_value_t = 1024)]
    queue_frames: usize,
    /// Milliseconds a worker has from assignment to result before the task is reassigned.
    #[arg(long, env = "EDGENET_ASSIGNMENT_TIMEOUT_MS", default_value_t = 30_000)]
    assignment_timeout_ms: u64,
    /// Milliseconds a submitter has to send a worker it was assigned its payload; then the task
    /// fails with EN-235, the worker is free, and the submitter's message rate is charged.
    #[arg(long, env = "EDGENET_PAYLOAD_WAIT_MS", default_value_t = 10_000)]
    payload_wait_ms: u64,
    /// Milliseconds claims on a task are gathered before its workers are drawn from them at
    /// random (0: the first claims win, which favours the fastest claimers).
    #[arg(long, env = "EDGENET_CLAIM_WINDOW_MS", default_value_t = 50)]
    claim_window_ms: u64,
    /// A worker gets a spot-check canary after one of its results in this many (0: none).
    #[arg(long, env = "EDGENET_SPOT_CHECK_ONE_IN", default_value_t = 20)]
    spot_check_one_in: u32,
    /// Online time (ms, in one connection) that earns a worker the uptime bonus.
    #[arg(long, env = "EDGENET_UPTIME_PERIOD_MS", default_value_t = 3_600_000)]
    uptime_period_ms: u64,
    /// Micro-credits minted per uptime period (default 0.1 credit per hour; 0 turns it off).
    #[arg(long, env = "EDGENET_UPTIME_BONUS", default_value_t = 100_000)]
    uptime_bonus: u64,
    /// Micro-credits for passing a canary, the known-answer task a new worker gets (0: none).
    #[arg(long, env = "EDGENET_CANARY_REWARD", default_value_t = 1_000_000)]
    canary_reward: u64,
    /// Proof of work a canary's reward and each uptime period's bonus cost, in leading zero bits
    /// of an Argon2id digest (2^bits digests of 4 MiB, about 1 ms each natively; at most 24;
    /// 0 asks for none). docs/ledger.md gives the arithmetic behind the default.
    #[arg(long, env = "EDGENET_WORK_BITS", default_value_t = 12,
          value_parser = clap::value_parser!(u8).range(0..=i64::from(edgenet_core::work::MAX_BITS)))]
    work_bits: u8,
    /// Milliseconds an escrow waits for its task before it is refunded (the submitter went away).
    #[arg(long, env = "EDGENET_ESCROW_GRACE_MS", default_value_t = 60_000)]
    escrow_grace_ms: u64,
    /// Milliseconds a collection shard's holder may be away (a restart) before another node
    /// takes its place and copies the shard.
    #[arg(long, env = "EDGENET_HANDOVER_GRACE_MS", default_value_t = 10_000)]
    handover_grace_ms: u64,
    /// Refuse tasks that offer no credits (EN-221).
    #[arg(long, env = "EDGENET_PAID_ONLY")]
    paid_only: bool,
    /// Let collections be created, filled and searched without credits (a private network, a
    /// test bed). By default creating one escrows its deposit and every insert and search pays
    /// its list price (EN-238 otherwise).
    #[arg(long, env = "EDGENET_FREE_COLLECTIONS")]
    free_collections: bool,
    /// Milliseconds a collection's creation deposit keeps its room before it is paid to the
    /// shards' holders (a week).
    #[arg(long, env = "EDGENET_STORAGE_TERM_MS", default_value_t = 7 * 24 * 3_600_000)]
    storage_term_ms: u64,
    /// Milliseconds a client has to answer the challenge (EN-213).
    #[arg(long, env = "EDGENET_HANDSHAKE_TIMEOUT_MS", default_value_t = 10_000)]
    handshake_timeout_ms: u64,
    /// Bytes queued per connection before it counts as a slow consumer (at least two frames).
    #[arg(long, env = "EDGENET_QUEUE_BYTES", default_value_t = 4 * 1024 * 1024)]
    queue_bytes: usize,
    /// Milliseconds an HTTP client has to send a request's headers (idle kept-alive connections
    /// are closed after it too).
    #[arg(long, env = "EDGENET_HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    http_header_timeout_ms: u64,
    /// HTTP connections served at once (WebSockets count until their upgrade).
    #[arg(long, env = "EDGENET_MAX_HTTP_CONNECTIONS", default_value_t = 4_096)]
    max_http_connections: usize,
    /// A reverse proxy in front of the relay (an address or address/prefix; repeatable): from
    /// these peers only, `Forwarded` / `X-Forwarded-For` say which client a connection counts as
    /// for the per-IP limits. From anyone else those headers are ignored.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "EDGENET_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<Cidr>,
    /// The embedding model's directory (all-MiniLM-L6-v2 as scripts/setup.sh unpacks it),
    /// served to browser Workers under /models/minilm/ (the weights in f16, made on the first
    /// request). Default: ~/.cache/edgenet/models/all-MiniLM-L6-v2.
    #[arg(long, env = "EDGENET_MODEL_DIR")]
    model_dir: Option<PathBuf>,
    /// Serve HTTPS and WSS with this PEM certificate chain (with `--tls-key`).
    #[arg(
        long,
        value_name = "PEM",
        env = "EDGENET_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key.
    #[arg(
        long,
        value_name = "PEM",
        env = "EDGENET_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// NATS server URLs (comma-separated) of this operator's cluster: the relay joins it, lists
    /// itself in its directory and shares one ledger with the other relays (docs/federation.md).
    #[arg(long = "nats", value_name = "URL", env = "EDGENET_NATS_URL")]
    nats: Option<String>,
    /// Copies JetStream keeps of the ledger log and the directory: 3 on a three-server NATS
    /// cluster, at most the number of servers.
    #[arg(long, env = "EDGENET_NATS_REPLICAS", default_value_t = 1)]
    nats_replicas: usize,
    /// Seconds this relay's directory entry lives without being renewed (renewed every third).
    #[arg(long, env = "EDGENET_NATS_DIRECTORY_TTL_S", default_value_t = 15)]
    nats_directory_ttl_s: u64,
    /// The WebSocket URL clients reach this relay at, published in the cluster's directory.
    /// Default: ws://LISTEN/ws (wss:// with TLS).
    #[arg(long, value_name = "URL", env = "EDGENET_PUBLIC_URL")]
    public_url: Option<String>,
    /// A validator of the ledger: a relay's NodeId (`edgenet-relay id` prints it). Repeatable or
    /// comma-separated; in a cluster list every relay, this one included, the same on each.
    /// Default: this relay alone.
    #[arg(
        long = "validator",
        value_name = "NODE_ID",
        env = "EDGENET_VALIDATORS",
        value_delimiter = ','
    )]
    validators: Vec<String>,
    /// Signatures each validator entry (mint, payment, refund, slash) needs, of the relays in
    /// `--validator`: above 1, an entry takes effect once that many relays signed it (this one
    /// and others that attested it, docs/ledger.md).
    #[arg(
        long,
        value_name = "K",
        env = "EDGENET_VALIDATOR_THRESHOLD",
        default_value_t = 1
    )]
    validator_threshold: u8,
    /// Attest no other relay's entries (with `--validator-threshold` above 1): this relay then
    /// only writes its own, which the others must attest.
    #[arg(long, env = "EDGENET_NO_ATTEST")]
    no_attest: bool,
    /// Share anonymized network statistics with other operators' relays (docs/federation.md).
    #[arg(long, env = "EDGENET_FEDERATION")]
    federation: bool,
    /// The federation's NATS server (default: `--nats`).
    #[arg(long, value_name = "URL", env = "EDGENET_FEDERATION_URL")]
    federation_url: Option<String>,
    /// Send this relay's statistics (`false`: only read the others').
    #[arg(long, env = "EDGENET_FEDERATION_BROADCAST_STATS", default_value_t = true, action = clap::ArgAction::Set)]
    federation_broadcast_stats: bool,
    /// Receive-only mode: send nothing at all, read the others' statistics.
    #[arg(long, env = "EDGENET_FEDERATION_RECEIVE")]
    federation_receive: bool,
    /// Seconds between two statistics messages.
    #[arg(long, env = "EDGENET_FEDERATION_INTERVAL_S", default_value_t = 10)]
    federation_interval_s: u64,
    /// Log lines as `text` or `json` (one object per line); `EDGENET_LOG` chooses what is logged.
    #[arg(long, value_enum, env = "EDGENET_LOG_FORMAT", default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Print the relay's NodeId (creating its key in `--data-dir` if there is none): what the
    /// other relays of a cluster list with `--validator`.
    Id,
    /// Write a systemd unit that runs the relay with the flags after `--` (its identity and
    /// ledger in the unit's state directory), and print how to enable it.
    InstallService {
        #[command(flatten)]
        install: edgenet_ops::service::InstallArgs,
        /// Relay flags for the unit's command line, e.g. `-- --listen 0.0.0.0:443 --tls-cert …`
        /// (not `--data-dir`: the unit sets it).
        #[arg(last = true)]
        flags: Vec<String>,
    },
}

/// `install-service`.
fn install_service(
    install: edgenet_ops::service::InstallArgs,
    flags: Vec<String>,
) -> Result<String, String> {
    if flags
        .iter()
        .any(|f| f == "--data-dir" || f.starts_with("--data-dir="))
    {
        return Err(
            "the unit keeps the relay's data in its state directory; leave out --data-dir".into(),
        );
    }
    // A port below 1024 needs the one capability the unit otherwise drops.
    let listen = flags
        .iter()
        .position(|f| f == "--listen")
        .and_then(|i| flags.get(i + 1).cloned())
        .or_else(|| {
            flags
                .iter()
                .find_map(|f| f.strip_prefix("--listen=").map(str::to_owned))
        });
    let low_port = listen
        .and_then(|l| l.parse::<SocketAddr>().ok())
        .is_some_and(|a| a.port() < 1024);
    let service = edgenet_ops::service::Service {
        name: "edgenet-relay".into(),
        description: "EdgeNet relay".into(),
        binary: std::env::current_exe().map_err(|e| format!("where is this binary? {e}"))?,
        args: ["--data-dir".to_owned(), "%S/edgenet-relay".to_owned()]
            .into_iter()
            .chain(flags)
            .collect(),
        needs_gpu: false,
        low_port,
    };
    service.install(install.scope(), install.dry_run)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = Args::parse();
    let command = args.command.take();
    if let Some(Command::InstallService { install, flags }) = command {
        return match install_service(install, flags) {
            Ok(said) => {
                print!("{said}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: EN-304: {e}");
                ExitCode::FAILURE
            }
        };
    }
    edgenet_ops::logging::init(args.log_format);
    let key_path = args.data_dir.join("relay.key");
    let (key, origin) = match edgenet_keystore::load_or_create(&key_path) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {}: {e}", e.code());
            return ExitCode::FAILURE;
        }
    };
    if matches!(command, Some(Command::Id)) {
        println!("{}", key.node_id());
        return ExitCode::SUCCESS;
    }
    // Attestations travel over the cluster's NATS: without it, entries would wait for ever.
    if args.validator_threshold > 1 && args.nats.is_none() {
        eprintln!(
            "error: EN-307: --validator-threshold above 1 needs --nats (the relays attest there)"
        );
        return ExitCode::FAILURE;
    }
    let validators = match validator_set(&args.validators, args.validator_threshold, &key) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: EN-307: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(node_id = %key.node_id(), ?origin, key_file = %key_path.display(), "relay identity");

    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: EN-300: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);

    for (flag, dir) in [("--www", &args.www), ("--pkg", &args.pkg)] {
        if let Some(dir) = dir.as_ref().filter(|d| !d.is_dir()) {
            tracing::warn!(
                "{flag} {}: not a folder; everything under it answers 404",
                dir.display()
            );
        }
    }
    let scheme = if args.tls_cert.is_some() { "wss" } else { "ws" };
    let cluster = args
        .nats
        .clone()
        .map(|nats_url| edgenet_relay::cluster::ClusterConfig {
            nats_url,
            replicas: args.nats_replicas.max(1),
            public_url: args
                .public_url
                .clone()
                .unwrap_or_else(|| format!("{scheme}://{addr}/ws")),
            directory_ttl: Duration::from_secs(args.nats_directory_ttl_s.max(1)),
        });
    let federation = if args.federation {
        match args.federation_url.clone().or_else(|| args.nats.clone()) {
            Some(url) => Some(edgenet_relay::federation::FederationConfig {
                url,
                broadcast_stats: args.federation_broadcast_stats,
                receive_only: args.federation_receive,
                interval: Duration::from_secs(args.federation_interval_s.max(1)),
            }),
            None => {
                eprintln!(
                    "error: EN-307: federation is on but has no NATS server: set \
                     EDGENET_FEDERATION_URL (or --nats)"
                );
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    for urls in [&args.nats, &args.federation_url].into_iter().flatten() {
        if let Err(e) = edgenet_relay::nats::servers(urls) {
            eprintln!("error: EN-307: not a NATS server URL: {e}");
            return ExitCode::FAILURE;
        }
    }
    let config = AppConfig {
        www: args.www,
        pkg: args.pkg,
        hub: HubConfig {
            handshake_timeout_ms: args.handshake_timeout_ms,
            assignment_timeout_ms: args.assignment_timeout_ms,
            payload_wait_ms: args.payload_wait_ms,
            claim_window_ms: args.claim_window_ms,
            spot_check_one_in: args.spot_check_one_in,
            max_messages_per_minute: args.max_messages_per_minute,
            uptime_period_ms: args.uptime_period_ms,
            uptime_bonus: args.uptime_bonus,
            paid_only: args.paid_only,
            paid_collections: !args.free_collections,
            storage_term_ms: args.storage_term_ms,
            canary_reward: args.canary_reward,
            escrow_grace_ms: args.escrow_grace_ms,
            handover_grace_ms: args.handover_grace_ms,
            work_bits: args.work_bits,
            attests: !args.no_attest,
            ..HubConfig::default()
        },
        sockets: SocketLimits {
            queue_frames: args.queue_frames.max(1),
            queue_bytes: args.queue_bytes.max(2 * edgenet_proto::MAX_FRAME_LEN),
            max_connections_per_ip: args.max_connections_per_ip,
        },
        ledger_store: Some(args.data_dir.join("ledger.redb")),
        trusted_proxies: TrustedProxies::new(args.trusted_proxies),
        model_dir: args.model_dir.or_else(edgenet_model_files::default_dir),
        validators,
        cluster,
        federation,
    };
    let router = match app(key, config) {
        Ok(router) => router,
        Err(e) => {
            eprintln!("error: EN-302: cannot open the ledger store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match Tls::from_pem_files(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("error: EN-303: cannot use the TLS certificate: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    // One plain line on stdout, once the relay can serve: what a person (and a test) needs to
    // connect.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("edgenet-relay listening on {scheme}://{addr}");
    let limits = HttpLimits {
        header_timeout: Duration::from_millis(args.http_header_timeout_ms.max(1)),
        max_connections: args.max_http_connections.max(1),
    };
    edgenet_relay::serve::serve(listener, router, limits, tls, shutdown_signal()).await;
    tracing::info!("relay stopped");
    ExitCode::SUCCESS
}

/// The ledger's validators from `--validator` (none given: the relay alone, 1 of 1). The set must
/// hold this relay, and every relay of a cluster must be given the same one.
fn validator_set(
    given: &[String],
    threshold: u8,
    key: &edgenet_core::SecretKey,
) -> Result<Option<edgenet_core::ledger::LedgerConfig>, String> {
    use edgenet_core::ledger::{Account, LedgerConfig};
    if given.is_empty() {
        return if threshold == 1 {
            Ok(None)
        } else {
            Err("--validator-threshold needs --validator (the relays that attest)".into())
        };
    }
    let mut accounts = Vec::with_capacity(given.len());
    for id in given {
        let node: edgenet_core::NodeId = id
            .trim()
            .parse()
            .map_err(|e| format!("--validator {id}: not a NodeId: {e}"))?;
        accounts.push(Account::of(&node));
    }
    if !accounts.contains(&Account::of(&key.node_id())) {
        return Err(format!(
            "--validator does not list this relay ({}); every relay of a cluster lists them all",
            key.node_id()
        ));
    }
    LedgerConfig::new(accounts, threshold)
        .map(Some)
        .map_err(|e| format!("--validator: {e}"))
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutdown signal received");
}
