// @ts-check
// `compression`: vectors quantized to int8 codes (one scale per row) or sign bits.
// `check` reads a page's payload (EN-502 naming the field) into the form the codec takes; the
// coordinator's `codec` encodes it and decodes the verified result with the protocol module;
// `shape` turns that into what `submit` resolves with. The page's script keeps `check` and
// `shape` only (its bundle leaves the protocol module out).

import { decodeCompressed, encodeCompression } from '../../wasm/edgenet.js';
import { matrix } from '../check.js';

/** @param {import('../check.js').Checker} c @param {any} p */
export function check(c, p) {
  c.onlyKeys('payload', p, ['vectors', 'mode', 'dim']);
  const dim = c.num('payload.dim', p.dim, 0, 1, 4096, { integer: true });
  const vectors = matrix(c, 'payload.vectors', p.vectors, dim);
  const mode = p.mode === undefined ? 'int8' : p.mode;
  if (!['int8', 'binary'].includes(mode)) c.fail('payload.mode', '"int8" or "binary"', mode);
  return { mode, dim: vectors.dim, vectors: vectors.data };
}

/** The verified result as the page gets it: the codes without their inner type tag. */
export function shape(v) {
  const { type: _, ...compressed } = v.compressed;
  return { ...v, compressed };
}

/** @type {import('./codec.js').Codec} */
export const codec = {
  encode: (p) => encodeCompression(p.mode, p.dim, p.vectors),
  decode: (bytes) => ({ compressed: decodeCompressed(bytes) }),
};
