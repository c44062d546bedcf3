// @ts-check
// The checks every validation shares: a checker that throws an EdgeNetError naming the field
// (`fail`, `onlyKeys`, `num`, `bool`, `fn`), and the payload shapes several kinds read (a matrix
// of vectors, bytes). Used by options.js and the kinds' modules in kinds/.

import { EdgeNetError } from './errors.js';

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

/** @typedef {ReturnType<typeof checker>} Checker */

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

export function bytes(c, field, v, length) {
  let out;
  if (v instanceof Uint8Array) out = v;
  else if (typeof v === 'string') out = new TextEncoder().encode(v);
  else if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b < 256)) out = Uint8Array.from(v);
  else c.fail(field, 'a Uint8Array, an array of bytes or a string', v);
  if (length !== undefined && out.length !== length) c.fail(field, `${length} bytes`, `${out.length} bytes`);
  return out;
}
