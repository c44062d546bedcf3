// @ts-check
// custom_wasm in a compute Worker: the sandbox module prepares the task's module (the same bytes
// as on every runner), a sandbox Worker runs one input at a time on this browser's engine, and
// the sandbox module ends the runs as every runner does. A run past its wall clock (the share of
// 10 s this Worker may use, at least 1 s, so a run never takes more than the duty cycle allows of
// a 10 s window) ends the sandbox Worker and gives the task up (EN-614): it is reassigned.
// compute.js runs the task a slice (one input) at a time under its duty cycle.

import { spawnWorker } from './spawn.js';

const WINDOW_MS = 10_000;
const MIN_WALL_MS = 1_000;
const KEEP_COMPILED = 4;

let urls = null; // { script, wasm, worker }: this Worker runs custom_wasm tasks
let glue = null; // the sandbox module's glue, once loaded (on the first such task)
let sandbox = null; // the sandbox Worker, started on the first run and again after a backstop
const compiledModules = new Map(); // a job's prepared module, compiled once, by its hash

/** Where the sandbox's files are, when the site lists custom_wasm (else null). */
export function useSandbox(u) {
  urls = u;
}

async function loadGlue() {
  if (!glue) {
    importScripts(urls.script);
    await self.EdgeNetSandbox.init({ module_or_path: urls.wasm });
    glue = self.EdgeNetSandbox;
  }
  return glue;
}

async function compiled(task) {
  let module = compiledModules.get(task.hash);
  if (!module) {
    module = await WebAssembly.compile(task.module);
    if (compiledModules.size >= KEEP_COMPILED) compiledModules.delete(compiledModules.keys().next().value);
    compiledModules.set(task.hash, module);
  }
  return module;
}

// One input in the sandbox Worker: what it saw, or null when the run passed `wallMs` or the
// Worker died (then it is ended, and the next run starts a new one).
function runInSandbox(msg, wallMs) {
  if (!sandbox) sandbox = spawnWorker(urls.worker);
  const w = sandbox;
  return new Promise((resolve) => {
    const end = (answer) => {
      clearTimeout(timer);
      if (!answer) {
        w.terminate();
        if (sandbox === w) sandbox = null;
      }
      resolve(answer);
    };
    const timer = setTimeout(() => end(null), wallMs);
    w.onmessage = ({ data }) => end(data);
    w.onerror = () => end(null);
    w.postMessage(msg);
  });
}

/**
 * A custom_wasm task as compute.js runs tasks: `step()` runs the next input (true once all
 * have run), `result()` the encoded runs. Throws the payload's or the module's EN code.
 * @param {Uint8Array} payload @param {() => number} share the share of a core allowed now
 */
export async function wasmRun(payload, share) {
  if (!urls) throw new Error('EN-414: this Worker runs no custom_wasm tasks');
  const sb = await loadGlue();
  const task = sb.prepareTask(payload);
  const module = task.abi ? null : await compiled(task);
  const runs = [];
  return {
    unitsLeft: () => task.inputs.length - runs.length,
    step: async () => {
      if (task.abi) runs.push({ abi: task.abi, left: task.fuel, depth: 0 });
      else {
        const wallMs = Math.max(MIN_WALL_MS, Math.round(share() * WINDOW_MS));
        const msg = { module, input: task.inputs[runs.length], fuel: task.fuel, maxOutput: task.maxOutput };
        const seen = await runInSandbox(msg, wallMs);
        if (!seen) throw new Error(`EN-614: a run passed this page's wall clock of ${wallMs} ms; the task is given up`);
        runs.push(seen);
      }
      return runs.length === task.inputs.length;
    },
    result: () => sb.finishRuns(task.fuel, task.memoryMib, runs),
    free: () => {},
  };
}
