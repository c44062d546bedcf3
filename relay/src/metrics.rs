//! `GET /metrics`: the relay's counters in Prometheus' text format, rendered by the `prometheus`
//! crate's encoder from one snapshot taken under the hub's lock (so the numbers of one scrape
//! agree with each other), and `GET /healthz`, `GET /readyz` for supervisors and load balancers.
//! The classic text format rather than OpenMetrics: `promtool check metrics` lints it, and every
//! Prometheus-compatible scraper reads it.
//!
//! The hub counts (`edgenet_proto::hub::HubMetrics`); this module only names and describes what
//! it counted. docs/relay-operators.md lists every metric.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use edgenet_core::task::TaskKind;
use edgenet_proto::hub::{Histogram, HubMetrics, HubStats};
use prometheus::proto::{self, LabelPair, Metric, MetricFamily, MetricType};

use crate::AppState;

/// What one scrape reports.
#[derive(Debug)]
struct Snapshot {
    hub: HubMetrics,
    stats: HubStats,
    browsers: usize,
    natives: usize,
    ledger_entries: usize,
    uptime_s: u64,
    refused_per_ip: u64,
    events_subscribers: usize,
    events_dropped: u64,
    commits: Option<Histogram>,
    rss_bytes: Option<u64>,
    /// The cluster's counters, in a cluster: its status and the replication lag.
    cluster: Option<(crate::cluster::ClusterStatus, Histogram)>,
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "operators", responses((status = OK, description = "Prometheus text format (docs/relay-operators.md lists each metric)", content_type = "text/plain; version=0.0.4", body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let refused_per_ip = state.driver.refused_per_ip();
    let events = state.driver.events();
    let (events_subscribers, events_dropped) = (events.subscribers(), events.dropped());
    let snapshot = state.driver.with_hub_mut(|hub, now| {
        let (browsers, natives) = hub.peers_by_role();
        Snapshot {
            hub: hub.metrics().clone(),
            stats: hub.stats(),
            browsers,
            natives,
            ledger_entries: hub.ledger().len(),
            uptime_s: now / 1000,
            refused_per_ip,
            events_subscribers,
            events_dropped,
            commits: None,
            rss_bytes: None,
            cluster: None,
        }
    });
    let snapshot = Snapshot {
        commits: state.commits.as_ref().map(|c| {
            c.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        }),
        rss_bytes: resident_bytes(),
        cluster: state.cluster.as_ref().map(|c| {
            let outbox = state
                .store
                .as_ref()
                .and_then(|s| s.outbox_len().ok())
                .unwrap_or(0);
            (c.status(outbox), c.lag())
        }),
        ..snapshot
    };
    let mut body = String::new();
    let encoder = prometheus::TextEncoder::new();
    if let Err(e) = encoder.encode_utf8(&snapshot.families(), &mut body) {
        tracing::error!(error = %e, "/metrics could not be encoded");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response()
}

/// `GET /healthz`: the process answers (it says nothing of the hub or the store).
#[utoipa::path(get, path = "/healthz", tag = "operators", responses((status = OK, description = "The process serves HTTP", body = String)))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 when the hub answers and the ledger's last write reached the store;
/// 503 with the reason otherwise (a relay whose disk refuses writes cannot pay anyone). A relay
/// at its HTTP connection limit does not answer at all, which a probe also counts as not ready.
#[utoipa::path(get, path = "/readyz", tag = "operators", responses((status = OK, description = "Ready", body = String), (status = SERVICE_UNAVAILABLE, description = "The ledger store refused the last write (EN-219)", body = String)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let store_ok = state.driver.with_hub(|hub, _| hub.metrics().store_ok);
    if store_ok {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the ledger store refused the last write (EN-219)\n",
        )
            .into_response()
    }
}

/// The process's resident memory, from `/proc/self/statm` (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // The page size is 4 KiB on every Linux this runs on (x86-64, aarch64 default kernels).
    Some(pages * 4096)
}

/// The metric families of a scrape, built in order.
#[derive(Default)]
struct Families(Vec<MetricFamily>);

/// A sample labelled `label = value`, or unlabelled when `label` is empty.
fn sample(label: &str, value: &str) -> Metric {
    if label.is_empty() {
        return Metric::default();
    }
    let mut pair = LabelPair::default();
    pair.set_name(label.to_owned());
    pair.set_value(value.to_owned());
    Metric::from_label(vec![pair])
}

impl Families {
    fn push(&mut self, name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) {
        // A family without samples (no errors yet) is left out: the format has no empty family.
        if metrics.is_empty() {
            return;
        }
        let mut family = MetricFamily::default();
        family.set_name(name.to_owned());
        family.set_help(help.to_owned());
        family.set_field_type(kind);
        family.set_metric(metrics);
        self.0.push(family);
    }

    /// A family of `kind` with one label (none when `label` is empty): a sample per
    /// `(label value, x)`, `set` writing `x` into it.
    fn family<'a, T>(
        &mut self,
        (name, help, kind): (&str, &str, MetricType),
        label: &str,
        values: impl IntoIterator<Item = (&'a str, T)>,
        set: impl Fn(&mut Metric, T),
    ) {
        let metrics = values
            .into_iter()
            .map(|(v, x)| {
                let mut m = sample(label, v);
                set(&mut m, x);
                m
            })
            .collect();
        self.push(name, help, kind, metrics);
    }

    /// A counter with one label, a sample per `(value, count)`.
    fn counters<'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (&'a str, u64)>,
    ) {
        self.family((name, help, MetricType::COUNTER), label, values, |m, n| {
            let mut c = proto::Counter::default();
            c.set_value(n as f64);
            m.set_counter(c);
        });
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.counters(name, help, "", [("", value)]);
    }

    /// A gauge with one label.
    fn gauges<'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (&'a str, f64)>,
    ) {
        self.family((name, help, MetricType::GAUGE), label, values, |m, x| {
            let mut g = proto::Gauge::default();
            g.set_value(x);
            m.set_gauge(g);
        });
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.gauges(name, help, "", [("", value)]);
    }

    /// Histograms in seconds from `(label value, histogram in units of 1/per_second s)`.
    fn histograms<'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        per_second: f64,
        values: impl IntoIterator<Item = (&'a str, &'a Histogram)>,
    ) {
        self.family(
            (name, help, MetricType::HISTOGRAM),
            label,
            values,
            |m, h| {
                let mut cumulative = 0;
                let buckets = h
                    .bounds
                    .iter()
                    .zip(&h.counts)
                    .map(|(&bound, &n)| {
                        cumulative += n;
                        let mut b = proto::Bucket::default();
                        b.set_upper_bound(bound as f64 / per_second);
                        b.set_cumulative_count(cumulative);
                        b
                    })
                    .collect();
                let mut p = proto::Histogram::default();
                p.set_bucket(buckets);
                p.set_sample_count(h.count());
                p.set_sample_sum(h.sum as f64 / per_second);
                m.set_histogram(p);
            },
        );
    }
}

impl Snapshot {
    fn families(&self) -> Vec<MetricFamily> {
        let (h, s) = (&self.hub, &self.stats);
        let mut f = Families::default();
        f.gauge(
            "edgenet_connections",
            "Open WebSocket connections, authenticated or not.",
            s.connections as f64,
        );
        f.gauges(
            "edgenet_peers",
            "Authenticated peers by role.",
            "role",
            [
                ("browser", self.browsers as f64),
                ("native", self.natives as f64),
            ],
        );
        f.gauge(
            "edgenet_open_tasks",
            "Tasks not yet finished.",
            s.open_tasks as f64,
        );
        let kinds = || TaskKind::ALL.iter().zip(&h.kinds);
        f.counters(
            "edgenet_tasks_submitted_total",
            "Tasks accepted from submitters, by kind.",
            "kind",
            kinds().map(|(k, m)| (k.name(), m.submitted)),
        );
        f.counters(
            "edgenet_tasks_verified_total",
            "Tasks that got their submitter's verdict, by kind.",
            "kind",
            kinds().map(|(k, m)| (k.name(), m.verified)),
        );
        f.counters(
            "edgenet_tasks_failed_total",
            "Tasks that failed (expired, no workers), by kind.",
            "kind",
            kinds().map(|(k, m)| (k.name(), m.failed)),
        );
        f.histograms(
            "edgenet_task_latency_seconds",
            "Submission to verdict of verified tasks, by kind.",
            "kind",
            1000.0,
            kinds().map(|(k, m)| (k.name(), &m.latency)),
        );
        f.counters(
            "edgenet_verification_workers_total",
            "Workers a verdict named, by outcome.",
            "outcome",
            [
                ("agreed", h.workers_agreed),
                ("outvoted", h.workers_outvoted),
            ],
        );
        f.counters(
            "edgenet_canaries_total",
            "Known-answer canaries answered, by outcome.",
            "outcome",
            [("passed", h.canaries_passed), ("failed", h.canaries_failed)],
        );
        f.counter(
            "edgenet_spot_checks_total",
            "Spot-check canaries sent to workers after one of their results.",
            h.spot_checks,
        );
        f.counter(
            "edgenet_reassignments_total",
            "Assignments lost to disconnects or deadlines and offered again.",
            s.reassignments,
        );
        f.counter(
            "edgenet_frames_received_total",
            "Protocol frames received.",
            s.frames_in,
        );
        f.counter(
            "edgenet_frames_sent_total",
            "Protocol frames queued to send.",
            s.frames_out,
        );
        f.counters(
            "edgenet_errors_total",
            "Frames refused, by EN code (docs/errors.md).",
            "code",
            h.errors.iter().map(|(c, n)| (*c, *n)),
        );
        f.counter(
            "edgenet_rate_limited_total",
            "Frames refused by a peer's message rate limit (EN-207).",
            h.errors.get("EN-207").copied().unwrap_or(0),
        );
        f.counter(
            "edgenet_connections_refused_per_ip_total",
            "Connections refused because their address had too many.",
            self.refused_per_ip,
        );
        f.counter(
            "edgenet_slow_consumers_dropped_total",
            "Connections dropped for not reading what was sent to them (EN-214).",
            h.slow_consumers,
        );
        f.gauge(
            "edgenet_ledger_entries",
            "Entries in the ledger, every author's.",
            self.ledger_entries as f64,
        );
        f.counters(
            "edgenet_ledger_entries_written_total",
            "Entries this relay wrote as validator, by kind.",
            "kind",
            h.entries_written.iter().map(|(k, n)| (*k, *n)),
        );
        f.counter(
            "edgenet_micro_credits_minted_total",
            "Micro-credits minted (uptime, early adopters).",
            h.micro_credits_minted,
        );
        f.counter(
            "edgenet_micro_credits_paid_total",
            "Micro-credits paid from escrows to verified workers.",
            h.micro_credits_paid,
        );
        if let Some(c) = &self.commits {
            f.histograms(
                "edgenet_store_commit_seconds",
                "Time a ledger write took to commit, fsync included.",
                "",
                1e6,
                [("", c)],
            );
        }
        f.gauge(
            "edgenet_events_subscribers",
            "Dashboards reading /events.",
            self.events_subscribers as f64,
        );
        f.counter(
            "edgenet_events_subscribers_dropped_total",
            "/events subscribers dropped for falling behind (EN-305).",
            self.events_dropped,
        );
        f.gauge(
            "edgenet_uptime_seconds",
            "Time since the relay started.",
            self.uptime_s as f64,
        );
        if let Some((status, lag)) = &self.cluster {
            f.gauge(
                "edgenet_cluster_connected",
                "1 while the cluster's NATS connection is up.",
                f64::from(u8::from(status.connected)),
            );
            f.counter(
                "edgenet_cluster_entries_published_total",
                "Ledger entries this relay put in the cluster's log.",
                status.published,
            );
            f.counter(
                "edgenet_cluster_entries_merged_total",
                "Ledger entries from other relays merged here.",
                status.merged,
            );
            f.counter(
                "edgenet_cluster_entries_refused_total",
                "Ledger entries from the log that failed verification here.",
                status.refused,
            );
            f.gauge(
                "edgenet_cluster_outbox_entries",
                "Accepted entries waiting for the log (on disk).",
                status.outbox as f64,
            );
            f.gauge(
                "edgenet_cluster_relays",
                "Relays in the cluster's directory, this one included.",
                status.relays as f64,
            );
            f.gauge(
                "edgenet_cluster_borrowed_workers",
                "Workers of other relays this relay may offer its tasks to.",
                status.borrowed_workers as f64,
            );
            f.gauge(
                "edgenet_cluster_lent_routes",
                "Routes kept for other relays' tasks through this relay's workers.",
                status.lent_routes as f64,
            );
            f.counter(
                "edgenet_cluster_frames_forwarded_total",
                "Task frames sent to other relays (cross-relay tasks).",
                status.forwarded_out,
            );
            f.counter(
                "edgenet_cluster_frames_received_total",
                "Task frames received from other relays.",
                status.forwarded_in,
            );
            f.counter(
                "edgenet_cluster_frames_refused_total",
                "Announcements and task frames from other relays refused here.",
                status.forward_refused,
            );
            f.counter(
                "edgenet_cluster_frames_dropped_total",
                "Task frames for other relays dropped because the queue to NATS was full.",
                status.forward_dropped,
            );
            f.histograms(
                "edgenet_cluster_replication_lag_seconds",
                "Time from another relay's entry entering the log to its being stored here.",
                "",
                1e3,
                [("", lag)],
            );
        }
        if let Some(rss) = self.rss_bytes {
            f.gauge(
                "process_resident_memory_bytes",
                "Resident memory of the relay process.",
                rss as f64,
            );
        }
        f.0
    }
}
