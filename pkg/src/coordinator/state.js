// @ts-check
// The coordinator's state: one object its rooms share, the counters stats() reports, and the
// messages it posts to the page.

import { errorData } from '../errors.js';

/** @typedef {import('../messages.js').StartMessage} StartMessage */
/** @typedef {import('../messages.js').ContributeSettings} ContributeSettings */
/** @typedef {import('../messages.js').Signals} Signals */
/** @typedef {import('../messages.js').CoordinatorToPage} CoordinatorToPage */
/** @typedef {import('../messages.js').Job} Job */

/** One compute Worker of the pool. @typedef {{ worker: Worker, task: string | null, busyMs: number }} Slot */

export const co = {
  /** @type {StartMessage | null} the 'start' message */
  cfg: null,
  /** @type {ContributeSettings | null} contribution settings once consented */
  contribute: null,
  /** @type {Uint8Array | null} the identity's secret seed */
  secret: null,
  /** @type {string | null} */
  myId: null,
  /** @type {import('../../wasm/edgenet.js').Connection | null} proto's endpoint for this socket */
  conn: null,
  /** @type {WebSocket | null} */
  ws: null,
  state: 'connecting',
  everConnected: false,
  /** @type {import('../../wasm/edgenet.js').Backoff | null} proto's reconnect policy */
  backoff: null,
  /** @type {Promise<WebAssembly.Module> | null} the compute module, compiled and instantiated here */
  compute: null,
  /** @type {import('../messages.js').ErrorData | null} why the module did not load */
  bootError: null,
  relayIndex: 0,
  /** @type {Uint8Array[]} submissions taken from lost connections, to resume on the next */
  detached: [],
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  reconnectTimer: undefined,
  /** @type {ReturnType<typeof setTimeout> | undefined} the connection's next deadline */
  timeoutTimer: undefined,
  stopped: false,
  /** @type {import('../../wasm/edgenet.js').Policy | null} */
  policy: null,
  /** @type {Signals | null} */
  signals: null,
  paused: false,
  share: { fraction: 0, reason: 'paused' },
  /** @type {object | null} the GPU Worker's backend choice, once known */
  backend: null,
  /** @type {{ loadMs: number, fromCache: boolean, backend: string, adapter?: string } | null} the embedding model, once a Worker loaded it */
  model: null,
  /** @type {{ balance: number, earned: number, rank?: number | null, contributors?: number, reputation?: number | null, multiplier_ppm?: number } | null} this node's figures from the relay (`/api/ledger/{id}`) */
  account: null,
};

/** @type {Slot[]} */
export const pool = [];
/** @type {Job[]} jobs waiting for a free compute Worker */
export const queue = [];
/** @type {Map<string, string>} task id -> request id from the page (unique across its tabs) */
export const submits = new Map();
/** @type {Map<string, { resolve: (done: any) => void, reject: (e: Error) => void }>} a collection's shard task id -> its settling */
export const shardTasks = new Map();
/** @type {Map<string, () => void>} paid task id -> ends this tab's turn at writing the chain */
export const turns = new Map();
/** @type {Array<() => void>} submissions made before the connection was ready */
export const waiting = [];
export const counts = { tasksCompleted: 0, tasksOnGpu: 0, tasksVerified: 0, tasksRejected: 0, tasksFailed: 0, submitted: 0 };
const startedAt = Date.now();

/**
 * @param {CoordinatorToPage} msg
 * @param {Transferable[]} [transfer]
 */
export const post = (msg, transfer) => self.postMessage(msg, { transfer: transfer || [] });

/**
 * Reports an error to the page (errorData gives it its code).
 * @param {unknown} e
 * @param {string} [context]
 */
export const report = (e, context) => post({ type: 'error', error: errorData(e), context });

/** The relay this connection uses now. */
export const relayUrl = () => (co.cfg ? co.cfg.relays[co.relayIndex % co.cfg.relays.length] : null);

/** The relay's HTTP API at `path` (its socket's host, http(s) for ws(s)). @param {string} path */
export function apiUrl(path) {
  const u = new URL(relayUrl() || '');
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = path;
  return u.href;
}

/** @returns {import('../messages.js').Stats} */
export function stats() {
  const { contribute, account } = co;
  return {
    // When these figures were taken, in ms on the coordinator's clock (differences are meaningful).
    at: performance.now(),
    state: co.state,
    nodeId: co.myId,
    relay: relayUrl(),
    contributing: Boolean(contribute),
    paused: co.paused,
    workers: pool.length,
    cpuLimit: contribute ? contribute.cpuLimit : 0,
    cpuShare: co.share.fraction,
    reason: co.share.reason,
    busyMs: pool.reduce((a, p) => a + p.busyMs, 0),
    busyMsByWorker: pool.map((p) => p.busyMs),
    queued: queue.length,
    backend: co.backend,
    model: co.model,
    running: pool.filter((p) => p.task).length,
    ...counts,
    uptime: Math.round((Date.now() - startedAt) / 1000),
    // From the relay's ledger replica (null until the first answer): credits, the rank by credits
    // earned among the relay's contributors, reputation in basis points, and the early-adopter
    // multiplier payments get now.
    credits: account ? account.balance / 1e6 : null,
    earned: account ? account.earned / 1e6 : null,
    rank: account && account.rank != null ? account.rank : null,
    contributors: account && account.contributors != null ? account.contributors : null,
    reputation: account && account.reputation != null ? account.reputation : null,
    multiplier: account && account.multiplier_ppm != null ? account.multiplier_ppm / 1e6 : null,
  };
}

export const postStats = () => post({ type: 'stats', stats: stats() });

/** @param {string} s */
export function setState(s) {
  if (s === co.state) return;
  co.state = s;
  post({ type: 'state', state: s });
  postStats();
}
