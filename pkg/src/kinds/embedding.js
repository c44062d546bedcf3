// @ts-check
// `embedding`: one sentence embedding per text, on a served model.
// `check` reads a page's payload (EN-502 naming the field) into the form the codec takes; the
// coordinator's `codec` encodes it and decodes the verified result with the protocol module;
// `shape` turns that into what `submit` resolves with. The page's script keeps `check` and
// `shape` only (its bundle leaves the protocol module out).

import { decodeEmbeddings, encodeEmbedding } from '../../wasm/edgenet.js';
import { MAX_TEXTS, textModel, texts } from './text.js';

/** @param {import('../check.js').Checker} c @param {any} p */
export function check(c, p) {
  c.onlyKeys('payload', p, ['texts', 'model']);
  const model = textModel(c, p.model);
  return { model, texts: texts(c, 'payload.texts', p.texts, MAX_TEXTS) };
}

/** The verified result as the page gets it: one vector per text. */
export function shape(v) {
  const { embedded: { dim, vectors }, ...rest } = v;
  const embeddings = [];
  for (let at = 0; at < vectors.length; at += dim) embeddings.push(vectors.subarray(at, at + dim));
  return { ...rest, embeddings };
}

/** @type {import('./codec.js').Codec} */
export const codec = {
  encode: (p) => encodeEmbedding(p.model, p.texts),
  decode: (bytes) => ({ embedded: decodeEmbeddings(bytes) }),
};
