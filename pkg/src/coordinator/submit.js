// @ts-check
// The page's submissions: encoded for the connection, submitted once it is ready (paid ones in
// this identity's turn at writing its chain), answered with their result or failure.

import { resultBackstopMs } from '../../wasm/edgenet.js';
import { EdgeNetError, errorData } from '../errors.js';
import { submitCollection } from './collections.js';
import { co, counts, post, submits, turns, waiting } from './state.js';
import { onSocket, pump } from './socket.js';
import { CODECS } from '../kinds/index.generated.js';

/** @typedef {import('../messages.js').SubmitOptions} SubmitOptions */

/** @param {{ req: string, kind: string, payload: any, options: SubmitOptions }} m */
export function submit(m) {
  const { req, kind, payload, options } = m;
  // A collection's tasks (and a search of one) are planned by the collections module.
  if (kind === 'collection_create' || kind === 'vector_insert' || payload.collection) { submitCollection(m, enqueue, endTurn); return; }
  /** @type {Uint8Array} */
  let bytes;
  try {
    bytes = CODECS[kind].encode(payload);
  } catch (e) {
    post({ type: 'result', req, error: errorData(e) });
    return;
  }
  enqueue(() => co.conn?.submit(kind, bytes, options, performance.now()) || '', options, (id) => {
    counts.submitted += 1;
    submits.set(id, req);
  }, (e) => post({ type: 'result', req, error: errorData(e) }));
}

/**
 * Runs `start` on the connection once it is ready (a paid submission in this identity's turn at
 * its chain), then hands its task id to `started`; `failed` gets what went wrong instead.
 * @param {() => string} start
 * @param {SubmitOptions} options
 * @param {(id: string) => void} started
 * @param {(e: unknown) => void} failed
 */
export function enqueue(start, options, started, failed) {
  const send = (done = () => {}) => {
    try {
      if (!co.conn) throw new Error('EN-218: the connection to the relay dropped');
      const id = start();
      started(id);
      if (options.maxMicroCredits > 0) turns.set(id, done); else done();
      pump();
    } catch (e) {
      done();
      failed(e);
    }
  };
  const go = options.maxMicroCredits > 0 ? () => inTurn(send) : send;
  if (co.conn && co.conn.isReady()) go(); else whenConnected(go, failed, options.timeout);
}

/**
 * A submission made before any relay answered waits for one, but no longer than the connection
 * would wait for its result (its timeout and the same backstop).
 * @param {() => void} go
 * @param {(e: unknown) => void} failed
 * @param {number} timeout
 */
function whenConnected(go, failed, timeout) {
  const run = () => { clearTimeout(timer); go(); };
  const timer = setTimeout(() => {
    const at = waiting.indexOf(run);
    if (at >= 0) waiting.splice(at, 1);
    failed(new EdgeNetError('EN-505', `no verified result within ${timeout} ms: no relay reached`));
  }, timeout + resultBackstopMs());
  waiting.push(run);
}

/**
 * A paid submission writes an escrow into this identity's chain. Other tabs of this origin share
 * the identity, and two tabs signing at once would fork the chain (an equivocation freezes the
 * account), so tabs take turns through a Web Lock: each turn lasts until the relay has the escrow
 * and has accepted or refused the task. Without Web Locks there is one turn-taker per tab only.
 * @param {(done: () => void) => void} fn
 */
function inTurn(fn) {
  if (!self.navigator || !navigator.locks) { fn(() => {}); return; }
  navigator.locks.request(`edgenet-chain-${co.myId}`, () => new Promise((done) => {
    if (co.conn && co.conn.isReady()) fn(() => done(undefined));
    else { done(undefined); waiting.push(() => inTurn(fn)); }
  }));
}

/** The relay answered for `task`: this tab's turn at the chain ends. @param {string} task */
export function endTurn(task) {
  const done = turns.get(task);
  turns.delete(task);
  if (done) done();
}

// A finished task frees its submitter's turn.
onSocket('taskEnded', endTurn);
