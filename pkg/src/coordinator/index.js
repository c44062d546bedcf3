// @ts-check
// The coordinator Worker: the page's identity (IndexedDB), its relay socket with reconnects, the
// compute Workers and the routing between them. The protocol itself is the wasm Connection (proto's
// Endpoint); these files move bytes, events and jobs, and keep counters for stats(). Its rooms:
// state (what they share), store (IndexedDB), pool (compute Workers and their share), socket (the
// relay connection), submit (the page's submissions); messages.js types what crosses postMessage.

import initWasm, { Backoff, Policy, nodeId as nodeIdOf } from '../../wasm/edgenet.js';
import initCompute from '../../wasm/edgenet_compute.js';
import { applyShare, startPool, stopPool } from './pool.js';
import { connect } from './socket.js';
import { co, post, postStats, report, setState } from './state.js';
import { loadIdentity } from './store.js';
import { submit } from './submit.js';

/** @typedef {import('../messages.js').PageToCoordinator} PageToCoordinator */
/** @typedef {import('../messages.js').StartMessage} StartMessage */
/** @typedef {import('../messages.js').ContributeSettings} ContributeSettings */

const MAX_BACKOFF_MS = 30_000;

/** @type {() => void} */
let markReady = () => {};
const ready = new Promise((r) => { markReady = () => r(undefined); });

/** @param {StartMessage} msg */
async function boot(msg) {
  co.cfg = msg;
  const { wasmUrl } = msg;
  let module;
  try {
    const response = fetch(wasmUrl);
    module = await WebAssembly.compileStreaming(response).catch(async () => WebAssembly.compile(await (await fetch(wasmUrl)).arrayBuffer()));
    await initWasm({ module_or_path: module });
  } catch (e) {
    co.bootError = { code: 'EN-508', message: `the EdgeNet wasm module did not load from ${wasmUrl}: ${e instanceof Error ? e.message : e}` };
    report({ message: `${co.bootError.code}: ${co.bootError.message}` }, 'boot');
    setState('error');
    markReady();
    return;
  }
  co.backoff = new Backoff(MAX_BACKOFF_MS);
  // The compute module downloads while the identity loads; the pool is up before the first
  // connection, which then advertises its workers (no reconnect to add them).
  if (msg.contribute) loadCompute(msg.computeWasmUrl).catch(() => {});
  co.secret = await loadIdentity();
  co.myId = nodeIdOf(co.secret);
  post({ type: 'identity', nodeId: co.myId });
  if (msg.contribute) await enableContribution(msg.contribute, module);
  msg.module = module;
  setInterval(postStats, 1000);
  markReady();
  connect();
}

/**
 * Compiles the compute module (kernels, proof-of-work solver) once, for the compute Workers, and
 * instantiates it here too (the solver runs in this Worker). A page that only submits never
 * downloads it.
 * @param {string} url
 * @returns {Promise<WebAssembly.Module>}
 */
function loadCompute(url) {
  if (!co.compute) {
    co.compute = WebAssembly.compileStreaming(fetch(url))
      .catch(async () => WebAssembly.compile(await (await fetch(url)).arrayBuffer()))
      .then(async (module) => { await initCompute({ module_or_path: module }); return module; });
  }
  return co.compute;
}

/**
 * @param {ContributeSettings} settings
 * @param {WebAssembly.Module | undefined} module the protocol module (loaded: boot is done)
 */
async function enableContribution(settings, module) {
  if (co.contribute || !module || !co.cfg) return;
  co.contribute = settings;
  co.policy = new Policy(settings);
  let compute;
  try {
    compute = await loadCompute(co.cfg.computeWasmUrl);
  } catch (e) {
    report({ message: `EN-508: the EdgeNet compute module did not load from ${co.cfg.computeWasmUrl}: ${e instanceof Error ? e.message : e}` }, 'boot');
    return;
  }
  startPool(compute);
  // A connection made without workers advertised none: reconnect to advertise them.
  if (co.ws) co.ws.close();
  applyShare();
}

self.onmessage = async (/** @type {MessageEvent<PageToCoordinator>} */ { data: m }) => {
  if (m.type === 'start') { boot(m); return; }
  await ready;
  if (co.bootError) {
    if (m.type === 'submit') post({ type: 'result', req: m.req, error: co.bootError });
    return;
  }
  switch (m.type) {
    case 'contribute': enableContribution(m.settings, co.cfg?.module); break;
    case 'signals': co.signals = m.signals; applyShare(); break;
    case 'pause': co.paused = true; applyShare(); break;
    case 'resume': co.paused = false; applyShare(); break;
    case 'submit': submit(m); break;
    case 'stats': postStats(); break;
    case 'stop':
      co.stopped = true;
      co.detached = [];
      clearTimeout(co.reconnectTimer);
      stopPool();
      if (co.ws) co.ws.close();
      post({ type: 'stopped' });
      break;
    default:
      break;
  }
};
