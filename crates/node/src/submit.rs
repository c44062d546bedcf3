//! `edgenet-node submit`: send a task of any kind ([`Job`]), wait for the verified outcome, and
//! resume the task at another relay of the cluster should the connection drop.

use std::collections::HashMap;
use std::time::Duration;

use edgenet_core::SecretKey;
use edgenet_core::task::{TaskId, TaskKind};
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
    let spec = task_spec(
        options.job.kind(),
        options.redundancy,
        options.pay,
        options.timeout,
    );
    let id = spec.id;
    let mut done = submit_all(key, &options.relay, vec![(spec, payload)], 1).await?;
    let outcome = done
        .pop()
        .unwrap_or_else(|| Err(NodeError::Input("no task".into())))?;
    Ok((outcome, id))
}

/// A fresh task's spec.
pub fn task_spec(kind: TaskKind, redundancy: u8, pay: u64, timeout: Duration) -> TaskSpec {
    TaskSpec {
        id: TaskId::random(&mut edgenet_core::rng::os_rng()),
        kind,
        redundancy,
        max_credits: pay,
        priority: 0,
        timeout_ms: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
    }
}

/// Submits `tasks` over one connection, at most `window` open at once (a relay bounds the
/// tasks one submitter has open: 64 by default), and waits for each one's verified outcome or
/// failure, returned in the order given. A connection that errs before any task is out fails
/// the whole call; lost afterwards, the open tasks are resumed elsewhere as [`submit`] says.
pub async fn submit_all(
    key: SecretKey,
    relay: &[String],
    tasks: Vec<(TaskSpec, Vec<u8>)>,
    window: usize,
) -> Result<Vec<Result<Outcome, NodeError>>, NodeError> {
    // This connection only submits: offering no task kinds keeps the relay from offering it work,
    // a canary or the uptime bonus meant for workers.
    let profile = Profile {
        capabilities: edgenet_proto::message::Capabilities {
            kernels: Vec::new(),
            ..local_capabilities()
        },
        max_jobs: 0,
    };
    let order: Vec<TaskId> = tasks.iter().map(|(spec, _)| spec.id).collect();
    let longest = tasks
        .iter()
        .map(|(spec, _)| Duration::from_millis(u64::from(spec.timeout_ms)))
        .max()
        .unwrap_or_default();
    let mut waiting = tasks.into_iter();
    let mut outcomes: HashMap<TaskId, Result<Outcome, NodeError>> = HashMap::new();
    let mut relays = Relays::new(relay.to_vec());
    let (mut conn, _) = Connection::open(relays.current(), key.clone(), profile.clone()).await?;
    let mut open = 0usize;
    let mut deadline = tokio::time::Instant::now() + longest + BACKSTOP;
    while outcomes.len() < order.len() {
        while open < window.max(1)
            && let Some((spec, payload)) = waiting.next()
        {
            let redundancy = spec.redundancy;
            let id = conn.submit(spec, payload).await?;
            tracing::info!(task = %id, redundancy, "submitted");
            open += 1;
            deadline = tokio::time::Instant::now() + longest + BACKSTOP;
        }
        let event = match conn.next_event().await {
            Ok(event) => event,
            Err(NodeError::ConnectionLost(why)) => {
                let now = conn.now();
                let detached = conn.endpoint().detach(now);
                if detached.is_empty() {
                    return Err(NodeError::ConnectionLost(why));
                }
                tracing::warn!(error = %why, tasks = detached.len(), "relay lost; resuming the tasks elsewhere");
                learn_relays(&mut relays).await;
                conn = resume_elsewhere(&mut relays, &key, &profile, detached, deadline).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let total = order.len();
        let mut ended = |task: TaskId, result: Result<Outcome, NodeError>| {
            if order.contains(&task) && !outcomes.contains_key(&task) {
                let ok = result.is_ok();
                outcomes.insert(task, result);
                open = open.saturating_sub(1);
                if total > 1 {
                    tracing::info!(%task, ok, done = outcomes.len(), total, "job progress");
                }
            }
        };
        match event {
            Event::Accepted { task } => tracing::info!(%task, "accepted"),
            Event::Progress {
                task,
                assigned,
                results,
                needed,
            } => tracing::info!(%task, assigned, results, needed, "progress"),
            Event::Done { task, outcome, .. } => ended(task, Ok(outcome)),
            Event::Failed { task, error } => ended(task, Err(NodeError::Proto(error))),
            Event::RelayError { code, message } => {
                return Err(NodeError::Proto(edgenet_proto::ProtoError::Remote {
                    code,
                    message,
                }));
            }
            _ => {}
        }
    }
    conn.close().await;
    Ok(order
        .iter()
        .map(|id| {
            outcomes
                .remove(id)
                .unwrap_or_else(|| Err(NodeError::Input("no outcome".into())))
        })
        .collect())
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
