//! The command line, one file a command: each defines its arguments and carries them out.
//! `main.rs` lists the commands and hands each its own.

pub(crate) mod check;
pub(crate) mod collection;
pub(crate) mod earnings;
pub(crate) mod keys;
pub(crate) mod run;
pub(crate) mod service;
pub(crate) mod submit;

use std::path::PathBuf;

use clap::ValueEnum;
use edgenet_core::ErrorCode;
use edgenet_core::kinds::vector_search::SearchMetric;

/// What every command gets from the global options.
pub(crate) struct Context {
    /// The key file holding this node's identity.
    pub(crate) key_file: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputArg {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum MetricArg {
    Dot,
    Cosine,
    L2,
}

impl From<MetricArg> for SearchMetric {
    fn from(m: MetricArg) -> Self {
        match m {
            MetricArg::Dot => Self::Dot,
            MetricArg::Cosine => Self::Cosine,
            MetricArg::L2 => Self::L2,
        }
    }
}

pub(crate) fn status_file(key_file: &std::path::Path) -> PathBuf {
    key_file.with_extension("status.json")
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("EN-154: cannot start the async runtime: {e}")))
}

pub(crate) fn default_key_file() -> PathBuf {
    let home = std::env::var_os("EDGENET_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".edgenet")))
        .unwrap_or_else(|| PathBuf::from(".edgenet"));
    home.join("node.key")
}

/// A failure to report: its stable code and message.
pub(crate) struct Failure(pub(crate) String);

impl<E: ErrorCode + std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Self(format!("{}: {err}", err.code()))
    }
}

pub(crate) fn passphrase(var: Option<&str>) -> Result<Option<Vec<u8>>, Failure> {
    var.map(|name| {
        std::env::var(name).map(String::into_bytes).map_err(|_| {
            Failure(format!(
                "EN-132: environment variable {name} (named by --passphrase-env) is not set"
            ))
        })
    })
    .transpose()
}
