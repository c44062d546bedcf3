// @ts-check
// A compute Worker: runs assigned tasks in short slices on the wasm kernels and sleeps between
// slices so its busy time stays at or under the share the coordinator sets (core's DutyCycle does
// the arithmetic). A share of 0 (paused, hidden tab, low battery) stops it after the current slice.
//
// One Worker of the pool may also get the GPU (after GPU consent): it loads the WebGPU module,
// which times the GPU against WASM SIMD and then takes the vector searches of the sizes it won. A
// GPU run is one awaited call; its wall time counts as busy time like a slice, so the duty cycle
// holds for the GPU too.

import initWasm, { TaskRun, Throttle } from '../wasm/edgenet_compute.js';
import { errorData } from './errors.js';
import { MINILM, TEXT_KINDS } from './models.js';
import { useSandbox, wasmRun } from './compute-wasm.js';

let throttle = null;
let gpu = null; // the WebGPU module's kernels, once open
let modelModule = null; // where the embedding module is ({ script, wasm }): this Worker runs text tasks
let model = null; // the embedding model, once loaded (on the first text task)
let gpuModel = null; // the same on WebGPU, when the page forces backend 'gpu' and it opened
let textModule = null; // the loaded glue: self.EdgeNetEmbed or self.EdgeNetEmbedGpu
let share = 0; // the share of a core this Worker may use now
let busyMs = 0;
const jobs = [];
let running = false;
let wake = null;
let aborted = new Set();
let markReady;
const ready = new Promise((r) => { markReady = r; });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// After every slice (about 30 a second at most): the coordinator's busy time is then never more
// than one slice behind, which is what makes stats() exact enough to check a duty cycle.
const reportBusy = () => postMessage({ type: 'busy', busyMs });

// Waits while the share is 0 (paused, hidden, on a low battery).
async function waitTurn() {
  while (!throttle.mayRun()) {
    reportBusy();
    await new Promise((r) => { wake = r; });
  }
}

// Loads the WebGPU module and chooses backends; reports the choice (adapter null: no GPU).
async function openGpu(g) {
  let choice = { adapter: null, single: 'wasm-simd128', batch: 'wasm-simd128' };
  try {
    importScripts(g.script);
    await self.EdgeNetGpu.init({ module_or_path: g.wasm });
    gpu = (await self.EdgeNetGpu.openGpu(g.mode)) || null;
    if (gpu) choice = gpu.choice;
    else choice.reason = 'no WebGPU adapter, or it disagreed with the CPU';
  } catch (e) {
    choice.reason = `the WebGPU module did not load: ${e && e.message}`;
  }
  postMessage({ type: 'backend', choice });
}

// Runs a job on the GPU if its kind and size are the GPU's; false if the CPU path should.
async function runOnGpu(job) {
  await waitTurn();
  if (aborted.has(job.task)) return true;
  const start = performance.now();
  const result = await gpu.runTask(job.kind, job.payload);
  if (!result) return false;
  const end = performance.now();
  busyMs += end - start;
  const pause = throttle.afterSlice(start, end, 0);
  postMessage({ type: 'done', task: job.task, result, busyMs, backend: 'gpu' }, { transfer: [result.buffer] });
  reportBusy();
  if (pause > 0) await sleep(pause);
  return true;
}

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

// The page origin's key for a file with this hash (a Worker started from a blob: URL has the
// page's origin); the relay's URL where there is no usable origin.
function cacheKey(url, sha256) {
  try {
    return new URL(`/edgenet-models/${sha256}`, self.location.origin).href;
  } catch {
    return url;
  }
}

// One model file: from the Cache API when it holds it, else from the relay; either way checked
// against the SHA-256 the package pins (models.js) before a byte of it is used, and kept. The
// cache is keyed by that hash, not by the relay's URL: a page that rotates between relays keeps
// one copy (four files, 45 MB), not one per relay.
async function modelFile(base, { file, sha256 }) {
  const url = new URL(file, base).href;
  const key = cacheKey(url, sha256);
  const cache = typeof caches !== 'undefined' ? await caches.open('edgenet-models-v1').catch(() => null) : null;
  let res = cache ? await cache.match(key) : undefined;
  const fromCache = Boolean(res);
  if (!res) res = await fetch(url);
  if (!res.ok) throw new Error(`EN-510: ${url} answered HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const got = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (got !== sha256) {
    if (fromCache) await cache.delete(key);
    throw new Error(`EN-510: ${file} from ${base} has SHA-256 ${got}, not the published ${sha256}`);
  }
  if (!fromCache && cache) await cache.put(key, new Response(bytes)).catch(() => {});
  return { bytes, fromCache };
}

// Loads the embedding module and the model (once): on WebGPU when asked and possible, else on
// WebAssembly SIMD; reports how long it took and where it runs.
async function loadModel(base) {
  if (model || gpuModel) return;
  const start = performance.now();
  const f = MINILM.files;
  const files = [];
  for (const spec of [f.config, f.sentence, f.tokenizer, f.weights]) files.push(await modelFile(base, spec));
  const bytes = files.map((x) => x.bytes);
  const report = (backend, adapter) => postMessage({
    type: 'model', loaded: true, ms: Math.round(performance.now() - start),
    fromCache: files.every((x) => x.fromCache), backend, adapter,
  });
  if (modelModule.gpu) {
    importScripts(modelModule.gpu.script);
    await self.EdgeNetEmbedGpu.init({ module_or_path: modelModule.gpu.wasm });
    gpuModel = (await self.EdgeNetEmbedGpu.GpuModel.open(bytes[0], bytes[1], bytes[2], bytes[3])) || null;
    if (gpuModel) {
      textModule = self.EdgeNetEmbedGpu;
      report('gpu', gpuModel.adapter());
      return;
    }
  }
  importScripts(modelModule.script);
  await self.EdgeNetEmbed.init({ module_or_path: modelModule.wasm });
  // The bytes are copied into the module's memory and dropped there once the model is built.
  model = new self.EdgeNetEmbed.Model(bytes[0], bytes[1], bytes[2], bytes[3]);
  textModule = self.EdgeNetEmbed;
  report('wasm-simd128');
}

// One slice of a text task: the CPU model in place, or the GPU's answer awaited (its wall time
// counts as busy time, as for GPU searches).
async function textSlice(run, units) {
  if (!gpuModel) return run.step(model, units);
  const texts = run.nextTexts(units);
  const vectors = await gpuModel.embed(texts);
  return run.push(vectors, gpuModel.dim());
}

// custom_wasm, one input a slice (compute-wasm.js runs it in a sandbox Worker).
async function runWasm(job) {
  let run;
  try {
    run = await wasmRun(job.payload, () => share);
  } catch (e) {
    postMessage({ type: 'failed', task: job.task, error: errorData(e) });
    return;
  }
  await runSlices(job, run, () => run.step(), () => 'wasm');
}

async function runJob(job) {
  if (TEXT_KINDS.includes(job.kind)) return runText(job);
  if (job.kind === 'custom_wasm') return runWasm(job);
  if (gpu) {
    try {
      if (await runOnGpu(job)) return;
    } catch (e) {
      postMessage({ type: 'failed', task: job.task, error: errorData(e) });
      return;
    }
  }
  let run;
  try {
    run = new TaskRun(job.kind, job.payload);
  } catch (e) {
    postMessage({ type: 'failed', task: job.task, error: errorData(e) });
    return;
  }
  await runSlices(job, run, (units) => run.step(units), () => undefined);
}

// Runs `run` a slice at a time under the duty cycle: `step(units)` (sync, or a promise for the
// GPU, whose wall time counts as busy time) returns whether it finished; then its result goes
// back with the backend `backend()` names. Frees `run` at the end.
async function runSlices(job, run, step, backend) {
  try {
    for (;;) {
      await waitTurn();
      if (aborted.has(job.task)) return;
      const units = throttle.sliceUnits(run.unitsLeft());
      const start = performance.now();
      const finished = await step(units);
      const end = performance.now();
      busyMs += end - start;
      const pause = throttle.afterSlice(start, end, units);
      if (finished) {
        const result = run.result();
        postMessage({ type: 'done', task: job.task, result, busyMs, backend: backend() }, { transfer: [result.buffer] });
      }
      reportBusy();
      // Sleep even after the last slice: the next task must not start on this one's debt.
      if (pause > 0) await sleep(pause);
      if (finished) return;
    }
  } catch (e) {
    postMessage({ type: 'failed', task: job.task, error: errorData(e) });
  } finally {
    run.free();
  }
}

// A text task, a slice of texts at a time, on the embedding model.
async function runText(job) {
  let run;
  try {
    if (!modelModule) throw new Error('EN-142: this Worker runs no text tasks');
    await loadModel(job.modelBase || '');
    run = new textModule.TextRun(job.kind, job.payload);
  } catch (e) {
    postMessage({ type: 'failed', task: job.task, error: errorData(e) });
    return;
  }
  await runSlices(job, run, (units) => textSlice(run, units), () => (gpuModel ? 'gpu' : 'wasm-simd128'));
}

async function loop() {
  if (running) return;
  running = true;
  await ready;
  while (jobs.length) await runJob(jobs.shift());
  aborted = new Set();
  running = false;
}

self.onmessage = async ({ data: m }) => {
  switch (m.type) {
    case 'init':
      await initWasm({ module_or_path: m.module });
      throttle = new Throttle(m.limit, m.sliceMs);
      share = m.limit;
      useSandbox(m.sandbox || null);
      // The GPU Worker opens and times the GPU before its first task, so no task skews the
      // timing; the other Workers start at once.
      if (m.gpu) await openGpu(m.gpu);
      modelModule = m.model || null;
      markReady();
      break;
    case 'limit':
      await ready;
      throttle.setLimit(m.fraction);
      share = m.fraction;
      if (wake && throttle.mayRun()) { wake(); wake = null; }
      break;
    case 'run':
      jobs.push(m);
      loop();
      break;
    case 'abort':
      // The connection dropped: its jobs can no longer be returned.
      for (const j of jobs) aborted.add(j.task);
      jobs.length = 0;
      if (m.running) aborted.add(m.running);
      break;
    default:
      break;
  }
};
