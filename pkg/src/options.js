// @ts-check
// Validation of what a website passes to EdgeNet.init and EdgeNet.submit. Every wrong type or
// range is an EdgeNetError naming the field: EN-501 for init, EN-502 for submit. Nothing is
// silently defaulted except fields that are absent.

import { EdgeNetError } from './errors.js';
import { KINDS } from './kinds.generated.js';

// What a page can contribute: the registry's kinds that run on the kernels or the embedding model
// (shard kinds run on native holders only).
export const TASK_KINDS = KINDS.filter((k) => k.needs !== 'shard').map((k) => k.name);
// What a page may submit besides: a shared collection's creation and inserts (and vector_search
// with a `collection`), run by native holders only.
const SUBMIT_KINDS = [...TASK_KINDS, 'collection_create', 'vector_insert'];

// What a page contributes unless it lists tasks: the kinds that need no model.
const LIGHT_KINDS = KINDS.filter((k) => k.needs === 'kernels').map((k) => k.name);

// The text tasks' limits (core's `task::text`): checked here so a page gets EN-502 before sending.
const MODELS = ['minilm'];
const MAX_TEXTS = 256;
const MAX_TEXT_BYTES = 8192;
const MAX_TOTAL_BYTES = 256 * 1024;
// Where vector searches may run: 'auto' times the GPU against WASM SIMD (GPU consent needed),
// 'gpu' uses the GPU whenever it agrees with the CPU, 'cpu' never loads the GPU module.
export const BACKENDS = ['auto', 'gpu', 'cpu'];
export const PRIORITIES = { low: 0, normal: 1, high: 2 };
const MIB = 1024 * 1024;

export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

export function checker(code) {
  const fail = (field, want, got) => {
    const shown = typeof got === 'string' ? JSON.stringify(got) : Array.isArray(got) ? 'an array' : String(got);
    throw new EdgeNetError(code, `${field} must be ${want}, got ${shown}`);
  };
  const onlyKeys = (field, obj, keys) => {
    if (!isObject(obj)) fail(field, 'an object', obj);
    for (const k of Object.keys(obj)) if (!keys.includes(k)) fail(`${field}.${k}`, `one of the known options (${keys.join(', ')})`, k);
  };
  const num = (field, v, dflt, min, max, { integer = false, minOpen = false } = {}) => {
    if (v === undefined) return dflt;
    const ok = typeof v === 'number' && Number.isFinite(v) && (minOpen ? v > min : v >= min) && v <= max && (!integer || Number.isInteger(v));
    if (!ok) fail(field, `${integer ? 'an integer' : 'a number'} in ${minOpen ? '(' : '['}${min}, ${max}]`, v);
    return v;
  };
  const bool = (field, v, dflt) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') fail(field, 'true or false', v);
    return v;
  };
  const fn = (field, v) => {
    if (v !== undefined && typeof v !== 'function') fail(field, 'a function', v);
    return v;
  };
  return { fail, onlyKeys, num, bool, fn };
}

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

// Rows as one row-major Float32Array: accepts number[][], a flat Float32Array/number[] with `dim`.
export function matrix(c, field, v, dim) {
  if (v instanceof Float32Array || (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number'))) {
    if (!dim) c.fail('payload.dim', 'given when vectors are flat arrays', dim);
    if (v.length % dim !== 0) c.fail(field, `a multiple of dim (${dim}) values long`, v.length);
    return { data: Float32Array.from(v), dim };
  }
  if (!Array.isArray(v)) c.fail(field, 'an array of vectors or a Float32Array', v);
  const d = dim || v[0].length;
  const data = new Float32Array(v.length * d);
  v.forEach((row, i) => {
    if (!Array.isArray(row) && !(row instanceof Float32Array)) c.fail(`${field}[${i}]`, 'an array of numbers', row);
    if (row.length !== d) c.fail(`${field}[${i}]`, `${d} numbers long like the others`, row.length);
    data.set(row, i * d);
  });
  return { data, dim: d };
}

function bytes(c, field, v, length) {
  let out;
  if (v instanceof Uint8Array) out = v;
  else if (typeof v === 'string') out = new TextEncoder().encode(v);
  else if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b < 256)) out = Uint8Array.from(v);
  else c.fail(field, 'a Uint8Array, an array of bytes or a string', v);
  if (length !== undefined && out.length !== length) c.fail(field, `${length} bytes`, `${out.length} bytes`);
  return out;
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
  if (task.type === 'vector_search') {
    c.onlyKeys('payload', p, ['query', 'queries', 'database', 'k', 'metric', 'dim']);
    if ((p.query === undefined) === (p.queries === undefined)) c.fail('payload', 'given exactly one of query or queries', 'both or neither');
    const dim = c.num('payload.dim', p.dim, 0, 1, 4096, { integer: true });
    const queries = p.query !== undefined ? matrix(c, 'payload.query', [p.query], dim) : matrix(c, 'payload.queries', p.queries, dim);
    const database = matrix(c, 'payload.database', p.database, queries.dim);
    const metric = p.metric === undefined ? 'dot' : p.metric;
    if (!['dot', 'cosine', 'l2'].includes(metric)) c.fail('payload.metric', '"dot", "cosine" or "l2"', metric);
    const k = c.num('payload.k', p.k, 10, 1, 1024, { integer: true });
    return { kind: task.type, options, onProgress, payload: { metric, dim: queries.dim, k, queries: queries.data, database: database.data } };
  }
  if (task.type === 'embedding') {
    c.onlyKeys('payload', p, ['texts', 'model']);
    const model = textModel(c, p.model);
    return { kind: task.type, options, onProgress, payload: { model, texts: texts(c, 'payload.texts', p.texts, MAX_TEXTS) } };
  }
  if (task.type === 'semantic_match') {
    c.onlyKeys('payload', p, ['query', 'candidates', 'model', 'topK']);
    const model = textModel(c, p.model);
    const [query] = texts(c, 'payload.query', [p.query], 1);
    const candidates = texts(c, 'payload.candidates', p.candidates, MAX_TEXTS - 1);
    const topK = c.num('payload.topK', p.topK, 0, 0, MAX_TEXTS, { integer: true });
    if (byteLength(query) + candidates.reduce((n, t) => n + byteLength(t), 0) > MAX_TOTAL_BYTES) {
      c.fail('payload', `at most ${MAX_TOTAL_BYTES} bytes of text in all`, 'more');
    }
    return { kind: task.type, options, onProgress, payload: { model, query, candidates, topK } };
  }
  if (task.type === 'compression') {
    c.onlyKeys('payload', p, ['vectors', 'mode', 'dim']);
    const dim = c.num('payload.dim', p.dim, 0, 1, 4096, { integer: true });
    const vectors = matrix(c, 'payload.vectors', p.vectors, dim);
    const mode = p.mode === undefined ? 'int8' : p.mode;
    if (!['int8', 'binary'].includes(mode)) c.fail('payload.mode', '"int8" or "binary"', mode);
    return { kind: task.type, options, onProgress, payload: { mode, dim: vectors.dim, vectors: vectors.data } };
  }
  c.onlyKeys('payload', p, ['key', 'nonce', 'aad', 'data']);
  return {
    kind: task.type,
    options,
    onProgress,
    payload: {
      key: bytes(c, 'payload.key', p.key, 32),
      nonce: bytes(c, 'payload.nonce', p.nonce, 12),
      aad: p.aad === undefined ? new Uint8Array(0) : bytes(c, 'payload.aad', p.aad),
      data: bytes(c, 'payload.data', p.data),
    },
  };
}

function textModel(c, model) {
  const m = model === undefined ? MODELS[0] : model;
  if (!MODELS.includes(m)) c.fail('payload.model', `one of ${MODELS.join(', ')}`, m);
  return m;
}

const utf8 = new TextEncoder();
function byteLength(s) {
  return utf8.encode(s).length;
}

// A non-empty array of at most `max` strings within the per-text and total byte limits.
function texts(c, name, value, max) {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) c.fail(name, `an array of 1 to ${max} strings`, value);
  let total = 0;
  value.forEach((t, i) => {
    if (typeof t !== 'string') c.fail(`${name}[${i}]`, 'a string', t);
    const n = byteLength(t);
    if (n > MAX_TEXT_BYTES) c.fail(`${name}[${i}]`, `at most ${MAX_TEXT_BYTES} bytes of UTF-8`, `${n} bytes`);
    total += n;
  });
  if (total > MAX_TOTAL_BYTES) c.fail(name, `at most ${MAX_TOTAL_BYTES} bytes of text in all`, `${total} bytes`);
  return value.slice();
}

// The Worker that holds the embedding model needs 150 MiB of the memory limit.
function textMemory(c, tasks, limit) {
  const text = tasks.includes('embedding') || tasks.includes('semantic_match');
  if (text && limit < 160 * MIB) c.fail('contribution.memoryLimit', 'at least 167772160 (160 MiB) to run embedding or semantic_match', limit);
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
