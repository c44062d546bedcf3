//! `Connection`: the protocol side of the browser's relay socket, for the coordinator Worker.
//!
//! It wraps `edgenet_proto::endpoint::Endpoint`: frames in and out as `Uint8Array`, events out as
//! plain objects (`{type: 'execute', task, kind, payload}`, …). The socket, reconnects and the
//! compute Workers are the coordinator's; what a frame means is the endpoint's.

use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::endpoint::{Endpoint, Event};
use edgenet_proto::message::{Capabilities, Role, TaskSpec};
use wasm_bindgen::prelude::*;

use crate::js::Obj;
use crate::{js_error, secret_key};

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
    /// A connection for the identity `secret`, offering `workers` compute Workers and
    /// `memory_mib`; it claims offers only while `contributing`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        secret: &[u8],
        workers: u16,
        memory_mib: u32,
        max_jobs: usize,
        contributing: bool,
    ) -> Result<Connection, JsError> {
        let capabilities = Capabilities {
            cores: workers,
            memory_mib,
            gpu: None,
            kernels: edgenet_kernels::execute::KINDS.to_vec(),
            backends: vec![edgenet_kernels::simd::backend().into()],
        };
        Ok(Self {
            endpoint: Endpoint::new(
                secret_key(secret)?,
                Role::Browser,
                capabilities,
                max_jobs,
                contributing,
            ),
        })
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

    /// Submits a task; returns its id (32 hex characters). With `max_credits` (micro-credits)
    /// above 0 it first escrows that much from this page's account (a `ledger` event carries the
    /// entry); a refused escrow or submission comes back as a `failed` event.
    pub fn submit(
        &mut self,
        kind: &str,
        payload: Vec<u8>,
        redundancy: u8,
        max_credits: f64,
        priority: u8,
        timeout_ms: u32,
    ) -> Result<String, JsError> {
        let spec = TaskSpec {
            id: TaskId::random(&mut edgenet_core::rng::os_rng()),
            kind: task_kind(kind)?,
            redundancy,
            // Checked by the shim to be a non-negative integer within 2^53.
            max_credits: max_credits as u64,
            priority,
            timeout_ms,
        };
        Ok(self
            .endpoint
            .submit(spec, payload)
            .map_err(js_error)?
            .to_string())
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
    #[wasm_bindgen(js_name = handleDisconnect)]
    pub fn handle_disconnect(&mut self) {
        self.endpoint.handle_disconnect();
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
        Event::RelayError { code, message } => Obj::new("relay-error")
            .set("code", code)
            .set("message", message),
    }
    .into()
}
