// @ts-check
// The relay socket: opening it (rotating through the configured relays with proto's backoff),
// moving frames between it and the connection (proto's endpoint), keeping the endpoint's timer,
// and acting on the endpoint's events. The other rooms import this one and register what they do
// on its events with `onSocket`; this room imports none of them, so there is no import circle.

import { Connection } from '../../wasm/edgenet.js';
import { CODECS } from '../kinds/index.generated.js';
import { EdgeNetError, errorData } from '../errors.js';
import { runsText, runsWasm } from '../models.js';
import { apiUrl, co, counts, pool, post, postStats, queue, relayUrl, report, setState, shardTasks, submits, waiting } from './state.js';
import { keepEntries, keptEntries } from './store.js';
import { solveWork } from './work.js';

/**
 * What the other rooms do on the socket's events: the pool runs queued jobs and follows the
 * connection, the submission queue ends a task's turn, the collections room reads its messages.
 * @type {{ jobsQueued: () => void, taskEnded: (task: string) => void, collectionMessage: (bytes: Uint8Array) => void, connected: () => void, disconnected: () => void }}
 */
const handlers = {
  jobsQueued: () => {},
  taskEnded: () => {},
  collectionMessage: () => {},
  connected: () => {},
  disconnected: () => {},
};

/**
 * Registers what a room does on one of the socket's events (one handler each).
 * @template {keyof typeof handlers} K
 * @param {K} event
 * @param {(typeof handlers)[K]} handler
 */
export function onSocket(event, handler) {
  handlers[event] = handler;
}

/** Sends what the connection queued and acts on its events; then re-arms its timer. */
export function pump() {
  const { conn, ws } = co;
  if (!conn) return;
  for (let f = conn.pollOutgoing(); f; f = conn.pollOutgoing()) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(f);
  }
  for (let ev = conn.pollEvent(); ev; ev = conn.pollEvent()) onEvent(ev);
  armTimeout();
}

// The connection's own deadlines (sans-IO: it says when, this file keeps the timer).
function armTimeout() {
  clearTimeout(co.timeoutTimer);
  const at = co.conn ? co.conn.pollTimeout() : undefined;
  if (at === undefined || at === null) return;
  co.timeoutTimer = setTimeout(onTimeout, Math.max(0, at - performance.now()));
}

function onTimeout() {
  if (!co.conn) return;
  try {
    co.conn.handleTimeout(performance.now());
  } catch (e) {
    report(e, 'relay'); // the handshake is late: give up on this socket and reconnect
    if (co.ws) co.ws.close();
  }
  pump();
}

/** @param {any} ev an event of the wasm Connection (`{type, …}`) */
function onEvent(ev) {
  switch (ev.type) {
    case 'connected':
      co.everConnected = true;
      if (co.backoff) co.backoff.reset();
      setState('connected');
      for (const kept of co.detached.splice(0)) {
        try { co.conn?.resume(kept, performance.now()); } catch (e) { report(e, 'relay'); }
      }
      while (waiting.length) waiting.shift()?.();
      refreshCredits();
      learnRelays();
      break;
    case 'ledger':
      keepEntries(ev.entries).then(refreshCredits);
      break;
    case 'accepted':
      handlers.taskEnded(ev.task);
      break;
    case 'progress': {
      const req = submits.get(ev.task);
      if (req !== undefined) post({ type: 'progress', req, assigned: ev.assigned, results: ev.results, needed: ev.needed });
      break;
    }
    case 'execute':
      if (!co.contribute || !co.contribute.tasks.includes(ev.kind)) { co.conn?.abandon(ev.task); break; }
      // A text task's Worker fetches the model from the relay that assigned it (once).
      queue.push({ task: ev.task, kind: ev.kind, payload: ev.payload, modelBase: modelBase(relayUrl() || '') });
      post({ type: 'task', task: { id: ev.task, type: ev.kind } });
      handlers.jobsQueued();
      break;
    case 'verdict':
      if (ev.agreed) counts.tasksVerified += 1; else counts.tasksRejected += 1;
      postStats();
      break;
    case 'done': {
      handlers.taskEnded(ev.task);
      const shard = shardTasks.get(ev.task);
      shardTasks.delete(ev.task);
      if (shard) { shard.resolve(ev); break; }
      const req = submits.get(ev.task);
      submits.delete(ev.task);
      if (req === undefined) break;
      /** @type {Record<string, any>} */
      let value;
      try {
        const fields = CODECS[ev.kind].decode(ev.result);
        value = { id: ev.task, type: ev.kind, verified: true, workers: ev.agreeing, agreeing: ev.agreeing, outvoted: ev.outvoted, ...fields };
      } catch (e) {
        post({ type: 'result', req, error: errorData(e) });
        break;
      }
      post({ type: 'result', req, value });
      break;
    }
    case 'failed': {
      handlers.taskEnded(ev.task);
      const shard = shardTasks.get(ev.task);
      shardTasks.delete(ev.task);
      if (shard) { shard.reject(new EdgeNetError(ev.code, ev.message)); break; }
      const req = submits.get(ev.task);
      submits.delete(ev.task);
      if (req !== undefined) post({ type: 'result', req, error: { code: ev.code, message: ev.message } });
      break;
    }
    case 'work': {
      const asker = co.conn;
      solveWork(ev, (nonce) => {
        if (co.conn !== asker || !asker) return;
        try { asker.prove(ev.challenge, nonce); } catch (e) { report(e, 'relay'); }
        pump();
      });
      break;
    }
    case 'collection':
      handlers.collectionMessage(ev.bytes);
      break;
    case 'relay-error':
      report({ message: `${ev.code}: ${ev.message}` }, 'relay');
      break;
    default:
      break;
  }
}

/** Where a relay at the WebSocket URL `ws` serves the model's files. @param {string} ws */
function modelBase(ws) {
  const u = new URL(ws);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = `${u.pathname.replace(/\/ws\/?$/, '')}/models/minilm/`.replace(/^\/\//, '/');
  return u.href;
}

/** Opens a socket to the current relay with a fresh connection. */
export function connect() {
  const { cfg, contribute, secret } = co;
  if (co.stopped || !cfg || !secret) return;
  const url = relayUrl() || '';
  setState(co.everConnected ? 'reconnecting' : 'connecting');
  // Two jobs queued behind each running one: the next offer round is up to 500 ms away.
  const profile = {
    workers: pool.length,
    memoryMib: contribute ? Math.round(contribute.memoryLimit / 1048576) : 0,
    maxJobs: Math.max(1, pool.length * 3),
    contributing: false,
    // The text kinds are offered only when the page runs them (one Worker, with the model).
    textTasks: runsText(contribute),
    // custom_wasm only when the site lists it.
    sandboxTasks: runsWasm(contribute),
  };
  const fresh = new Connection(secret, profile, performance.now());
  co.conn = fresh;
  keptEntries().then((kept) => { if (co.conn === fresh) fresh.knowEntries(kept); });
  handlers.connected();
  armTimeout();
  const socket = new WebSocket(url);
  co.ws = socket;
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (e) => {
    if (socket !== co.ws || typeof e.data === 'string' || !co.conn) return;
    try {
      co.conn.handleFrame(new Uint8Array(e.data));
    } catch (err) {
      report(err, 'relay');
      socket.close();
      return;
    }
    pump();
  };
  socket.onclose = () => { if (socket === co.ws) lost(); };
}

function lost() {
  co.ws = null;
  if (co.conn) {
    // Open submissions go on at the next relay (a cluster's relay that knows the task picks it
    // up); stopping fails them instead.
    if (!co.stopped) {
      const kept = co.conn.detach(performance.now());
      if (kept.length) co.detached.push(kept);
    }
    co.conn.handleDisconnect();
    pump();
    co.conn.free();
    co.conn = null;
  }
  clearTimeout(co.timeoutTimer);
  handlers.disconnected();
  if (co.stopped || !co.backoff) return;
  setState('reconnecting');
  // Proto's backoff (exponential, with jitter), rotating through the configured relays.
  const delay = co.backoff.nextDelay(Math.random());
  co.relayIndex += 1;
  co.reconnectTimer = setTimeout(connect, delay);
}

/** Most relays a page rotates through: the configured ones and those learned from a cluster. */
const MAX_RELAYS = 16;

/**
 * Adds the cluster's other relays (the relay's directory, GET /api/relays) to the rotation, so
 * that when this relay fails the page moves to another. Only URLs of the current one's scheme
 * (a page on https never learns a ws:// relay); a relay that is not in a cluster lists none.
 */
async function learnRelays() {
  const current = relayUrl();
  if (!current || !co.cfg) return;
  const scheme = new URL(current).protocol;
  let listed;
  try {
    const r = await fetch(apiUrl('/api/relays'));
    if (!r.ok) return;
    listed = await r.json();
  } catch {
    return;
  }
  if (!Array.isArray(listed) || !co.cfg) return;
  const relays = [...co.cfg.relays];
  for (const entry of listed) {
    const url = entry && typeof entry.url === 'string' ? entry.url : '';
    let parsed;
    try { parsed = new URL(url); } catch { continue; }
    if (parsed.protocol === scheme && !relays.includes(url) && relays.length < MAX_RELAYS) relays.push(url);
  }
  co.cfg = { ...co.cfg, relays };
}

// This node's figures as the relay's ledger evaluates them (GET /api/ledger/{id}): the same ledger
// the HTTP API and `edgenet-node earnings` read. Integers, in micro-credits.
const ledgerUrl = () => apiUrl(`/api/ledger/${co.myId}`);

async function refreshCredits() {
  let fresh;
  try {
    const r = await fetch(ledgerUrl());
    if (!r.ok) return;
    fresh = await r.json();
  } catch {
    return; // the socket's reconnect logic reports a relay that is down
  }
  const gained = co.account ? fresh.earned - co.account.earned : fresh.earned;
  co.account = fresh;
  if (gained > 0) post({ type: 'credit', credits: gained / 1e6, total: fresh.balance / 1e6 });
  postStats();
}
