// @ts-check
// `semantic_match`: candidates ranked by the cosine of their embedding with the query's.
// `check` reads a page's payload (EN-502 naming the field) into the form the codec takes; the
// coordinator's `codec` encodes it and decodes the verified result with the protocol module;
// `shape` turns that into what `submit` resolves with. The page's script keeps `check` and
// `shape` only (its bundle leaves the protocol module out).

import { decodeMatches, encodeSemanticMatch } from '../../wasm/edgenet.js';
import { MAX_TEXTS, MAX_TOTAL_BYTES, byteLength, textModel, texts } from './text.js';

/** @param {import('../check.js').Checker} c @param {any} p */
export function check(c, p) {
  c.onlyKeys('payload', p, ['query', 'candidates', 'model', 'topK']);
  const model = textModel(c, p.model);
  const [query] = texts(c, 'payload.query', [p.query], 1);
  const candidates = texts(c, 'payload.candidates', p.candidates, MAX_TEXTS - 1);
  const topK = c.num('payload.topK', p.topK, 0, 0, MAX_TEXTS, { integer: true });
  if (byteLength(query) + candidates.reduce((n, t) => n + byteLength(t), 0) > MAX_TOTAL_BYTES) {
    c.fail('payload', `at most ${MAX_TOTAL_BYTES} bytes of text in all`, 'more');
  }
  return { model, query, candidates, topK };
}

/** The verified result as the page gets it: `{ index, score }` per candidate, best first. */
export function shape(v) {
  const { ranked: { indices, scores }, ...rest } = v;
  return { ...rest, matches: Array.from(indices, (index, i) => ({ index, score: scores[i] })) };
}

/** @type {import('./codec.js').Codec} */
export const codec = {
  encode: (p) => encodeSemanticMatch(p.model, p.query, p.candidates, p.topK),
  decode: (bytes) => ({ ranked: decodeMatches(bytes) }),
};
