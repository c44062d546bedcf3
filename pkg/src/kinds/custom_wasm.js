// @ts-check
// `custom_wasm`: the page's own WebAssembly module run on each input in the workers' sandboxes
// (docs/custom-wasm.md has the module's ABI). `check` reads the payload (EN-502 naming the
// field); the coordinator's `codec` writes it in the task's postcard layout (core
// `kinds::custom_wasm::CustomWasm`) and reads the verified runs back; `shape` is what `submit`
// resolves with. The layout is simple enough to write here, so the protocol module grows none.

import { bytes } from '../check.js';

// core's `CustomWasm` bounds, checked here so a page learns of them before anything is sent.
const MAX_INPUTS = 1024;
const MAX_MEMORY_MIB = 256;
const DEFAULT_FUEL = 10_000_000_000;
const MAX_TASK_FUEL = 100_000_000_000;

/** @param {import('../check.js').Checker} c @param {any} p */
export function check(c, p) {
  c.onlyKeys('payload', p, ['module', 'input', 'inputs', 'fuel', 'memoryMib']);
  const module = bytes(c, 'payload.module', p.module);
  if ((p.input === undefined) === (p.inputs === undefined)) c.fail('payload', 'given one of input or inputs', 'both or neither');
  let inputs;
  if (p.input !== undefined) inputs = [bytes(c, 'payload.input', p.input)];
  else {
    if (!Array.isArray(p.inputs) || p.inputs.length === 0 || p.inputs.length > MAX_INPUTS) c.fail('payload.inputs', `an array of 1 to ${MAX_INPUTS} inputs`, p.inputs);
    inputs = p.inputs.map((/** @type {any} */ v, /** @type {number} */ i) => bytes(c, `payload.inputs[${i}]`, v));
  }
  const fuel = c.num('payload.fuel', p.fuel, DEFAULT_FUEL, 1, Math.floor(MAX_TASK_FUEL / inputs.length), { integer: true });
  const memoryMib = c.num('payload.memoryMib', p.memoryMib, MAX_MEMORY_MIB, 1, MAX_MEMORY_MIB, { integer: true });
  return { module, inputs, fuel, memoryMib, single: p.input !== undefined };
}

/** The verified result as the page gets it: each run's output or trap, and the fuel used. */
export function shape(v) {
  return v;
}

/** Postcard's unsigned varint of `n` (up to 2⁵³). @param {number[]} out @param {number} n */
function varint(out, n) {
  let v = BigInt(n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/** Length-prefixed bytes. @param {Uint8Array[]} parts @param {Uint8Array} b */
function withLength(parts, b) {
  const n = /** @type {number[]} */ ([]);
  varint(n, b.length);
  parts.push(Uint8Array.from(n), b);
}

/** The task's payload: module, inputs, fuel, memory. @param {any} p */
export function encode(p) {
  const parts = /** @type {Uint8Array[]} */ ([]);
  withLength(parts, p.module);
  const count = /** @type {number[]} */ ([]);
  varint(count, p.inputs.length);
  parts.push(Uint8Array.from(count));
  for (const input of p.inputs) withLength(parts, input);
  const tail = /** @type {number[]} */ ([]);
  varint(tail, p.fuel);
  varint(tail, p.memoryMib);
  parts.push(Uint8Array.from(tail));
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of parts) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** The verified runs: `{runs: [{output} | {trap: 'EN-61x'}, fuelUsed]}`. @param {Uint8Array} b */
export function decode(b) {
  let at = 0;
  const next = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = b[at++];
      if (byte === undefined) throw new Error('a custom_wasm result ended early');
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return Number(v);
    }
  };
  const runs = [];
  for (let n = next(); n > 0; n -= 1) {
    const end = next();
    const run = /** @type {any} */ ({});
    if (end === 0) {
      const len = next();
      run.output = b.slice(at, at + len);
      at += len;
    } else run.trap = `EN-${next()}`;
    run.fuelUsed = next();
    runs.push(run);
  }
  return { runs, fuelUsed: runs.reduce((n, r) => n + r.fuelUsed, 0) };
}

/** @type {import('./codec.js').Codec} */
export const codec = { encode, decode };
