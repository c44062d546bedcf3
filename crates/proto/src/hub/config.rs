//! The hub's limits and timers.

use crate::Millis;

/// Limits and timers.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Time to answer the challenge.
    pub handshake_timeout_ms: Millis,
    /// Time a worker has from assignment to result (from its payload, once that came).
    pub assignment_timeout_ms: Millis,
    /// Time a submitter has to send its payload to a worker just assigned; then the task fails
    /// (EN-235), its workers are free again, and the submitter's rate window is charged.
    pub payload_wait_ms: Millis,
    /// Messages one identity may send per minute.
    pub max_messages_per_minute: u32,
    /// Largest redundancy a task may ask for.
    pub max_redundancy: u8,
    /// Longest task timeout.
    pub max_task_timeout_ms: u32,
    /// Most unfinished tasks one submitter may have.
    pub max_open_tasks_per_submitter: usize,
    /// Finished tasks kept for the API.
    pub finished_history: usize,
    /// Peers listed in a welcome, and peers told of each join and leave.
    pub max_peers_announced: usize,
    /// Peers offered a task per round.
    pub offers_per_round: usize,
    /// Time between rounds of offers while a task still needs workers.
    pub offer_round_ms: Millis,
    /// Time a task may wait for workers while fewer peers that run its kind are online than its
    /// redundancy; then it fails with EN-223 (0: it waits out its own timeout).
    pub staffing_timeout_ms: Millis,
    /// Online time, in one connection, that earns a worker the uptime bonus (0: no bonus).
    pub uptime_period_ms: Millis,
    /// Micro-credits the relay mints per period online (0.1 credit per hour by default).
    pub uptime_bonus: u64,
    /// How long claims on a task are gathered before the workers are drawn from them at random
    /// (`hub/routing/claims.rs`); 0 takes each claim as it comes. The relay's default is 50 ms
    /// (`--claim-window-ms`); this library's is 0, so that in-memory tests see a claim taken as
    /// soon as it arrives unless they test the draw.
    pub claim_window_ms: Millis,
    /// Refuse tasks that offer no credits (EN-221).
    pub paid_only: bool,
    /// Micro-credits a worker earns for passing a canary (a known-answer task the relay sends a
    /// new identity); 0 sends no canaries at all, spot checks included.
    pub canary_reward: u64,
    /// A worker gets a spot-check canary after one of its results in this many, drawn at random
    /// (`hub/economy/canary.rs`); 0 sends none.
    pub spot_check_one_in: u32,
    /// Time an escrow waits for its task; then it is refunded (the submitter went away).
    pub escrow_grace_ms: Millis,
    /// Proof of work each mint per identity costs (a canary's reward, an uptime period's
    /// bonus), in leading zero bits of an Argon2id digest (`edgenet_core::work`): 2^bits
    /// digests of 4 MiB on average. 0 asks for none (the mints are then free, as in tests of
    /// other things). Why 12 is in docs/ledger.md.
    pub work_bits: u8,
    /// In a cluster with a threshold above 1: whether this relay attests other relays' validator
    /// entries (`hub/cluster/attest.rs`); false refuses every request.
    pub attests: bool,
    /// In a cluster: write a record of each submitted task for the other relays, so that a
    /// task outlives this relay (`hub/cluster/records.rs`), and give this relay's own escrows found
    /// open at start-up the escrow grace, in which their submitters may resume their tasks.
    pub task_records: bool,
    /// The Unix time (ms) of this hub's clock's zero: task records carry wall-clock deadlines.
    pub epoch_unix_ms: u64,
    /// Time a shard's holder may be away (a restart) before another node takes its place and
    /// copies the shard (`hub/storage/collections.rs`).
    pub handover_grace_ms: Millis,
    /// Collections cost what they use (`hub/storage/deposits.rs`): creating one escrows its
    /// deposit, and each insert and search carries its kind's list price for the units it
    /// declares (EN-238 otherwise). The relay's default is on (`--free-collections` turns it
    /// off); this library's is off, so that in-memory tests of placement and handover need no
    /// credits unless they test the prices.
    pub paid_collections: bool,
    /// How long a creation deposit keeps a collection's room: at its end the deposit is paid to
    /// the shards' holders (a week by default).
    pub storage_term_ms: Millis,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            handshake_timeout_ms: 10_000,
            assignment_timeout_ms: 30_000,
            payload_wait_ms: 10_000,
            max_messages_per_minute: 6_000,
            max_redundancy: 7,
            max_task_timeout_ms: 600_000,
            max_open_tasks_per_submitter: 64,
            finished_history: 256,
            max_peers_announced: 64,
            offers_per_round: 16,
            offer_round_ms: 500,
            claim_window_ms: 0,
            staffing_timeout_ms: 15_000,
            uptime_period_ms: 3_600_000,
            uptime_bonus: 100_000,
            paid_only: false,
            canary_reward: 1_000_000,
            spot_check_one_in: 20,
            escrow_grace_ms: 60_000,
            work_bits: 12,
            attests: true,
            task_records: false,
            epoch_unix_ms: 0,
            handover_grace_ms: 10_000,
            paid_collections: false,
            storage_term_ms: 7 * 24 * 3_600_000,
        }
    }
}

impl HubConfig {
    /// An assignment's deadline in the `Assignment` message (milliseconds, saturated).
    pub(super) fn assignment_deadline_ms(&self) -> u32 {
        u32::try_from(self.assignment_timeout_ms).unwrap_or(u32::MAX)
    }

    /// Whether workers earn the uptime bonus at all.
    pub(super) fn pays_uptime(&self) -> bool {
        self.uptime_period_ms > 0 && self.uptime_bonus > 0
    }
}
