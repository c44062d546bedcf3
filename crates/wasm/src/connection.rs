//! `Connection`: the protocol side of the browser's relay socket, for the coordinator Worker.
//!
//! It wraps `edgenet_proto::endpoint::Endpoint`: frames in and out as `Uint8Array`, events out as
//! plain objects (`{type: 'execute', task, kind, payload}`, …). The socket, reconnects and the
//! compute Workers are the coordinator's; what a frame means is the endpoint's.

use edgenet_core::kinds::{Needs, REGISTRY};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::endpoint::{Detached, Endpoint, Event};
use edgenet_proto::message::{Capabilities, ClientMsg, Role, ShardTarget, TaskSpec};
use wasm_bindgen::prelude::*;

use crate::js::{Obj, flag, number, optional_string};
use crate::{js_error, secret_key};

/// The registry's kinds that need `needs`: with [`Needs::Kernels`], what the compute module runs
/// (`edgenet_kernels::execute::KINDS`; the kernels are not in this module, and the Chromium
/// tests check that the two lists agree); with [`Needs::Model`], what the embedding module runs.
pub fn kinds_needing(needs: Needs) -> impl Iterator<Item = TaskKind> {
    REGISTRY
        .into_iter()
        .filter(move |k| k.needs == needs)
        .map(|k| k.kind)
}

/// The compute module's CPU backend (`edgenet_kernels::simd::backend()` in wasm, checked
/// alike).
pub const BACKEND: &str = if cfg!(target_feature = "simd128") {
    "wasm-simd128"
} else {
    "portable-simd"
};

/// One relay connection's protocol state.
#[wasm_bindgen]
pub struct Connection {
    endpoint: Endpoint,
}

fn task_id(text: &str) -> Result<TaskId, JsError> {
    text.parse().map_err(js_error)
}

pub(crate) fn task_kind(name: &str) -> Result<TaskKind, JsError> {
    TaskKind::from_name(name)
        .ok_or_else(|| JsError::new(&format!("EN-142: unknown task kind {name:?}")))
}

#[wasm_bindgen]
impl Connection {
    /// A connection for the identity `secret` with the profile `{workers, memoryMib, maxJobs,
    /// contributing, textTasks, sandboxTasks}`: it offers `workers` compute Workers and
    /// `memoryMib`, runs up to `maxJobs` at once, claims offers only while contributing, lists
    /// the text kinds (the registry's kinds that need the model, run by the embedding module)
    /// when `textTasks` is set, and `custom_wasm` (run in the compute Workers' sandbox Workers)
    /// when `sandboxTasks` is. `now` is the caller's monotonic clock in milliseconds
    /// (`performance.now()`), as for every call that takes one.
    #[wasm_bindgen(constructor)]
    pub fn new(secret: &[u8], profile: JsValue, now: f64) -> Result<Connection, JsError> {
        let max_jobs = number(&profile, "maxJobs")? as usize;
        let contributing = flag(&profile, "contributing");
        let text = flag(&profile, "textTasks");
        let sandbox = flag(&profile, "sandboxTasks");
        let kernels = kinds_needing(Needs::Kernels)
            .chain(kinds_needing(Needs::Model).filter(|_| text))
            .chain(kinds_needing(Needs::Sandbox).filter(|_| sandbox))
            .collect();
        let capabilities = Capabilities {
            cores: number(&profile, "workers")? as u16,
            memory_mib: number(&profile, "memoryMib")? as u32,
            gpu: None,
            kernels,
            backends: vec![BACKEND.into()],
        };
        Ok(Self {
            endpoint: Endpoint::new(
                secret_key(secret)?,
                Role::Browser,
                capabilities,
                max_jobs,
                contributing,
                millis(now),
            ),
        })
    }

    /// When `handleTimeout` next has work to do (the handshake's deadline, a submission's
    /// backstop), on the same clock; `undefined` if nothing is pending.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.endpoint.poll_timeout().map(|t| t as f64)
    }

    /// Expires what is due: late submissions become `failed` events; throws (EN-213) when the
    /// handshake is late, and the socket should then be closed.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) -> Result<(), JsError> {
        self.endpoint.handle_timeout(millis(now)).map_err(js_error)
    }

    /// This node's id.
    #[wasm_bindgen(js_name = nodeId)]
    pub fn node_id(&self) -> String {
        self.endpoint.node_id().to_string()
    }

    /// Whether the handshake completed.
    #[wasm_bindgen(js_name = isReady)]
    pub fn is_ready(&self) -> bool {
        self.endpoint.is_ready()
    }

    /// Handles one frame from the relay; throws on a frame that ends the connection.
    #[wasm_bindgen(js_name = handleFrame)]
    pub fn handle_frame(&mut self, frame: &[u8]) -> Result<(), JsError> {
        self.endpoint
            .handle_frame(frame, &mut edgenet_core::rng::os_rng())
            .map_err(js_error)
    }

    /// The next frame to send, or `undefined`.
    #[wasm_bindgen(js_name = pollOutgoing)]
    pub fn poll_outgoing(&mut self) -> Option<Vec<u8>> {
        self.endpoint.poll_outgoing()
    }

    /// The next event as a plain object, or `undefined`.
    #[wasm_bindgen(js_name = pollEvent)]
    pub fn poll_event(&mut self) -> JsValue {
        self.endpoint.poll_event().map_or(JsValue::UNDEFINED, event)
    }

    /// Ledger entries this page kept (encoded, as `ledger` events carried them): its own chain
    /// among them is where its next escrow continues. Entries that do not decode are skipped
    /// (the relay's copy is asked for before every write anyway); returns how many decoded.
    #[wasm_bindgen(js_name = knowEntries)]
    pub fn know_entries(&mut self, entries: Vec<js_sys::Uint8Array>) -> u32 {
        let decoded: Vec<_> = entries
            .iter()
            .filter_map(|bytes| edgenet_core::ledger::Entry::from_bytes(&bytes.to_vec()).ok())
            .collect();
        let n = decoded.len() as u32;
        self.endpoint.know_entries(decoded);
        n
    }

    /// Starts or stops claiming offers.
    #[wasm_bindgen(js_name = setContributing)]
    pub fn set_contributing(&mut self, contributing: bool) {
        self.endpoint.set_contributing(contributing);
    }

    /// Submits a task; returns its id (32 hex characters). `options` is the shim's checked
    /// `{redundancy, maxMicroCredits, priority, timeout}`. With `maxMicroCredits` above 0 it first
    /// escrows that much from this page's account (a `ledger` event carries the entry); a refused
    /// escrow or submission, or no answer by the timeout and the backstop, comes back as a
    /// `failed` event. With `collection` (hex), `shard` and `vectors` in `options`, it is a task
    /// on that shard of a collection (`vector_insert` or `shard_search`, its payload made by the
    /// collections module), run by every live replica of the shard; `vectors` is how many it
    /// inserts (0 for a search), which the relay checks against its holders' storage.
    pub fn submit(
        &mut self,
        kind: &str,
        payload: Vec<u8>,
        options: JsValue,
        now: f64,
    ) -> Result<String, JsError> {
        let target = optional_string(&options, "collection");
        let spec = TaskSpec {
            id: TaskId::random(&mut edgenet_core::rng::os_rng()),
            kind: task_kind(kind)?,
            // A shard task goes to every live replica.
            redundancy: if target.is_some() {
                0
            } else {
                number(&options, "redundancy")? as u8
            },
            // Checked by the shim to be a non-negative integer within 2^53.
            max_credits: number(&options, "maxMicroCredits")? as u64,
            priority: number(&options, "priority")? as u8,
            timeout_ms: number(&options, "timeout")? as u32,
        };
        let id = match target {
            None => self.endpoint.submit(spec, payload, millis(now)),
            Some(collection) => {
                let target = ShardTarget {
                    // Parsed as bytes: the collection type's error text would weigh on this module.
                    collection: edgenet_core::task::hex16(&collection)
                        .map(edgenet_core::collection::CollectionId)
                        .ok_or_else(|| {
                            JsError::new("EN-502: a collection id is 32 hex characters")
                        })?,
                    shard: number(&options, "shard")? as u16,
                    vectors: number(&options, "vectors")? as u32,
                };
                self.endpoint
                    .submit_shard(spec, target, payload, millis(now))
            }
        };
        Ok(id.map_err(js_error)?.to_string())
    }

    /// Sends a collection message (the collections module's bytes: a creation); the relay's
    /// answer comes back as a `collection` event. With `deposit` (a task id) it first escrows
    /// `amount` micro-credits under it, and the message goes out once the relay holds them; a
    /// refused escrow comes back as a `failed` event for that task.
    #[wasm_bindgen(js_name = sendCollection)]
    pub fn send_collection(
        &mut self,
        message: Vec<u8>,
        deposit: Option<String>,
        amount: f64,
    ) -> Result<(), JsError> {
        match deposit {
            None => self.endpoint.send(&ClientMsg::Collection(message)),
            Some(task) => self
                .endpoint
                .escrow_then(task_id(&task)?, amount as u64, message),
        }
        .map_err(js_error)
    }

    /// Returns a job's result (sealed, committed and signed here).
    pub fn finish(&mut self, task: &str, result: &[u8]) -> Result<(), JsError> {
        self.endpoint
            .finish(&task_id(task)?, result, &mut edgenet_core::rng::os_rng())
            .map_err(js_error)
    }

    /// Gives up a job that could not run.
    pub fn abandon(&mut self, task: &str) -> Result<(), JsError> {
        self.endpoint.abandon(&task_id(task)?);
        Ok(())
    }

    /// The socket closed: open submissions fail (as `failed` events with EN-218).
    /// Answers a `{type: 'work'}` event with the nonce a `WorkSolver` found for its challenge.
    pub fn prove(&mut self, challenge: &[u8], nonce: f64) -> Result<(), JsError> {
        let challenge: [u8; 32] = challenge
            .try_into()
            .map_err(|_| JsError::new("EN-222: a work challenge is 32 bytes"))?;
        self.endpoint
            .prove(challenge, nonce as u64)
            .map_err(js_error)
    }

    /// The socket closed and the page reconnects: the submissions that went out are taken from
    /// this connection (no `failed` event for them), as bytes for [`Connection::resume`] on the
    /// next one. Call it before `handleDisconnect`.
    pub fn detach(&mut self, now: f64) -> Vec<u8> {
        let detached = self.endpoint.detach(millis(now));
        if detached.is_empty() {
            return Vec::new();
        }
        Detached::encode_all(&detached)
    }

    /// Submits again, through this connection once it is connected, what [`Connection::detach`]
    /// took from the last one: a relay of the cluster that knows a task picks it up or says how
    /// it ended. Returns how many were resumed.
    pub fn resume(&mut self, detached: &[u8], now: f64) -> Result<u32, JsError> {
        let list = Detached::decode_all(detached).map_err(js_error)?;
        let count = list.len() as u32;
        for d in list {
            self.endpoint.resume(d, millis(now)).map_err(js_error)?;
        }
        Ok(count)
    }

    #[wasm_bindgen(js_name = handleDisconnect)]
    pub fn handle_disconnect(&mut self) {
        self.endpoint.handle_disconnect();
    }
}

/// A JS clock reading as whole milliseconds (negative or NaN readings count as 0).
fn millis(now: f64) -> u64 {
    now.max(0.0) as u64
}

/// Milliseconds a submitter waits past a task's timeout for the relay's answer: the page's own
/// backstop uses the same value as the connection's.
#[wasm_bindgen(js_name = resultBackstopMs)]
pub fn result_backstop_ms() -> u32 {
    edgenet_proto::endpoint::RESULT_BACKSTOP_MS as u32
}

/// The reconnect policy (proto's `reconnect::Backoff`): waits from 100 ms, doubling, with up to a
/// quarter of jitter, capped.
#[wasm_bindgen]
pub struct Backoff(edgenet_proto::reconnect::Backoff);

#[wasm_bindgen]
impl Backoff {
    /// Waits up to `cap_ms` (before jitter).
    #[wasm_bindgen(constructor)]
    pub fn new(cap_ms: u32) -> Backoff {
        Self(edgenet_proto::reconnect::Backoff::new(u64::from(cap_ms)))
    }

    /// The wait before the next attempt, in milliseconds; `random` in [0, 1) picks the jitter.
    #[wasm_bindgen(js_name = nextDelay)]
    pub fn next_delay(&mut self, random: f64) -> u32 {
        let random = (random.clamp(0.0, 1.0) * f64::from(u16::MAX)) as u16;
        u32::try_from(self.0.next_delay(random)).unwrap_or(u32::MAX)
    }

    /// Connected: the next loss starts from the first wait again.
    pub fn reset(&mut self) {
        self.0.reset();
    }
}

fn event(e: Event) -> JsValue {
    match e {
        Event::Connected { relay, peers } => Obj::new("connected")
            .set("relay", relay.to_string())
            .set("peers", peers as u32),
        Event::Execute {
            task,
            kind,
            payload,
        } => Obj::new("execute")
            .set("task", task.to_string())
            .set("kind", kind.name())
            .set("payload", js_sys::Uint8Array::from(payload.as_slice())),
        Event::Verdict { task, agreed } => Obj::new("verdict")
            .set("task", task.to_string())
            .set("agreed", agreed),
        Event::Accepted { task } => Obj::new("accepted").set("task", task.to_string()),
        Event::Progress {
            task,
            assigned,
            results,
            needed,
        } => Obj::new("progress")
            .set("task", task.to_string())
            .set("assigned", assigned as u32)
            .set("results", results as u32)
            .set("needed", needed as u32),
        Event::Done {
            task,
            kind,
            outcome,
        } => Obj::new("done")
            .set("task", task.to_string())
            .set("kind", kind.name())
            .set(
                "result",
                js_sys::Uint8Array::from(outcome.result.as_slice()),
            )
            .set_strings("agreeing", outcome.agreeing.iter().map(|n| n.to_string()))
            .set_strings("outvoted", outcome.outvoted.iter().map(|n| n.to_string())),
        Event::Failed { task, error } => Obj::new("failed")
            .set("task", task.to_string())
            .set("code", error.reported_code())
            .set("message", error.to_string()),
        Event::Ledger { entries } => {
            let list = js_sys::Array::new();
            for entry in entries {
                let hash: String = entry.hash().0.iter().map(|b| format!("{b:02x}")).collect();
                let item = Obj::new("entry").set("hash", hash).set(
                    "bytes",
                    js_sys::Uint8Array::from(entry.to_bytes().as_slice()),
                );
                list.push(&item.into());
            }
            Obj::new("ledger").set("entries", list)
        }
        Event::WorkWanted { challenge, bits } => Obj::new("work")
            .set("challenge", js_sys::Uint8Array::from(challenge.as_slice()))
            .set("bits", u32::from(bits)),
        Event::RelayError { code, message } => Obj::new("relay-error")
            .set("code", code)
            .set("message", message),
        // The answer to a page's creation (the collections module reads it); a page holds no
        // shards, so nothing else comes.
        Event::Collection(bytes) => {
            Obj::new("collection").set("bytes", js_sys::Uint8Array::from(bytes.as_slice()))
        }
    }
    .into()
}
