// @ts-check
// `custom_wasm`: the page's own WebAssembly module run on each input in the workers' sandboxes
// (docs/custom-wasm.md has the module's ABI and the task's bounds, which the protocol module
// checks when it encodes: EN-141). `check` reads the payload (EN-502 naming the field); the
// coordinator's `codec` encodes it and decodes the verified runs with the protocol module.

import { decodeWasmRuns, encodeCustomWasm } from '../../wasm/edgenet.js';
import { bytes } from '../check.js';

/** @param {import('../check.js').Checker} c @param {any} p */
export function check(c, p) {
  c.onlyKeys('payload', p, ['module', 'input', 'inputs', 'fuel', 'memoryMib']);
  const list = p.inputs === undefined ? [p.input] : p.inputs;
  if (!Array.isArray(list) || !list.length) c.fail('payload.inputs', 'an array of inputs', list);
  return {
    module: bytes(c, 'payload.module', p.module),
    inputs: list.map((/** @type {any} */ v, /** @type {number} */ i) => bytes(c, `payload.inputs[${i}]`, v)),
    fuel: c.num('payload.fuel', p.fuel, 1e10, 1, 1e11, { integer: true }),
    memoryMib: c.num('payload.memoryMib', p.memoryMib, 256, 1, 256, { integer: true }),
  };
}

/** The verified result as the page gets it: each run's output or trap, and the fuel used. */
export function shape(v) {
  return v;
}

/** @type {import('./codec.js').Codec} */
export const codec = {
  encode: (p) => encodeCustomWasm(p.module, p.inputs, p.fuel, p.memoryMib),
  decode: (bytes) => { const { type: _, ...r } = decodeWasmRuns(bytes); return r; },
};
