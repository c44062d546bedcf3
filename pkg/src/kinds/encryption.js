// @ts-check
// `encryption`: ChaCha20-Poly1305 of the data under the given key and nonce.
// `check` reads a page's payload (EN-502 naming the field) into the form the codec takes; the
// coordinator's `codec` encodes it and decodes the verified result with the protocol module;
// `shape` turns that into what `submit` resolves with. The page's script keeps `check` and
// `shape` only (its bundle leaves the protocol module out).

import { encodeEncryption } from '../../wasm/edgenet.js';
import { bytes } from '../check.js';

/** @param {import('../check.js').Checker} c @param {any} p */
export function check(c, p) {
  c.onlyKeys('payload', p, ['key', 'nonce', 'aad', 'data']);
  return {
    key: bytes(c, 'payload.key', p.key, 32),
    nonce: bytes(c, 'payload.nonce', p.nonce, 12),
    aad: p.aad === undefined ? new Uint8Array(0) : bytes(c, 'payload.aad', p.aad),
    data: bytes(c, 'payload.data', p.data),
  };
}

/** The verified result as the page gets it: the ciphertext as it came. */
export function shape(v) {
  return v;
}

/** @type {import('./codec.js').Codec} */
export const codec = {
  encode: (p) => encodeEncryption(p.key, p.nonce, p.aad, p.data),
  decode: (bytes) => ({ ciphertext: bytes }),
};
