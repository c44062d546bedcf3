// @ts-check
// Validation of what a website passes to EdgeNet.init and EdgeNet.submit. Every wrong type or
// range is an EdgeNetError naming the field: EN-501 for init, EN-502 for submit. Nothing is
// silently defaulted except fields that are absent.

import { checker, isObject, matrix } from './check.js';
import { KINDS } from './kinds.generated.js';
import { CHECKS } from './kinds/index.generated.js';

// What a page can contribute: the registry's kinds that run on the kernels or the embedding model
// (shard kinds run on native holders only).
export const TASK_KINDS = KINDS.filter((k) => k.needs !== 'shard').map((k) => k.name);
// What a page may submit besides: a shared collection's creation and inserts (and vector_search
// with a `collection`), run by native holders only.
const SUBMIT_KINDS = [...TASK_KINDS, 'collection_create', 'vector_insert'];

// What a page contributes unless it lists tasks: the kinds that need no model.
const LIGHT_KINDS = KINDS.filter((k) => k.needs === 'kernels').map((k) => k.name);

// The kinds that need the embedding model (and the memory its Worker holds).
const TEXT_KINDS = KINDS.filter((k) => k.needs === 'model').map((k) => k.name);
// Where vector searches may run: 'auto' times the GPU against WASM SIMD (GPU consent needed),
// 'gpu' uses the GPU whenever it agrees with the CPU, 'cpu' never loads the GPU module.
export const BACKENDS = ['auto', 'gpu', 'cpu'];
export const PRIORITIES = { low: 0, normal: 1, high: 2 };
const MIB = 1024 * 1024;

// The relay's WebSocket URL next to the script that loaded us.
export function defaultRelay(base) {
  const u = new URL('/ws', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

export function validateInit(opts, base) {
  const c = checker('EN-501');
  c.onlyKeys('options', opts, ['siteId', 'contribution', 'idle', 'relays', 'assetsUrl', 'onCredit', 'onTask', 'onError', 'onState']);
  if (typeof opts.siteId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(opts.siteId)) {
    c.fail('siteId', '1 to 64 characters of A-Z, a-z, 0-9, ".", "_" or "-"', opts.siteId);
  }
  // The brief's one-liner passes the CPU limit alone: `contribution: 0.3`.
  let contribution = opts.contribution === undefined ? {} : opts.contribution;
  if (typeof contribution === 'number') contribution = { cpuLimit: contribution };
  c.onlyKeys('contribution', contribution, ['cpuLimit', 'memoryLimit', 'tasks', 'backend']);
  const backend = contribution.backend === undefined ? 'auto' : contribution.backend;
  if (!BACKENDS.includes(backend)) c.fail('contribution.backend', `one of ${BACKENDS.join(', ')}`, backend);
  const idle = opts.idle === undefined ? {} : opts.idle;
  c.onlyKeys('idle', idle, ['focusRequired', 'minIdleTime', 'respectBattery']);
  // The text tasks are opt-in: they download the embedding model (45 MB, once, then cached).
  let tasks = contribution.tasks === undefined ? LIGHT_KINDS.slice() : contribution.tasks;
  if (!Array.isArray(tasks) || tasks.length === 0) c.fail('contribution.tasks', `a non-empty array of ${TASK_KINDS.join(', ')}`, tasks);
  for (const t of tasks) if (!TASK_KINDS.includes(t)) c.fail('contribution.tasks[]', `one of ${TASK_KINDS.join(', ')}`, t);
  let relays = opts.relays === undefined ? [defaultRelay(base)] : opts.relays;
  if (!Array.isArray(relays) || relays.length === 0) c.fail('relays', 'a non-empty array of ws:// or wss:// URLs', relays);
  relays = relays.map((r) => {
    let u;
    try { u = new URL(r); } catch { c.fail('relays[]', 'a ws:// or wss:// URL', r); }
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') c.fail('relays[]', 'a ws:// or wss:// URL', r);
    return u.href;
  });
  // Where the package's files are (the folder with edgenet-coordinator.js), for sites that host
  // them; by default next to the script that loaded EdgeNet.
  let assets = null;
  if (opts.assetsUrl !== undefined) {
    try { assets = new URL(opts.assetsUrl, typeof location !== 'undefined' ? location.href : base).href; } catch { c.fail('assetsUrl', 'a URL', opts.assetsUrl); }
    if (!assets.endsWith('/')) assets += '/';
  }
  return {
    siteId: opts.siteId,
    assets,
    cpuLimit: c.num('contribution.cpuLimit', contribution.cpuLimit, 0.3, 0, 1, { minOpen: true }),
    memoryLimit: textMemory(c, tasks, c.num('contribution.memoryLimit', contribution.memoryLimit, 256 * MIB, 16 * MIB, 4096 * MIB, { integer: true })),
    tasks: [...new Set(tasks)],
    backend,
    focusRequired: c.bool('idle.focusRequired', idle.focusRequired, false),
    minIdleTime: c.num('idle.minIdleTime', idle.minIdleTime, 5000, 0, 3_600_000),
    respectBattery: c.bool('idle.respectBattery', idle.respectBattery, true),
    relays,
    onCredit: c.fn('onCredit', opts.onCredit),
    onTask: c.fn('onTask', opts.onTask),
    onError: c.fn('onError', opts.onError),
    onState: c.fn('onState', opts.onState),
  };
}

// A submitted task, checked, in the form the coordinator encodes: {kind, payload, options}.
export function validateTask(task) {
  const c = checker('EN-502');
  c.onlyKeys('task', task, ['type', 'payload', 'options']);
  if (!SUBMIT_KINDS.includes(task.type)) c.fail('type', `one of ${SUBMIT_KINDS.join(', ')}`, task.type);
  const o = task.options === undefined ? {} : task.options;
  c.onlyKeys('options', o, ['priority', 'redundancy', 'maxCredits', 'timeout', 'onProgress']);
  // Called as the task moves on: ({ assigned, results, needed }). Stays in the page.
  const onProgress = c.fn('options.onProgress', o.onProgress);
  if (o.priority !== undefined && !(o.priority in PRIORITIES)) c.fail('options.priority', '"low", "normal" or "high"', o.priority);
  const options = {
    priority: PRIORITIES[o.priority || 'normal'],
    redundancy: c.num('options.redundancy', o.redundancy, 3, 1, 7, { integer: true }),
    // Credits to micro-credits (the ledger's unit); 0 is an unpaid task (see index.d.ts).
    maxMicroCredits: Math.round(c.num('options.maxCredits', o.maxCredits, 0, 0, 9_000_000) * 1_000_000),
    timeout: c.num('options.timeout', o.timeout, 30_000, 1, 600_000, { integer: true }),
  };
  const p = task.payload;
  // A collection's tasks go as they are: the collections module checks them (`collectionTask`),
  // so that their rules are not in every page's script.
  if (task.type === 'collection_create' || task.type === 'vector_insert' || (task.type === 'vector_search' && isObject(p) && p.collection !== undefined)) {
    if (!isObject(p)) c.fail('payload', 'an object', p);
    return { kind: task.type, options, onProgress, payload: p };
  }
  // Every other kind's payload is checked by its module (kinds/).
  return { kind: task.type, options, onProgress, payload: CHECKS[task.type](c, p) };
}

// The Worker that holds the embedding model needs 150 MiB of the memory limit.
function textMemory(c, tasks, limit) {
  const text = tasks.some((t) => TEXT_KINDS.includes(t));
  if (text && limit < 160 * MIB) c.fail('contribution.memoryLimit', `at least 167772160 (160 MiB) to run ${TEXT_KINDS.join(' or ')}`, limit);
  return limit;
}

// A collection's task, checked (EN-502) in the collections module, which loads only for them:
// the shapes here, the rest (the collection's dimension, finite values, an id twice) where the
// collection is known. The form the collections module runs.
export function collectionTask(type, p) {
  const c = checker('EN-502');
  const id = (v) => (typeof v === 'string' && /^[0-9a-f]{32}$/.test(v) ? v : c.fail('payload.collection', 'a collection id (32 lowercase hex characters)', v));
  if (type === 'collection_create') {
    c.onlyKeys('payload', p, ['name', 'dim', 'metric', 'shards', 'replicas']);
    if (typeof p.name !== 'string' || p.name === '') c.fail('payload.name', 'a non-empty string', p.name);
    const metric = p.metric === undefined ? 'cosine' : p.metric;
    if (!['dot', 'cosine', 'l2'].includes(metric)) c.fail('payload.metric', '"dot", "cosine" or "l2"', metric);
    return {
      name: p.name,
      dim: c.num('payload.dim', p.dim, undefined, 1, 4096, { integer: true }) ?? c.fail('payload.dim', 'given', p.dim),
      metric,
      shards: c.num('payload.shards', p.shards, 1, 1, 64, { integer: true }),
      replicas: c.num('payload.replicas', p.replicas, 3, 1, 7, { integer: true }),
    };
  }
  if (type === 'vector_insert') {
    c.onlyKeys('payload', p, ['collection', 'ids', 'vectors', 'dim']);
    const collection = id(p.collection);
    if (!Array.isArray(p.ids) || p.ids.length === 0) c.fail('payload.ids', 'a non-empty array of ids', p.ids);
    p.ids.forEach((v, i) => { if (!Number.isSafeInteger(v) || v < 0) c.fail(`payload.ids[${i}]`, 'an integer in [0, 2^53)', v); });
    const vectors = matrix(c, 'payload.vectors', p.vectors, p.dim);
    if (vectors.data.length !== p.ids.length * vectors.dim) c.fail('payload.vectors', `one vector per id (${p.ids.length})`, `${vectors.data.length / vectors.dim} vectors`);
    return { collection, ids: Float64Array.from(p.ids), vectors: vectors.data };
  }
  c.onlyKeys('payload', p, ['collection', 'query', 'queries', 'k', 'ef']);
  const collection = id(p.collection);
  if ((p.query === undefined) === (p.queries === undefined)) c.fail('payload', 'given exactly one of query or queries', 'both or neither');
  const queries = p.query !== undefined ? matrix(c, 'payload.query', [p.query]) : matrix(c, 'payload.queries', p.queries);
  return {
    collection,
    queries: queries.data,
    k: c.num('payload.k', p.k, 10, 1, 1024, { integer: true }),
    ef: c.num('payload.ef', p.ef, 0, 0, 4096, { integer: true }),
  };
}
