//! The node's connection state, logged on every change and kept in a small JSON file so that
//! `edgenet-node status` (or a dashboard) can read it.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The connection states from the brief.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Not running (stopped, or never started).
    Disabled,
    /// First connection attempt.
    Connecting,
    /// Authenticated and serving.
    Connected,
    /// Lost the relay (or failed to reach it); retrying with backoff.
    Reconnecting,
    /// Stopped on an error that retrying cannot fix (e.g. an incompatible relay).
    Error,
}

/// The status file's contents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// Current state.
    pub state: State,
    /// The node's id.
    pub node_id: String,
    /// The relay URL.
    pub relay: String,
    /// Unix time of the last state change, in milliseconds.
    pub since_unix_ms: u64,
    /// Tasks executed since start.
    pub tasks_completed: u64,
    /// The last error, with its code.
    pub last_error: Option<String>,
}

/// Keeps the status current: logs and writes the file on every change.
pub struct Tracker {
    path: PathBuf,
    status: Status,
}

impl Tracker {
    /// Starts in `Disabled`.
    pub fn new(path: PathBuf, node_id: String, relay: String) -> Self {
        let status = Status {
            state: State::Disabled,
            node_id,
            relay,
            since_unix_ms: unix_ms(),
            tasks_completed: 0,
            last_error: None,
        };
        Self { path, status }
    }

    /// The relay it is connecting to now (a node rotates through several).
    pub fn set_relay(&mut self, relay: &str) {
        if self.status.relay != relay {
            self.status.relay = relay.to_owned();
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.status.state
    }

    /// Moves to `state`, recording `error` if given.
    pub fn set(&mut self, state: State, error: Option<String>) {
        if error.is_some() {
            self.status.last_error = error;
        }
        if state != self.status.state {
            tracing::info!(state = ?state, relay = %self.status.relay, last_error = ?self.status.last_error, "state");
            self.status.state = state;
            self.status.since_unix_ms = unix_ms();
        }
        self.write();
    }

    /// Counts a finished task.
    pub fn task_completed(&mut self) {
        self.status.tasks_completed += 1;
        self.write();
    }

    fn write(&self) {
        if let Ok(json) = serde_json::to_string_pretty(&self.status) {
            // Written whole then renamed, so a reader never sees half a file.
            let tmp = self.path.with_extension("json.tmp");
            if std::fs::write(&tmp, json)
                .and_then(|()| std::fs::rename(&tmp, &self.path))
                .is_err()
            {
                tracing::warn!(path = %self.path.display(), "cannot write the status file");
            }
        }
    }
}

/// Reads a status file.
pub fn read(path: &Path) -> Option<Status> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
