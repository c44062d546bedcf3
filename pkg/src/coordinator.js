// The coordinator Worker: the page's identity (IndexedDB), its relay socket with reconnects, the
// compute Workers and the routing between them. The protocol itself is the wasm Connection (proto's
// Endpoint): this file moves bytes, events and jobs, and keeps counters for stats().

import initWasm, {
  Backoff, Connection, Policy, generateSecretKey, nodeId as nodeIdOf, resultBackstopMs,
  encodeVectorSearch, encodeEncryption, encodeCompression, decodeKnnResult, decodeCompressed,
} from '../wasm/edgenet.js';
import { errorData } from './errors.js';
import { spawnWorker } from './spawn.js';

const SLICE_MS = 10;
const MAX_BACKOFF_MS = 30_000;
const WORKER_MEMORY = 32 * 1024 * 1024; // what one compute Worker may grow to (payloads ≤ 1 MiB, copies)

let cfg = null; // the 'start' message
let contribute = null; // contribution settings once consented
let secret = null;
let myId = null;
let conn = null;
let ws = null;
let state = 'connecting';
let everConnected = false;
let backoff = null; // proto's reconnect policy (wasm Backoff), once the module is loaded
let bootError = null; // why the module did not load: every submission is answered with it
let timeoutTimer = 0; // the connection's next deadline (handshake, submission backstops)
let relayIndex = 0;
let reconnectTimer = 0;
let stopped = false;
let policy = null;
let signals = null;
let paused = false;
let share = { fraction: 0, reason: 'paused' };
const pool = []; // { worker, task, busyMs }
const queue = []; // jobs waiting for a free compute Worker
const submits = new Map(); // task id -> request id from the page
const turns = new Map(); // paid task id -> releases this tab's turn at writing the identity's chain
const waiting = []; // submissions made before the connection was ready
const counts = { tasksCompleted: 0, tasksOnGpu: 0, tasksVerified: 0, tasksRejected: 0, tasksFailed: 0, submitted: 0 };
// The GPU Worker's choice ({adapter, single, batch, measurements}); null until known or without
// GPU consent.
let backend = null;
const startedAt = Date.now();
let markReady;
const ready = new Promise((r) => { markReady = r; });

const post = (msg, transfer) => self.postMessage(msg, transfer || []);
const report = (e, context) => post({ type: 'error', error: errorData(e), context });

// --- identity -----------------------------------------------------------------------------------

// Stores: `keys` (the identity seed) and, since version 2, `ledger` (entries that concern this
// node, as the relay sent them: hash hex -> encoded entry).
function idb(mode, fn, store = 'keys') {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('edgenet', 2);
    open.onupgradeneeded = () => {
      for (const name of ['keys', 'ledger']) {
        if (!open.result.objectStoreNames.contains(name)) open.result.createObjectStore(name);
      }
    };
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => { open.result.close(); resolve(req.result); };
      tx.onerror = () => reject(tx.error);
    };
  });
}

async function loadIdentity() {
  try {
    const stored = await idb('readonly', (s) => s.get('identity'));
    if (stored instanceof Uint8Array && stored.length === 32) return stored;
    const fresh = generateSecretKey();
    await idb('readwrite', (s) => s.put(fresh, 'identity'));
    return fresh;
  } catch (e) {
    // No IndexedDB (some private modes): work with a key for this page only, and say so.
    report({ message: `EN-504: the identity cannot be stored (${e && e.message}); this page uses a temporary one` });
    return generateSecretKey();
  }
}

// --- stats --------------------------------------------------------------------------------------

function stats() {
  return {
    // When these figures were taken, in ms on the coordinator's clock (differences are meaningful).
    at: performance.now(),
    state,
    nodeId: myId,
    relay: cfg ? cfg.relays[relayIndex % cfg.relays.length] : null,
    contributing: Boolean(contribute),
    paused,
    workers: pool.length,
    cpuLimit: contribute ? contribute.cpuLimit : 0,
    cpuShare: share.fraction,
    reason: share.reason,
    busyMs: pool.reduce((a, p) => a + p.busyMs, 0),
    busyMsByWorker: pool.map((p) => p.busyMs),
    queued: queue.length,
    backend,
    running: pool.filter((p) => p.task).length,
    ...counts,
    uptime: Math.round((Date.now() - startedAt) / 1000),
    // From the relay's ledger replica (null until the first answer); the early-adopter multiplier
    // is not published by the relay yet.
    credits: account ? account.balance / 1e6 : null,
    earned: account ? account.earned / 1e6 : null,
    multiplier: null,
  };
}

const postStats = () => post({ type: 'stats', stats: stats() });

// --- credits ------------------------------------------------------------------------------------

// This node's figures as the relay's ledger evaluates them (GET /api/ledger/{id}): the same ledger
// the HTTP API and `edgenet-node earnings` read. Integers, in micro-credits.
let account = null;

function ledgerUrl() {
  const ws = new URL(cfg.relays[relayIndex % cfg.relays.length]);
  ws.protocol = ws.protocol === 'wss:' ? 'https:' : 'http:';
  ws.pathname = `/api/ledger/${myId}`;
  return ws.href;
}

async function refreshCredits() {
  let fresh;
  try {
    const r = await fetch(ledgerUrl());
    if (!r.ok) return;
    fresh = await r.json();
  } catch {
    return; // the socket's reconnect logic reports a relay that is down
  }
  const gained = account ? fresh.earned - account.earned : fresh.earned;
  account = fresh;
  if (gained > 0) post({ type: 'credit', credits: gained / 1e6, total: fresh.balance / 1e6 });
  postStats();
}

// Every kept entry, encoded: the endpoint finds its own chain among them.
async function keptEntries() {
  try {
    return await idb('readonly', (s) => s.getAll(), 'ledger');
  } catch {
    return []; // the endpoint then asks the relay for the whole chain before writing
  }
}

async function keepEntries(entries) {
  try {
    await idb('readwrite', (s) => {
      for (const e of entries) s.put(e.bytes, e.hash);
      return s.count();
    }, 'ledger');
  } catch (e) {
    report({ message: `EN-506: ledger entries cannot be kept in IndexedDB (${e && e.message}); the credits shown still come from the relay` });
  }
}

function setState(s) {
  if (s === state) return;
  state = s;
  post({ type: 'state', state });
  postStats();
}

// --- throttle -----------------------------------------------------------------------------------

function applyShare() {
  const next = policy && signals
    ? policy.share(signals.visible, signals.focused, signals.msSinceInput ?? undefined,
      signals.frameRate ?? undefined, signals.onBattery, signals.batteryLevel ?? undefined,
      signals.saveData, paused)
    : { fraction: 0, reason: paused ? 'paused' : 'starting' };
  const changed = next.fraction !== share.fraction || next.reason !== share.reason;
  share = { fraction: next.fraction, reason: next.reason };
  if (conn) conn.setContributing(Boolean(contribute) && share.fraction > 0);
  if (changed) {
    for (const p of pool) p.worker.postMessage({ type: 'limit', fraction: share.fraction });
    postStats();
  }
}

// --- compute Workers ----------------------------------------------------------------------------

function startPool(module) {
  const n = Math.max(1, Math.min(contribute.workers, Math.floor(contribute.memoryLimit / WORKER_MEMORY)));
  for (let i = 0; i < n; i += 1) {
    const worker = spawnWorker(cfg.computeUrl);
    const slot = { worker, task: null, busyMs: 0 };
    worker.onmessage = ({ data: m }) => onCompute(slot, m);
    worker.onerror = (e) => { report({ message: `EN-509: a compute Worker failed: ${e.message}` }); };
    // One Worker drives the GPU: a second device on the same GPU would only contend with it.
    const gpu = i === 0 && contribute.gpu
      ? { script: cfg.gpuUrl, wasm: cfg.gpuWasmUrl, mode: contribute.gpu }
      : null;
    worker.postMessage({ type: 'init', module, limit: share.fraction, sliceMs: SLICE_MS, gpu });
    pool.push(slot);
  }
}

function dispatch() {
  for (const slot of pool) {
    if (slot.task || !queue.length) continue;
    const job = queue.shift();
    slot.task = job.task;
    slot.worker.postMessage({ type: 'run', ...job }, [job.payload.buffer]);
  }
}

function onCompute(slot, m) {
  if (m.type === 'busy') { slot.busyMs = m.busyMs; return; }
  if (m.type === 'backend') { backend = m.choice; postStats(); return; }
  if (m.type === 'done') {
    slot.busyMs = m.busyMs;
    slot.task = null;
    try {
      conn.finish(m.task, m.result);
      counts.tasksCompleted += 1;
      if (m.backend === 'gpu') counts.tasksOnGpu += 1;
    } catch (e) {
      // The connection that assigned it is gone (EN-208): the relay has reassigned it.
    }
    pump();
  } else if (m.type === 'failed') {
    slot.task = null;
    counts.tasksFailed += 1;
    try { conn.abandon(m.task); } catch { /* connection gone */ }
    report({ message: `${m.error.code}: task ${m.task} did not run: ${m.error.message}` }, 'task');
  }
  dispatch();
  postStats();
}

// --- relay connection ---------------------------------------------------------------------------

function pump() {
  if (!conn) return;
  for (let f = conn.pollOutgoing(); f; f = conn.pollOutgoing()) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(f);
  }
  for (let ev = conn.pollEvent(); ev; ev = conn.pollEvent()) onEvent(ev);
  armTimeout();
}

// The connection's own deadlines (sans-IO: it says when, this file keeps the timer).
function armTimeout() {
  clearTimeout(timeoutTimer);
  const at = conn ? conn.pollTimeout() : undefined;
  if (at === undefined || at === null) return;
  timeoutTimer = setTimeout(onTimeout, Math.max(0, at - performance.now()));
}

function onTimeout() {
  if (!conn) return;
  try {
    conn.handleTimeout(performance.now());
  } catch (e) {
    report(e, 'relay'); // the handshake is late: give up on this socket and reconnect
    if (ws) ws.close();
  }
  pump();
}

function onEvent(ev) {
  switch (ev.type) {
    case 'connected':
      everConnected = true;
      backoff.reset();
      setState('connected');
      while (waiting.length) waiting.shift()();
      refreshCredits();
      break;
    case 'ledger':
      keepEntries(ev.entries).then(refreshCredits);
      break;
    case 'accepted':
      endTurn(ev.task);
      break;
    case 'execute':
      if (!contribute || !contribute.tasks.includes(ev.kind)) { conn.abandon(ev.task); break; }
      queue.push({ task: ev.task, kind: ev.kind, payload: ev.payload });
      post({ type: 'task', task: { id: ev.task, type: ev.kind } });
      dispatch();
      break;
    case 'verdict':
      if (ev.agreed) counts.tasksVerified += 1; else counts.tasksRejected += 1;
      postStats();
      break;
    case 'done': {
      endTurn(ev.task);
      const req = submits.get(ev.task);
      submits.delete(ev.task);
      let value;
      try {
        value = { id: ev.task, type: ev.kind, verified: true, workers: ev.agreeing, agreeing: ev.agreeing, outvoted: ev.outvoted };
        if (ev.kind === 'vector_search') value.knn = decodeKnnResult(ev.result);
        else if (ev.kind === 'compression') value.compressed = decodeCompressed(ev.result);
        else value.ciphertext = ev.result;
      } catch (e) {
        post({ type: 'result', req, error: errorData(e) });
        break;
      }
      post({ type: 'result', req, value });
      break;
    }
    case 'failed': {
      endTurn(ev.task);
      const req = submits.get(ev.task);
      submits.delete(ev.task);
      if (req !== undefined) post({ type: 'result', req, error: { code: ev.code, message: ev.message } });
      break;
    }
    case 'relay-error':
      report({ message: `${ev.code}: ${ev.message}` }, 'relay');
      break;
    default:
      break;
  }
}

function connect() {
  if (stopped) return;
  const url = cfg.relays[relayIndex % cfg.relays.length];
  setState(everConnected ? 'reconnecting' : 'connecting');
  // Two jobs queued behind each running one: the next offer round is up to 500 ms away.
  const maxJobs = Math.max(1, pool.length * 3);
  const fresh = new Connection(secret, pool.length, contribute ? Math.round(contribute.memoryLimit / 1048576) : 0, maxJobs, false, performance.now());
  conn = fresh;
  keptEntries().then((kept) => { if (conn === fresh) fresh.knowEntries(kept); });
  applyShare();
  armTimeout();
  const socket = new WebSocket(url);
  ws = socket;
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (e) => {
    if (socket !== ws || typeof e.data === 'string') return;
    try {
      conn.handleFrame(new Uint8Array(e.data));
    } catch (err) {
      report(err, 'relay');
      socket.close();
      return;
    }
    pump();
  };
  socket.onclose = () => { if (socket === ws) lost(); };
}

function lost() {
  ws = null;
  if (conn) {
    conn.handleDisconnect();
    pump();
    conn.free();
    conn = null;
  }
  clearTimeout(timeoutTimer);
  queue.length = 0;
  for (const p of pool) {
    p.worker.postMessage({ type: 'abort', running: p.task });
    p.task = null;
  }
  if (stopped) return;
  setState('reconnecting');
  // Proto's backoff (exponential, with jitter), rotating through the configured relays.
  const delay = backoff.nextDelay(Math.random());
  relayIndex += 1;
  reconnectTimer = setTimeout(connect, delay);
}

// --- submissions --------------------------------------------------------------------------------

function submit({ req, kind, payload: p, options }) {
  let bytes;
  try {
    bytes = {
      vector_search: () => encodeVectorSearch(p.metric, p.dim, p.k, p.queries, p.database),
      encryption: () => encodeEncryption(p.key, p.nonce, p.aad, p.data),
      compression: () => encodeCompression(p.mode, p.dim, p.vectors),
    }[kind]();
  } catch (e) {
    post({ type: 'result', req, error: errorData(e) });
    return;
  }
  const send = (done = () => {}) => {
    try {
      const id = conn.submit(kind, bytes, options, performance.now());
      submits.set(id, req);
      if (options.maxMicroCredits > 0) turns.set(id, done); else done();
      counts.submitted += 1;
      pump();
    } catch (e) {
      done();
      post({ type: 'result', req, error: errorData(e) });
    }
  };
  const go = options.maxMicroCredits > 0 ? () => inTurn(send) : send;
  if (conn && conn.isReady()) go(); else whenConnected(go, req, options.timeout);
}

// A submission made before any relay answered waits for one, but no longer than the connection
// would wait for its result (its timeout and the same backstop).
function whenConnected(go, req, timeout) {
  const run = () => { clearTimeout(timer); go(); };
  const timer = setTimeout(() => {
    const at = waiting.indexOf(run);
    if (at >= 0) waiting.splice(at, 1);
    post({ type: 'result', req, error: { code: 'EN-505', message: `no verified result within ${timeout} ms: no relay reached` } });
  }, timeout + resultBackstopMs());
  waiting.push(run);
}

// A paid submission writes an escrow into this identity's chain. Other tabs of this origin share
// the identity, and two tabs signing at once would fork the chain (an equivocation freezes the
// account), so tabs take turns through a Web Lock: each turn lasts until the relay has the escrow
// and has accepted or refused the task. Without Web Locks there is one turn-taker per tab only.
function inTurn(fn) {
  if (!self.navigator || !navigator.locks) { fn(); return; }
  navigator.locks.request(`edgenet-chain-${myId}`, () => new Promise((done) => {
    if (conn && conn.isReady()) fn(done); else { done(); waiting.push(() => inTurn(fn)); }
  }));
}

function endTurn(task) {
  const done = turns.get(task);
  turns.delete(task);
  if (done) done();
}

// --- messages from the page ---------------------------------------------------------------------

async function boot(msg) {
  cfg = msg;
  let module;
  try {
    const response = fetch(cfg.wasmUrl);
    module = await WebAssembly.compileStreaming(response).catch(async () => WebAssembly.compile(await (await fetch(cfg.wasmUrl)).arrayBuffer()));
    await initWasm({ module_or_path: module });
  } catch (e) {
    bootError = { code: 'EN-508', message: `the EdgeNet wasm module did not load from ${cfg.wasmUrl}: ${e && e.message}` };
    report({ message: `${bootError.code}: ${bootError.message}` }, 'boot');
    setState('error');
    markReady();
    return;
  }
  backoff = new Backoff(MAX_BACKOFF_MS);
  secret = await loadIdentity();
  myId = nodeIdOf(secret);
  post({ type: 'identity', nodeId: myId });
  if (cfg.contribute) enableContribution(cfg.contribute, module);
  cfg.module = module;
  setInterval(postStats, 1000);
  markReady();
  connect();
}

function enableContribution(settings, module) {
  if (contribute) return;
  contribute = settings;
  policy = new Policy(settings.cpuLimit, settings.focusRequired, settings.minIdleTime, settings.respectBattery);
  startPool(module);
  // A connection made without workers advertised none: reconnect to advertise them.
  if (ws) ws.close();
  applyShare();
}

self.onmessage = async ({ data: m }) => {
  if (m.type === 'start') { boot(m); return; }
  await ready;
  if (bootError) {
    if (m.type === 'submit') post({ type: 'result', req: m.req, error: bootError });
    return;
  }
  switch (m.type) {
    case 'contribute': enableContribution(m.settings, cfg.module); break;
    case 'signals': signals = m.signals; applyShare(); break;
    case 'pause': paused = true; applyShare(); break;
    case 'resume': paused = false; applyShare(); break;
    case 'submit': submit(m); break;
    case 'stats': postStats(); break;
    case 'stop':
      stopped = true;
      clearTimeout(reconnectTimer);
      for (const p of pool) p.worker.terminate();
      pool.length = 0;
      if (ws) ws.close();
      post({ type: 'stopped' });
      break;
    default:
      break;
  }
};
