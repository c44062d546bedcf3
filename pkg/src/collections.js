// @ts-check
// A page's shared vector collections, as a classic script the coordinator importScripts() on the
// first collection task (with its wasm module: specs, signed batches, shard searches, merged
// answers), so that no page that never uses a collection downloads either. The coordinator lends
// it a `host`: the identity, the connection's shard submissions and collection messages, and the
// relay's HTTP API (docs/collections.md has the rules this follows, as the native client does).
import { EdgeNetError, toEdgeNetError } from './errors.js';
import { collectionTask } from './options.js';
import init, { createCollection, encodeShardSearch, mergeAnswers, planInsert, readCreated, readInsertAnswer } from '../wasm/edgenet_collections.js';

// The brief's prices in micro-credits (core `collection`): per vector inserted and per query, for
// each replica that runs it.
const INSERT_PRICE = 5_000;
const SEARCH_PRICE = 1_000;
// Relay answers worth a retry (a holder left, a shard re-replicating or with no replica yet, no
// worker in time, …): the native client's list, tried as often, as far apart; and the page's
// connection dropping (EN-218), since the coordinator reconnects and a retry waits for it (a
// shard task is not carried to the next connection; a batch sent twice is applied once).
const PASSING = ['EN-233', 'EN-229', 'EN-232', 'EN-212', 'EN-217', 'EN-211', 'EN-218'];
const RETRIES = 8;
const RETRY_WAIT_MS = 300;
// Collections whose shape was read from the relay (dimension, shards, replicas), by id.
const MAX_KNOWN = 64;

/**
 * @typedef {{ type: string, task: string, kind: string, result: Uint8Array, agreeing: string[], outvoted: string[] }} Done
 * @typedef {{ id: string, dim: number, metric: string, shards: number, replicas: number }} Shape
 * What the coordinator lends (pkg/src/coordinator/collections.js):
 * @typedef {object} Lent
 * @property {Uint8Array} secret this page's identity
 * @property {() => any} conn the relay connection now (proto's endpoint)
 * @property {(start: () => string, options: any, started: (id: string) => void, failed: (e: unknown) => void) => void} enqueue
 * @property {(id: string) => void} endTurn a paid write's turn at the identity's chain is over
 * @property {Map<string, { resolve: (done: any) => void, reject: (e: Error) => void }>} shardTasks settled by the connection's events
 * @property {Set<(bytes: Uint8Array) => void>} listeners collection messages from the relay
 * @property {(path: string) => string} apiUrl the relay's HTTP API
 * @property {{ submitted: number }} counts
 */

/** What the collections need of the coordinator, over what it lends. @param {Lent} lent @param {any} options */
function hostOf(lent, options) {
  return {
    secret: lent.secret,
    /** One shard task: resolves with its `done` event, rejects with its failure. */
    submitShard: (kind, collection, shard, vectors, payload, opts) => new Promise((resolve, reject) => {
      lent.enqueue(() => lent.conn().submit(kind, payload, { ...opts, collection, shard, vectors }, performance.now()), opts,
        (id) => { lent.counts.submitted += 1; lent.shardTasks.set(id, { resolve, reject }); }, (e) => reject(asError(e)));
    }),
    /**
     * Sends a creation; resolves with the first collection message `accept` takes. With a
     * `deposit`, the connection escrows it first and sends the creation once the relay holds it;
     * a deposit refused for want of credits fails the creation, one refused otherwise (already
     * open: a creation tried again) leaves the relay to judge it.
     * @param {Uint8Array} message @param {(bytes: Uint8Array) => any} accept
     * @param {{ task: string, amount: number } | null} deposit
     */
    create: (message, accept, deposit) => new Promise((resolve, reject) => {
      const stop = (/** @type {any} */ e, /** @type {any} */ answer) => {
        clearTimeout(timer);
        lent.listeners.delete(listen);
        if (deposit) {
          lent.shardTasks.delete(deposit.task);
          lent.endTurn(deposit.task);
        }
        if (e) reject(asError(e)); else resolve(answer);
      };
      const timer = setTimeout(() => stop(fail('EN-505', `no answer to the creation within ${options.timeout} ms`)), options.timeout);
      const listen = (/** @type {Uint8Array} */ bytes) => {
        const answer = accept(bytes);
        if (answer) stop(null, answer);
      };
      const refused = (/** @type {Error & { code?: string }} */ e) => {
        if (e.code === 'EN-180' || e.code === 'EN-220') stop(e, null);
        else lent.conn().sendCollection(message, undefined, 0);
      };
      lent.listeners.add(listen);
      const amount = deposit ? deposit.amount : 0;
      lent.enqueue(() => { lent.conn().sendCollection(message, deposit?.task, amount); return deposit ? deposit.task : ''; },
        { ...options, maxMicroCredits: amount },
        (id) => { if (deposit) lent.shardTasks.set(id, { resolve: () => {}, reject: refused }); },
        (e) => stop(e, null));
    }),
    /** GET on the relay's HTTP API: its JSON, or null for a 404. @param {string} path */
    api: async (path) => {
      const r = await fetch(lent.apiUrl(path));
      if (r.status === 404) return null;
      if (!r.ok) throw fail('EN-511', `the relay answered HTTP ${r.status} for ${path}`);
      return r.json();
    },
  };
}

/** @typedef {ReturnType<typeof hostOf>} Host */

/** @type {Map<string, Shape>} */
const known = new Map();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fail = (code, message) => new EdgeNetError(code, message);
const asError = (e) => toEdgeNetError(e);

/** A collection's shape, from the relay (EN-230 when it knows none by that id). @param {Host} host @param {string} id */
async function shape(host, id) {
  const seen = known.get(id);
  if (seen) return seen;
  const view = await host.api(`/api/collections/${id}`);
  if (!view) throw fail('EN-230', `the relay knows no collection ${id}`);
  const s = { id, dim: view.dim, metric: view.metric, shards: view.shards.length, replicas: view.replicas };
  if (known.size >= MAX_KNOWN) known.delete(known.keys().next().value);
  known.set(id, s);
  return s;
}

/**
 * One shard task, submitted again while the relay's answer is a passing one.
 * @param {Host} host
 * @param {[string, string, number, number, Uint8Array, any]} args submitShard's
 * @param {{ retries: number }} report
 * @returns {Promise<Done>}
 */
async function onShard(host, args, report) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await host.submitShard(...args);
    } catch (e) {
      if (!PASSING.includes(e.code) || attempt >= RETRIES) throw e;
      report.retries += 1;
      await sleep(RETRY_WAIT_MS);
    }
  }
}

/** What a shard's verified answer says of its replicas. @param {Done} done */
const replicas = (done) => ({ agreeing: done.agreeing, outvoted: done.outvoted });

/** Credits a shard task paid: the relay pays each agreeing holder its share of the escrow (the
 * shard's replicas share it) and refunds the rest. @param {any} opts @param {Done} done @param {number} shares */
const paid = (opts, done, shares) => (Math.floor(opts.maxMicroCredits / shares) * done.agreeing.length) / 1e6;

/** The escrow each shard task carries: none when the page pays nothing, else the brief's price. */
function priced(options, price, total) {
  if (options.maxMicroCredits === 0) return { ...options, maxMicroCredits: 0 };
  if (total > options.maxMicroCredits) {
    throw fail('EN-502', `this costs ${total / 1e6} credits at the published prices, above options.maxCredits (${options.maxMicroCredits / 1e6})`);
  }
  return { ...options, maxMicroCredits: price };
}

/** A creation; a page that pays escrows its deposit (a relay that prices collections asks for
 * it: EN-238). @param {Host} host @param {any} p @param {any} options */
async function create(host, p, options) {
  const made = createCollection(host.secret, p.name, p.dim, p.metric, p.shards, p.replicas);
  const paid = priced(options, made.depositMicroCredits, made.depositMicroCredits).maxMicroCredits;
  const answer = await host.create(made.message, (bytes) => {
    const a = readCreated(bytes);
    return a && a.collection === made.collection ? a : null;
  }, paid ? { task: made.deposit, amount: paid } : null);
  if (answer.code) throw fail(answer.code, answer.message);
  known.delete(made.collection);
  return { type: 'collection_create', collection: made.collection, verified: false, cost: paid / 1e6, spec: { ...p } };
}

/** Every shard's batches in order, one batch in flight per shard. @param {Host} host @param {any} p @param {any} options */
async function insert(host, p, options) {
  const s = await shape(host, p.collection);
  // Each batch is signed to follow the one before it in its shard, the first from the shard's
  // state now: read fresh (the shape above may be cached), as its holders agree on it.
  const view = await host.api(`/api/collections/${s.id}`);
  if (!view) throw fail('EN-230', `the relay knows no collection ${s.id}`);
  const counts = view.shards.flatMap((/** @type {any} */ v) => [v.vectors, v.batches]);
  const digests = view.shards.map((/** @type {any} */ v) => v.digest).join('');
  const batches = planInsert(host.secret, s.id, s.shards, s.dim, p.ids, p.vectors, counts, digests);
  const total = p.ids.length * INSERT_PRICE * s.replicas;
  const report = { type: 'vector_insert', collection: s.id, verified: true, cost: 0, inserted: 0, batches: batches.length, retries: 0, shards: /** @type {Record<number, any>} */ ({}) };
  /** @type {Map<number, any[]>} */
  const queues = new Map();
  for (const b of batches) {
    if (!queues.has(b.shard)) queues.set(b.shard, []);
    queues.get(b.shard)?.push(b);
  }
  await Promise.all([...queues.values()].map(async (queue) => {
    for (const b of queue) {
      const opts = priced(options, b.vectors * INSERT_PRICE * s.replicas, total);
      const done = await onShard(host, ['vector_insert', s.id, b.shard, b.vectors, b.payload, opts], report);
      const state = readInsertAnswer(done.result);
      report.inserted += b.vectors;
      report.cost += paid(opts, done, s.replicas);
      report.shards[b.shard] = { ...state, ...replicas(done) };
    }
  }));
  return report;
}

/** Every shard searched at once, answers merged. @param {Host} host @param {any} p @param {any} options */
async function search(host, p, options) {
  const s = await shape(host, p.collection);
  if (p.queries.length === 0 || p.queries.length % s.dim !== 0) {
    throw fail('EN-404', `${p.queries.length} query values are not whole vectors of dimension ${s.dim}`);
  }
  const nq = p.queries.length / s.dim;
  const price = nq * SEARCH_PRICE * s.replicas;
  const opts = priced(options, price, price * s.shards);
  const report = { type: 'vector_search', collection: s.id, verified: true, cost: 0, retries: 0, hits: /** @type {any[]} */ ([]), shards: /** @type {Record<number, any>} */ ({}) };
  const answers = await Promise.all(Array.from({ length: s.shards }, async (_, shard) => {
    const payload = encodeShardSearch(s.id, shard, p.k, p.ef, p.queries);
    // The relay prices a search by the query vectors it declares.
    const done = await onShard(host, ['shard_search', s.id, shard, nq, payload, opts], report);
    report.shards[shard] = replicas(done);
    report.cost += paid(opts, done, s.replicas);
    return done.result;
  }));
  report.hits = mergeAnswers(answers, p.k);
  return report;
}

/** @type {Record<string, (host: Host, payload: any, options: any) => Promise<any>>} */
const run = { collection_create: create, vector_insert: insert, vector_search: search };

self.EdgeNetCollections = {
  init,
  /** @param {string} kind @param {any} payload @param {any} options @param {Lent} lent */
  run: (kind, payload, options, lent) => run[kind](hostOf(lent, options), collectionTask(kind, payload), options),
};
