//! Task kinds: one module per kind, one registry that lists them.
//!
//! A kind's module owns everything about it that does not depend on where it runs: its payload
//! and result types with their bounded decoders, how two results are compared, its price per
//! unit, its known-answer canaries and the wrong answers tests inject. The module describes itself
//! in one [`KindInfo`] constant, and [`REGISTRY`] lists those constants: the only list of kinds in
//! the project (the JS's `kinds.generated.js` is written from it, and a test keeps the two equal).
//! Executors (the kernels, the embedding model, a node's shard store) run kinds; they implement
//! [`Executor`] and say which kinds they run, so no crate names a kind it cannot run.
//!
//! On the wire a kind is a number ([`TaskKind`]): a frame naming a kind this release does not
//! know still decodes, and the relay refuses the task with EN-144 instead of the whole frame.
//!
//! Adding a kind: `docs/architecture.md`, "A new task kind".

pub mod codec;
pub mod compression;
pub mod custom_wasm;
pub mod embedding;
pub mod encryption;
pub mod semantic_match;
pub mod shard_search;
pub mod text;
pub mod vector_insert;
pub mod vector_search;

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// The registry: each kind's module named once, in the order of dashboards and metrics. It
/// writes three parallel lists: [`REGISTRY`] (each kind's data: number, name, needs),
/// and the two halves of its rules, apart so that a page's modules link only what they use (a
/// GPU or compute module needs names, the protocol module compares results, only native code
/// checks and prices payloads, draws canaries and injects lies).
macro_rules! registry {
    ($($kind:ident),+ $(,)?) => {
        /// Every kind this release knows, once.
        pub const REGISTRY: [&KindInfo; [$(stringify!($kind)),+].len()] = [$(&$kind::INFO),+];
        /// How each kind's results compare, in [`REGISTRY`]'s order.
        const RESULT_RULES: [&dyn KindRules; REGISTRY.len()] = [$(&$kind::Rules),+];
        /// What each kind's payloads may be, in [`REGISTRY`]'s order.
        const PAYLOAD_RULES: [&dyn PayloadRules; REGISTRY.len()] = [$(&$kind::Rules),+];
    };
}

registry![
    vector_search,
    encryption,
    compression,
    embedding,
    semantic_match,
    vector_insert,
    shard_search,
    custom_wasm,
];

/// A task's kind as it travels: a number from the kind's module. A number that no module of this
/// release claims decodes all the same (a newer peer's kind) and is refused where it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskKind(u32);

impl TaskKind {
    /// The kind with this wire number (known or not).
    pub const fn from_wire(id: u32) -> Self {
        Self(id)
    }

    /// The wire number.
    pub const fn wire(self) -> u32 {
        self.0
    }

    /// Every kind this release knows, in [`REGISTRY`]'s order.
    pub const ALL: [Self; REGISTRY.len()] = {
        let mut all = [Self(0); REGISTRY.len()];
        let mut i = 0;
        while i < REGISTRY.len() {
            all[i] = REGISTRY[i].kind;
            i += 1;
        }
        all
    };

    /// What the registry says of this kind; `None` for a kind this release does not know.
    pub fn info(self) -> Option<&'static KindInfo> {
        REGISTRY.into_iter().find(|k| k.kind == self)
    }

    /// What the registry says of this kind, or EN-144 for a kind this release does not know.
    pub fn known(self) -> Result<&'static KindInfo, UnknownKind> {
        self.info().ok_or(UnknownKind(self.0))
    }

    /// The name used in APIs and on the command line (`"unknown"` for an unknown kind).
    pub fn name(self) -> &'static str {
        self.info().map_or("unknown", |k| k.name)
    }

    /// The kind with this [`name`](Self::name), if this release knows it.
    pub fn from_name(name: &str) -> Option<Self> {
        REGISTRY
            .into_iter()
            .find(|k| k.name == name)
            .map(|k| k.kind)
    }

    /// Whether the kind needs a model's weights (a node lists it only once the model is loaded).
    pub fn needs_model(self) -> bool {
        self.info().is_some_and(|k| k.needs == Needs::Model)
    }

    /// Whether the kind runs on a collection's shard, by its holders only (not offered to
    /// others; a node lists it when it offers storage).
    pub fn needs_shard(self) -> bool {
        self.info().is_some_and(|k| k.needs == Needs::Shard)
    }
}

/// A kind this release does not know (EN-144).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("task kind {0} is not known to this release (docs/errors.md, EN-144, lists the kinds)")]
pub struct UnknownKind(pub u32);

impl ErrorCode for UnknownKind {
    fn code(&self) -> &'static str {
        "EN-144"
    }
}

/// What a kind needs besides the kernels, which decides who may run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Runs on the kernels alone, in a browser's compute module or on a native node.
    Kernels,
    /// Needs a served model's weights (the embedding module or a native node with the model).
    Model,
    /// Runs only on a collection's shard, by its holders.
    Shard,
    /// Runs the submitter's own module in a sandbox (a native node's runner, a page's sandbox
    /// Worker when the site lists the kind).
    Sandbox,
}

impl Needs {
    /// The name the JS sees (`"kernels"`, `"model"`, `"shard"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Kernels => "kernels",
            Self::Model => "model",
            Self::Shard => "shard",
            Self::Sandbox => "sandbox",
        }
    }
}

/// A kind's default price: `micro_credits` for every `per` units of `unit` (the brief's task
/// table). A task's cost is rounded up to whole micro-credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// Micro-credits charged for `per` units.
    pub micro_credits: u64,
    /// How many units that buys.
    pub per: u64,
    /// What a unit is (`"vector"`, `"text"`, `"byte"`, …).
    pub unit: &'static str,
}

impl Price {
    /// The price of `units` units, rounded up.
    pub fn of(self, units: u64) -> u64 {
        let scaled = u128::from(units) * u128::from(self.micro_credits);
        u64::try_from(scaled.div_ceil(u128::from(self.per.max(1)))).unwrap_or(u64::MAX)
    }
}

/// One kind's entry in the registry.
pub struct KindInfo {
    /// The wire number; never reused for another kind.
    pub kind: TaskKind,
    /// The name in APIs, on the command line and in the JS.
    pub name: &'static str,
    /// What running it needs.
    pub needs: Needs,
    /// Whether two results agree exactly when their bytes are equal. Then equal result
    /// commitments are agreeing results, and the relay checks verdicts itself
    /// (`edgenet_proto`'s `hub/economy/verdicts.rs`).
    pub exact: bool,
    /// Canary preference: a worker that lists several kinds with canaries is tested on the one
    /// with the lowest number (the kind whose shortcut pays most). `None`: no canaries.
    pub canary_rank: Option<u8>,
}

impl core::fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KindInfo")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl KindInfo {
    /// Where the kind sits in the registry (and so in its rules' lists).
    fn place(&self) -> Option<usize> {
        REGISTRY.iter().position(|k| k.kind == self.kind)
    }

    /// How the kind's results compare.
    pub fn rules(&self) -> &'static dyn KindRules {
        let rules = self.place().and_then(|i| RESULT_RULES.get(i).copied());
        rules.unwrap_or(&NoRules)
    }

    /// What the kind's payloads may be, and what they cost.
    pub fn payloads(&self) -> &'static dyn PayloadRules {
        let rules = self.place().and_then(|i| PAYLOAD_RULES.get(i).copied());
        rules.unwrap_or(&NoRules)
    }

    /// The default price of a payload: its units at the kind's [`Price`].
    pub fn price_of(&self, payload: &[u8]) -> Result<u64, KindError> {
        let rules = self.payloads();
        Ok(rules.price().of(rules.units(payload)?))
    }
}

/// What a kind outside the registry would get: it agrees with nothing and takes no payload
/// (unreachable: the registry's macro writes every list from the same names).
struct NoRules;

impl KindRules for NoRules {
    fn kind(&self) -> TaskKind {
        TaskKind(u32::MAX)
    }

    fn agree(&self, _a: &[u8], _b: &[u8]) -> bool {
        false
    }
}

impl PayloadRules for NoRules {
    fn price(&self) -> Price {
        Price {
            micro_credits: 0,
            per: 1,
            unit: "task",
        }
    }

    fn check_payload(&self, _payload: &[u8]) -> Result<(), KindError> {
        Err(KindError::not_run_here(TaskKind(u32::MAX)))
    }

    fn units(&self, _payload: &[u8]) -> Result<u64, KindError> {
        Err(KindError::not_run_here(TaskKind(u32::MAX)))
    }

    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], _lie: Lie) -> Result<Vec<u8>, KindError> {
        Ok(result.to_vec())
    }
}

/// A known-answer task: its payload, and the answer an honest worker returns (compared with the
/// kind's own rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownAnswer {
    /// The encoded payload.
    pub payload: Vec<u8>,
    /// The encoded answer.
    pub expected: Vec<u8>,
}

/// How a test's faulty worker lies ([`KindRules::lie`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lie {
    /// A result that decodes but is wrong (a changed score, a flipped bit, noisy vectors).
    Wrong,
    /// One hit fewer where results are lists of hits (otherwise as [`Lie::Wrong`]).
    DropHit,
}

/// How one kind's results compare: what every peer that verifies needs.
pub trait KindRules: Sync {
    /// The kind these rules are for.
    fn kind(&self) -> TaskKind;

    /// Whether two encoded results agree. A result that does not decode agrees with nothing.
    fn agree(&self, a: &[u8], b: &[u8]) -> bool;
}

/// What one kind's payloads may be, what they cost, and the known and wrong answers of tests.
pub trait PayloadRules: Sync {
    /// The default price per unit (the brief's table).
    fn price(&self) -> Price;

    /// Decodes and checks an untrusted payload against the kind's limits.
    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError>;

    /// Units of a payload, for its [`Price`].
    fn units(&self, payload: &[u8]) -> Result<u64, KindError>;

    /// Reads untrusted bytes as this kind's payload and result and asserts what must hold of
    /// whatever decodes (within the limits, a result agrees with itself): the body of the fuzz
    /// targets, which call it for every kind in the registry. Returns normally on any input.
    fn fuzz(&self, data: &[u8]) {
        let _ = self.check_payload(data);
    }

    /// A fresh known-answer task drawn from `rng`, for kinds with canaries.
    fn canary(&self, _rng: &mut dyn rand_core::Rng) -> Option<KnownAnswer> {
        None
    }

    /// Fault injection for tests (feature `faults`, which the native node's `--fault-inject`
    /// uses): `result` changed the way `lie` says, so that it still decodes but an honest
    /// worker's result does not agree with it.
    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], lie: Lie) -> Result<Vec<u8>, KindError>;
}

/// Whether two encoded results of a task of `kind` agree; never for a kind this release does not
/// know.
pub fn results_agree(kind: TaskKind, a: &[u8], b: &[u8]) -> bool {
    kind.info().is_some_and(|k| k.rules().agree(a, b))
}

/// Something that runs task kinds: the kernels, a loaded model, a node's shard store, a sandbox.
pub trait Executor {
    /// The kinds it runs.
    fn kinds(&self) -> Vec<TaskKind>;

    /// Decodes `payload`, runs it and encodes the result.
    fn run(&self, kind: TaskKind, payload: &[u8]) -> Result<Vec<u8>, KindError>;
}

/// Why a kind's payload was refused or an executor gave no result: a stable EN code and a
/// message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KindError {
    /// The EN code.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl KindError {
    /// A failure carrying `err`'s code and text.
    pub fn of<E: ErrorCode + core::fmt::Display>(err: E) -> Self {
        Self {
            code: err.code(),
            message: err.to_string(),
        }
    }

    /// EN-414: the executor was handed a kind it does not run.
    pub fn not_run_here(kind: TaskKind) -> Self {
        Self {
            code: "EN-414",
            message: format!("{} is not run by this executor", kind.name()),
        }
    }
}

impl ErrorCode for KindError {
    fn code(&self) -> &'static str {
        self.code
    }
}

/// Lies about a hit list: a changed first score, or one hit fewer.
#[cfg(feature = "faults")]
pub(crate) fn lie_about_hits(hits: &mut [Vec<vector_search::Hit>], lie: Lie) {
    for q in hits.iter_mut() {
        match lie {
            Lie::DropHit => {
                let _ = q.pop();
            }
            Lie::Wrong => {
                if let Some(h) = q.first_mut() {
                    h.score += 1.0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_numbers_and_names_are_unique() {
        for (i, a) in REGISTRY.iter().enumerate() {
            for b in &REGISTRY[i + 1..] {
                assert_ne!(
                    a.kind, b.kind,
                    "{} and {} share a wire number",
                    a.name, b.name
                );
                assert_ne!(a.name, b.name);
            }
            assert_eq!(TaskKind::from_name(a.name), Some(a.kind));
            assert_eq!(a.kind.name(), a.name);
        }
    }

    #[test]
    fn the_rules_follow_the_registry() {
        for (info, rules) in REGISTRY.iter().zip(RESULT_RULES) {
            assert_eq!(info.kind, rules.kind(), "{}", info.name);
            assert_eq!(info.rules().kind(), info.kind);
        }
        assert_eq!(PAYLOAD_RULES.len(), REGISTRY.len());
    }

    #[test]
    fn an_unknown_kind_decodes_and_is_refused_by_name() {
        let bytes = postcard::to_allocvec(&TaskKind::from_wire(4_000)).unwrap();
        let kind: TaskKind = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(kind.name(), "unknown");
        let err = kind.known().unwrap_err();
        assert_eq!(err.code(), "EN-144");
        assert!(err.to_string().contains("4000"));
        assert!(!results_agree(kind, b"x", b"x"));
    }

    #[test]
    fn prices_round_up() {
        let p = Price {
            micro_credits: 1_000_000,
            per: 1_000,
            unit: "vector",
        };
        assert_eq!(p.of(0), 0);
        assert_eq!(p.of(1), 1_000);
        assert_eq!(p.of(1_500), 1_500_000);
        let third = Price {
            micro_credits: 1,
            per: 3,
            unit: "byte",
        };
        assert_eq!(third.of(1), 1);
        assert_eq!(third.of(u64::MAX), u64::MAX.div_ceil(3));
    }
}
