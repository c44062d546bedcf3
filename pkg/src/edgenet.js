// @ts-check
// EdgeNet's browser API: init (contribute, with consent), submit/submitBatch (use the network) and
// createWidget. The main thread validates options, asks consent, watches idle signals and draws
// the widget; every computation runs in the coordinator and compute Workers.

import { EdgeNetError, toEdgeNetError, fromErrorData } from './errors.js';
import { validateInit, validateTask, defaultRelay, TASK_KINDS } from './options.js';
import { SHAPES } from './kinds/index.generated.js';
import { storedConsent, askConsent, forgetConsent, rememberConsent } from './consent.js';
import { watchSignals } from './signals.js';
import { defineWidget } from './widget.js';
import { spawnWorker } from './spawn.js';
import { openPort } from './tabs.js';

export { EdgeNetError, TASK_KINDS };
export const version = '0.1.0';

// Where the bundles live: next to the script tag's bundle, or next to this module.
const script = typeof document !== 'undefined' ? /** @type {HTMLScriptElement | null} */ (document.currentScript) : null;
const scriptSrc = script && script.src;
// (For the ESM build only the origin matters here, the default relay's; a folder URL written as
// `new URL('./', import.meta.url)` would look like an asset to bundlers.)
const DIST = scriptSrc ? new URL('./', scriptSrc).href : import.meta.url;

const mark = (name) => { if (typeof performance !== 'undefined' && performance.mark) performance.mark(name); };
mark('edgenet:script');

let coordinator = null; // { worker, relays, pending, nextReq, latest, nodeId, listeners }
let node = null; // the contributing node, once init succeeded
let lastInit = null; // the options init last ran with (the widget's "share again")
const widgets = new Set();

// The package's files. Relative to a base (the script tag's folder, or `assetsUrl`), or else
// written as `new URL('./file', import.meta.url)` one by one: the pattern bundlers (Vite,
// webpack) recognise, so that they copy the files and rewrite the URLs.
function assetUrls(base) {
  if (base) {
    const at = (name) => new URL(name, base).href;
    return {
      coordinator: at('edgenet-coordinator.js'),
      compute: at('edgenet-compute.js'),
      gpu: at('edgenet-gpu.js'),
      wasm: at('../wasm/edgenet_bg.wasm'),
      computeWasm: at('../wasm/edgenet_compute_bg.wasm'),
      gpuWasm: at('../wasm/edgenet_gpu_bg.wasm'),
      embed: at('edgenet-embed.js'),
      embedWasm: at('../wasm/edgenet_embed_bg.wasm'),
      embedGpu: at('edgenet-embed-gpu.js'),
      embedGpuWasm: at('../wasm/edgenet_embed_gpu_bg.wasm'),
      collections: at('edgenet-collections.js'),
      collectionsWasm: at('../wasm/edgenet_collections_bg.wasm'),
    };
  }
  return {
    coordinator: new URL('./edgenet-coordinator.js', import.meta.url).href,
    compute: new URL('./edgenet-compute.js', import.meta.url).href,
    gpu: new URL('./edgenet-gpu.js', import.meta.url).href,
    wasm: new URL('../wasm/edgenet_bg.wasm', import.meta.url).href,
    computeWasm: new URL('../wasm/edgenet_compute_bg.wasm', import.meta.url).href,
    gpuWasm: new URL('../wasm/edgenet_gpu_bg.wasm', import.meta.url).href,
    embed: new URL('./edgenet-embed.js', import.meta.url).href,
    embedWasm: new URL('../wasm/edgenet_embed_bg.wasm', import.meta.url).href,
    embedGpu: new URL('./edgenet-embed-gpu.js', import.meta.url).href,
    embedGpuWasm: new URL('../wasm/edgenet_embed_gpu_bg.wasm', import.meta.url).href,
    collections: new URL('./edgenet-collections.js', import.meta.url).href,
    collectionsWasm: new URL('../wasm/edgenet_collections_bg.wasm', import.meta.url).href,
  };
}

// `assets`: a folder given by the site (assetsUrl), or null for where this code came from.
function startCoordinator(relays, contribute, assets = null) {
  const urls = assetUrls(assets || (scriptSrc ? DIST : null));
  // One coordinator for all of this origin's tabs (tabs.js): this one's, or the leading tab's.
  const start = {
    type: 'start',
    relays,
    wasmUrl: urls.wasm,
    computeWasmUrl: urls.computeWasm,
    computeUrl: urls.compute,
    gpuUrl: urls.gpu,
    gpuWasmUrl: urls.gpuWasm,
    embedUrl: urls.embed,
    embedWasmUrl: urls.embedWasm,
    embedGpuUrl: urls.embedGpu,
    embedGpuWasmUrl: urls.embedGpuWasm,
    collectionsUrl: urls.collections,
    collectionsWasmUrl: urls.collectionsWasm,
    contribute,
  };
  /** @type {any} */
  const c = { relays, pending: new Map(), nextReq: 1, latest: null, nodeId: null, handlers: null, contribute, tab: Math.random().toString(36).slice(2, 10) };
  const worker = openPort(() => {
    const w = spawnWorker(urls.coordinator);
    w.postMessage({ ...start, contribute: c.contribute });
    return w;
  }, {
    // Another tab's coordinator took over: what this tab sent and got no answer to goes again.
    resend() {
      if (c.contribute) worker.postMessage({ type: 'contribute', settings: c.contribute });
      for (const p of c.pending.values()) worker.postMessage(p.msg);
    },
  });
  c.worker = worker;
  worker.onmessage = ({ data: m }) => {
    switch (m.type) {
      case 'stats':
        // Marks on the page's performance timeline (what docs/BENCHMARKS.md times).
        if (m.stats.state === 'connected' && !(c.latest && c.latest.state === 'connected')) mark('edgenet:connected');
        if (m.stats.tasksCompleted > 0 && !(c.latest && c.latest.tasksCompleted > 0)) mark('edgenet:first-task');
        c.latest = m.stats;
        for (const w of widgets) w.update(m.stats.contributing ? m.stats : null);
        break;
      case 'identity': c.nodeId = m.nodeId; break;
      case 'progress': {
        const p = c.pending.get(m.req);
        if (p && p.onProgress) p.onProgress({ assigned: m.assigned, results: m.results, needed: m.needed });
        break;
      }
      case 'result': {
        const p = c.pending.get(m.req);
        if (!p) break;
        c.pending.delete(m.req);
        if (m.error) p.reject(fromErrorData(m.error)); else p.resolve(shapeResult(m.value, p.msg.options));
        break;
      }
      default:
        if (c.handlers) c.handlers(m);
    }
  };
  worker.onerror = (e) => {
    const error = { code: 'EN-509', message: `the coordinator Worker failed: ${e.message}` };
    // Nobody is left to answer the open submissions.
    for (const p of c.pending.values()) p.reject(fromErrorData(error));
    c.pending.clear();
    if (c.handlers) c.handlers({ type: 'error', error });
  };
  return c;
}

// Results from the coordinator's flat arrays into the public shapes, with what the task cost: the
// relay pays each agreeing worker maxCredits / redundancy and refunds the rest (docs/ledger.md).
function shapeResult(raw, options) {
  // A collection's results come shaped, with their cost (the collections module).
  if (raw.collection) return raw;
  const share = Math.floor(options.maxMicroCredits / options.redundancy);
  const v = { ...raw, cost: (share * raw.agreeing.length) / 1_000_000 };
  // Each kind's own fields, by its module (kinds/).
  const shape = SHAPES[raw.type];
  return shape ? shape(v) : v;
}

function contributeSettings(cfg, consent) {
  const cores = navigator.hardwareConcurrency || 2;
  return {
    // One core stays with the page; each Worker runs at the CPU limit, so the total stays under
    // cpuLimit of the machine.
    workers: Math.max(1, cores - 1),
    cpuLimit: cfg.cpuLimit,
    memoryLimit: cfg.memoryLimit,
    tasks: cfg.tasks,
    focusRequired: cfg.focusRequired,
    minIdleTime: cfg.minIdleTime,
    respectBattery: cfg.respectBattery,
    // The GPU only with the visitor's consent, WebGPU in this browser and a backend that allows it:
    // 'auto' (timed against WASM SIMD) or 'gpu' (always, for sizes the CPU would win too).
    gpu: consent.gpu && cfg.backend !== 'cpu' && typeof navigator !== 'undefined' && 'gpu' in navigator
      ? cfg.backend : null,
  };
}

function checkPlatform() {
  const missing = ['Worker', 'WebAssembly', 'WebSocket'].filter((k) => typeof globalThis[k] === 'undefined');
  if (missing.length) throw new EdgeNetError('EN-503', `this browser lacks ${missing.join(', ')}`);
}

/**
 * Joins the network as a contributor, after the visitor's consent. Resolves with the node (its
 * state is 'denied' if the visitor said no: then no Worker and no socket exist).
 */
export async function init(options) {
  let cfg;
  try {
    cfg = validateInit(options, DIST);
    checkPlatform();
  } catch (e) {
    const err = toEdgeNetError(e, 'EN-501');
    if (options && typeof options.onError === 'function') options.onError(err);
    throw err;
  }
  if (node) return node;
  // One prompt at a time: a second init (or the widget's button) while the first waits gets its answer.
  if (!starting) starting = start(cfg, options).finally(() => { starting = null; });
  return starting;
}

let starting = null;

async function start(cfg, options) {
  lastInit = options;
  const consent = storedConsent() || (await askConsent(cfg.siteId));
  if (!consent.cpu) {
    for (const w of widgets) w.update(null);
    return deniedNode();
  }
  const settings = contributeSettings(cfg, consent);
  if (coordinator) {
    coordinator.contribute = settings;
    coordinator.worker.postMessage({ type: 'contribute', settings });
  }
  else coordinator = startCoordinator(cfg.relays, settings, cfg.assets);
  const c = coordinator;
  let state = 'connecting';
  c.handlers = (m) => {
    if (m.type === 'state') { state = m.state; if (cfg.onState) cfg.onState(state); }
    if (m.type === 'task' && cfg.onTask) cfg.onTask(m.task);
    if (m.type === 'credit' && cfg.onCredit) cfg.onCredit(m.credits, m.total);
    if (m.type === 'error' && cfg.onError) cfg.onError(fromErrorData(m.error));
  };
  const stopSignals = watchSignals((signals) => c.worker.postMessage({ type: 'signals', signals }));
  const started = performance.now();
  node = {
    get nodeId() { return c.nodeId; },
    get state() { return state; },
    consent,
    stats() {
      const s = c.latest;
      return s ? { ...s } : { state, nodeId: c.nodeId, tasksCompleted: 0, uptime: Math.round((performance.now() - started) / 1000), credits: null };
    },
    pause() { c.worker.postMessage({ type: 'pause' }); },
    resume() { c.worker.postMessage({ type: 'resume' }); },
    disconnect() {
      stopSignals();
      c.worker.postMessage({ type: 'stop' });
      setTimeout(() => c.worker.terminate(), 100);
      for (const p of c.pending.values()) { p.reject(new EdgeNetError('EN-507', 'disconnected before the task finished')); }
      c.pending.clear();
      coordinator = null;
      node = null;
      state = 'disabled';
      for (const w of widgets) w.update(null);
    },
  };
  return node;
}

function deniedNode() {
  return {
    nodeId: null,
    state: 'denied',
    consent: { cpu: false, gpu: false },
    stats: () => ({ state: 'denied', tasksCompleted: 0, credits: null, uptime: 0 }),
    pause() {}, resume() {}, disconnect() {},
  };
}

/**
 * Submits a task and resolves with its verified result: `{ id, type, verified, workers, agreeing,
 * outvoted }` and the kind's own fields (its module in `kinds/` decodes them; index.d.ts lists
 * them).
 */
export function submit(task) {
  let t;
  try {
    t = validateTask(task);
    checkPlatform();
  } catch (e) {
    return Promise.reject(toEdgeNetError(e, 'EN-502'));
  }
  if (!coordinator) {
    const cfg = lastInit ? validateInit(lastInit, DIST) : null;
    coordinator = startCoordinator(cfg ? cfg.relays : [defaultRelay(DIST)], null, cfg ? cfg.assets : null);
  }
  const c = coordinator;
  // Unique across the origin's tabs: the answer comes back through whichever tab leads.
  const req = `${c.tab}:${c.nextReq}`;
  c.nextReq += 1;
  return new Promise((resolve, reject) => {
    // Every submission is answered by the coordinator: the result, the relay's failure at the
    // task's timeout, or its own backstop (EN-505) when no relay answers.
    const msg = { type: 'submit', req, kind: t.kind, payload: t.payload, options: t.options };
    c.pending.set(req, { resolve, reject, onProgress: t.onProgress, msg });
    c.worker.postMessage(msg);
  });
}

/** Submits several tasks at once; resolves with their results in order (rejects on the first failure). */
export function submitBatch(tasks) {
  if (!Array.isArray(tasks)) return Promise.reject(new EdgeNetError('EN-502', 'submitBatch takes an array of tasks'));
  return Promise.all(tasks.map(submit));
}

const controls = {
  latest: () => (coordinator && coordinator.latest && coordinator.latest.contributing ? coordinator.latest : null),
  toggle() {
    if (!node) return;
    if (coordinator.latest && coordinator.latest.paused) node.resume(); else node.pause();
  },
  revoke() {
    if (node) {
      node.disconnect();
      rememberConsent({ cpu: false, gpu: false });
    } else if (lastInit) {
      forgetConsent();
      init(lastInit).catch(() => {});
    }
  },
};

/**
 * Renders the contribution widget into `container` (an element or a selector); `showCredits`,
 * `showStats` and `showLeaderboard` (each true unless false) choose its rows.
 * @param {{ container?: Element | string, theme?: string, showCredits?: boolean, showStats?: boolean, showLeaderboard?: boolean }} [options]
 */
export function createWidget({ container, theme = 'light', showCredits = true, showStats = true, showLeaderboard = true } = {}) {
  if (theme !== 'light' && theme !== 'dark') throw new EdgeNetError('EN-501', `theme must be "light" or "dark", got ${JSON.stringify(theme)}`);
  for (const [name, v] of Object.entries({ showCredits, showStats, showLeaderboard })) {
    if (typeof v !== 'boolean') throw new EdgeNetError('EN-501', `${name} must be true or false, got ${JSON.stringify(v)}`);
  }
  const host = typeof container === 'string' ? document.querySelector(container) : container;
  if (!(host instanceof Element)) throw new EdgeNetError('EN-501', `container must be an element or a selector that finds one, got ${JSON.stringify(container)}`);
  defineWidget(controls);
  const el = document.createElement('edgenet-widget');
  el.setAttribute('theme', theme);
  // Rows left out are attributes the widget reads (so a page can also toggle them later).
  if (!showCredits) el.setAttribute('hide-credits', '');
  if (!showStats) el.setAttribute('hide-stats', '');
  if (!showLeaderboard) el.setAttribute('hide-leaderboard', '');
  host.append(el);
  widgets.add(el);
  return el;
}
