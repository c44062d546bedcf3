//! `edgenet-node submit`: send a task of any kind ([`Job`]), wait for the verified outcome, and
//! resume the task at another relay of the cluster should the connection drop.

use std::time::Duration;

use edgenet_core::SecretKey;
use edgenet_core::task::TaskId;
use edgenet_proto::endpoint::Event;
use edgenet_proto::message::TaskSpec;
use edgenet_proto::submit::Outcome;

use crate::connection::{Connection, Profile, local_capabilities};
use crate::error::NodeError;
pub use crate::job::{Job, MatchOut, Report, Vectors, VectorsFile, build_task, report};
use crate::relays::Relays;

/// Options of `submit`.
pub struct SubmitOptions {
    /// Relay WebSocket URLs, tried in turn: the first takes the task; should its connection
    /// drop, the task is resumed at the next that answers.
    pub relay: Vec<String>,
    /// What to run.
    pub job: Job,
    /// Distinct workers.
    pub redundancy: u8,
    /// Task timeout.
    pub timeout: Duration,
    /// Micro-credits to escrow and offer for the task (0: an unpaid task, if the relay runs them).
    pub pay: u64,
}

/// Submits and waits for the verified outcome. A paid task (`pay` > 0) is escrowed first by the
/// endpoint's chain writer (`edgenet_proto::chain`, as in the browser); whether the balance
/// covers it, the relay decides when the task is submitted.
///
/// A connection lost once the task went out does not end it: the task is resumed at the next
/// relay of `options.relay` (and of the cluster's directory) that answers, where a relay that
/// knows the task picks it up (`hub/cluster/records.rs` in edgenet-proto) or says how it ended. Only
/// when no relay answers before the task's backstop does it fail with EN-218.
pub async fn submit(
    key: SecretKey,
    options: &SubmitOptions,
) -> Result<(Outcome, TaskId), NodeError> {
    let payload = options.job.payload()?;
    let spec = TaskSpec {
        id: TaskId::random(&mut edgenet_core::rng::os_rng()),
        kind: options.job.kind(),
        redundancy: options.redundancy,
        max_credits: options.pay,
        priority: 0,
        timeout_ms: u32::try_from(options.timeout.as_millis()).unwrap_or(u32::MAX),
    };
    // This connection only submits: offering no task kinds keeps the relay from offering it work,
    // a canary or the uptime bonus meant for workers.
    let profile = Profile {
        capabilities: edgenet_proto::message::Capabilities {
            kernels: Vec::new(),
            ..local_capabilities()
        },
        max_jobs: 0,
    };
    let mut relays = Relays::new(options.relay.clone());
    let (mut conn, _) = Connection::open(relays.current(), key.clone(), profile.clone()).await?;
    let id = conn.submit(spec, payload).await?;
    let deadline = tokio::time::Instant::now() + options.timeout + BACKSTOP;
    tracing::info!(task = %id, redundancy = options.redundancy, "submitted");
    // The relay fails the task at its timeout; the endpoint's backstop covers a relay that never
    // answers.
    let outcome = loop {
        let event = match conn.next_event().await {
            Ok(event) => event,
            Err(NodeError::ConnectionLost(why)) => {
                let now = conn.now();
                let detached = conn.endpoint().detach(now);
                if detached.is_empty() {
                    return Err(NodeError::ConnectionLost(why));
                }
                tracing::warn!(task = %id, error = %why, "relay lost; resuming the task elsewhere");
                learn_relays(&mut relays).await;
                conn = resume_elsewhere(&mut relays, &key, &profile, detached, deadline).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        match event {
            Event::Accepted { task } if task == id => tracing::info!(%task, "accepted"),
            Event::Progress {
                task,
                assigned,
                results,
                needed,
            } if task == id => tracing::info!(%task, assigned, results, needed, "progress"),
            Event::Done { task, outcome, .. } if task == id => break outcome,
            Event::Failed { task, error } if task == id => return Err(NodeError::Proto(error)),
            Event::RelayError { code, message } => {
                return Err(NodeError::Proto(edgenet_proto::ProtoError::Remote {
                    code,
                    message,
                }));
            }
            _ => {}
        }
    };
    conn.close().await;
    Ok((outcome, id))
}

/// The endpoint's backstop past a task's timeout, as a duration.
const BACKSTOP: Duration = Duration::from_millis(edgenet_proto::endpoint::RESULT_BACKSTOP_MS);
/// Wait between two rounds of trying every relay.
const RESUME_RETRY: Duration = Duration::from_millis(250);

/// Adds the cluster's relays, as the directory of the first given relay that answers lists them
/// (asked only once a relay is lost, so that a task that never needs them costs nothing).
async fn learn_relays(relays: &mut Relays) {
    for url in relays.all().to_vec() {
        let asked = tokio::time::timeout(Duration::from_secs(2), Relays::fetch(&url)).await;
        if let Ok(Ok(learned)) = asked {
            relays.add(learned);
            return;
        }
    }
}

/// Connects to the next relay that answers (the one just lost last, so a restarted relay is
/// tried too) and resumes `detached` there; gives up with EN-218 at `deadline`.
async fn resume_elsewhere(
    relays: &mut Relays,
    key: &SecretKey,
    profile: &Profile,
    detached: Vec<edgenet_proto::endpoint::Detached>,
    deadline: tokio::time::Instant,
) -> Result<Connection, NodeError> {
    while tokio::time::Instant::now() < deadline {
        relays.rotate();
        let url = relays.current().to_owned();
        match Connection::open(&url, key.clone(), profile.clone()).await {
            Ok((mut conn, _)) => {
                let now = conn.now();
                for d in detached {
                    let task = d.id();
                    conn.endpoint().resume(d, now)?;
                    tracing::info!(%task, relay = %url, "resumed");
                }
                conn.flush().await?;
                return Ok(conn);
            }
            Err(e) => {
                tracing::debug!(relay = %url, error = %e, "relay not reachable");
                tokio::time::sleep(RESUME_RETRY).await;
            }
        }
    }
    Err(NodeError::Proto(edgenet_proto::ProtoError::ConnectionLost))
}
