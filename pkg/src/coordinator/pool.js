// @ts-check
// The compute Workers: how many, what each is running, the share of time each may use (the
// idle policy applied to the page's signals), and the jobs waiting for a free one.

import { spawnWorker } from '../spawn.js';
import { TEXT_KINDS, runsText, runsWasm } from '../models.js';
import { co, counts, pool, postStats, queue, report } from './state.js';
import { onSocket, pump } from './socket.js';

/** @typedef {import('../messages.js').CoordinatorToCompute} CoordinatorToCompute */
/** @typedef {import('../messages.js').ComputeToCoordinator} ComputeToCoordinator */
/** @typedef {import('./state.js').Slot} Slot */

const SLICE_MS = 10;
const WORKER_MEMORY = 32 * 1024 * 1024; // what one compute Worker may grow to (payloads ≤ 1 MiB, copies)
// What the Worker holding the embedding model grows to (measured in Chromium: tests/browser/text-contribute.test.mjs).
export const MODEL_WORKER_MEMORY = 150 * 1024 * 1024;


/**
 * @param {Slot} slot
 * @param {CoordinatorToCompute} msg
 * @param {Transferable[]} [transfer]
 */
const tell = (slot, msg, transfer) => slot.worker.postMessage(msg, transfer || []);

/** Starts the compute Workers the contribution settings allow. @param {WebAssembly.Module} module */
export function startPool(module) {
  const { contribute, cfg } = co;
  if (!contribute || !cfg) return;
  const text = runsText(contribute);
  // The model's Worker takes its share of the memory first; the others divide the rest.
  const rest = contribute.memoryLimit - (text ? MODEL_WORKER_MEMORY : 0);
  const n = Math.max(1, Math.min(contribute.workers, (text ? 1 : 0) + Math.floor(Math.max(0, rest) / WORKER_MEMORY)));
  // Every Worker runs custom_wasm tasks when the site lists the kind: each in a sandbox Worker
  // of its own, with the sandbox module (beside the compute module's files) loaded on the first.
  const beside = (/** @type {string} */ file, /** @type {string} */ url) => new URL(file, url).href;
  const sandbox = runsWasm(contribute) ? {
    script: beside('edgenet-sandbox.js', cfg.computeUrl),
    wasm: beside('edgenet_sandbox_bg.wasm', cfg.computeWasmUrl),
    worker: beside('edgenet-sandbox-worker.js', cfg.computeUrl),
  } : null;
  for (let i = 0; i < n; i += 1) {
    const worker = spawnWorker(cfg.computeUrl);
    /** @type {Slot} */
    const slot = { worker, task: null, busyMs: 0 };
    worker.onmessage = ({ data: m }) => onCompute(slot, m);
    worker.onerror = (e) => { report({ message: `EN-509: a compute Worker failed: ${e.message}` }); };
    // One Worker drives the GPU: a second device on the same GPU would only contend with it.
    const gpu = i === 0 && contribute.gpu
      ? { script: cfg.gpuUrl, wasm: cfg.gpuWasmUrl, mode: contribute.gpu }
      : null;
    // One Worker holds the embedding model (loaded on the first text task): it is 110 MB.
    // With GPU consent and backend 'gpu' forced, its WebGPU build instead (no timing-based
    // choice for text tasks yet: on a machine without a real GPU the CPU path is faster).
    const gpuText = contribute.gpu === 'gpu' ? { script: cfg.embedGpuUrl, wasm: cfg.embedGpuWasmUrl } : null;
    const model = i === 0 && text ? { script: cfg.embedUrl, wasm: cfg.embedWasmUrl, gpu: gpuText } : null;
    tell(slot, { type: 'init', module, limit: co.share.fraction, sliceMs: SLICE_MS, gpu, model, sandbox });
    pool.push(slot);
  }
}

/** Hands queued jobs to free Workers: text tasks only to the first, which holds the model. */
export function dispatch() {
  pool.forEach((slot, i) => {
    if (slot.task) return;
    const at = queue.findIndex((j) => i === 0 || !TEXT_KINDS.includes(j.kind));
    if (at < 0) return;
    const [job] = queue.splice(at, 1);
    slot.task = job.task;
    tell(slot, { type: 'run', ...job }, [job.payload.buffer]);
  });
}

/** Every Worker drops its jobs: the connection that assigned them is gone. */
export function abortAll() {
  queue.length = 0;
  for (const slot of pool) {
    tell(slot, { type: 'abort', running: slot.task });
    slot.task = null;
  }
}

/** Ends every Worker. */
export function stopPool() {
  for (const slot of pool) slot.worker.terminate();
  pool.length = 0;
}

/**
 * @param {Slot} slot
 * @param {ComputeToCoordinator} m
 */
function onCompute(slot, m) {
  const { conn } = co;
  if (m.type === 'busy') { slot.busyMs = m.busyMs; return; }
  if (m.type === 'backend') { co.backend = m.choice; postStats(); return; }
  if (m.type === 'model') { co.model = { loadMs: m.ms, fromCache: m.fromCache, backend: m.backend, adapter: m.adapter }; postStats(); return; }
  if (m.type === 'done') {
    slot.busyMs = m.busyMs;
    slot.task = null;
    try {
      if (!conn) throw new Error('no connection');
      conn.finish(m.task, m.result);
      counts.tasksCompleted += 1;
      if (m.backend === 'gpu') counts.tasksOnGpu += 1;
    } catch {
      // The connection that assigned it is gone (EN-208): the relay has reassigned it.
    }
    pump();
  } else if (m.type === 'failed') {
    slot.task = null;
    counts.tasksFailed += 1;
    try { if (conn) conn.abandon(m.task); } catch { /* connection gone */ }
    report({ message: `${m.error.code}: task ${m.task} did not run: ${m.error.message}` }, 'task');
  }
  dispatch();
  postStats();
}

/** The share each Worker may use now, from the policy and the page's latest signals. */
export function applyShare() {
  const { policy, signals, paused } = co;
  const next = policy && signals
    ? policy.share(signals, paused)
    : { fraction: 0, reason: paused ? 'paused' : 'starting' };
  const changed = next.fraction !== co.share.fraction || next.reason !== co.share.reason;
  co.share = { fraction: next.fraction, reason: next.reason };
  if (co.conn) co.conn.setContributing(Boolean(co.contribute) && co.share.fraction > 0);
  if (changed) {
    for (const slot of pool) tell(slot, { type: 'limit', fraction: co.share.fraction });
    postStats();
  }
}

// The socket queues jobs, and a new connection takes the current share, a lost one ends the jobs.
onSocket('jobsQueued', dispatch);
onSocket('connected', applyShare);
onSocket('disconnected', abortAll);
