// @ts-check
// `vector_search`: the k nearest rows of a database to each query.
// `check` reads a page's payload (EN-502 naming the field) into the form the codec takes; the
// coordinator's `codec` encodes it and decodes the verified result with the protocol module;
// `shape` turns that into what `submit` resolves with. The page's script keeps `check` and
// `shape` only (its bundle leaves the protocol module out).

import { decodeKnnResult, encodeVectorSearch } from '../../wasm/edgenet.js';
import { matrix } from '../check.js';

/** @param {import('../check.js').Checker} c @param {any} p */
export function check(c, p) {
  c.onlyKeys('payload', p, ['query', 'queries', 'database', 'k', 'metric', 'dim']);
  if ((p.query === undefined) === (p.queries === undefined)) c.fail('payload', 'given exactly one of query or queries', 'both or neither');
  const dim = c.num('payload.dim', p.dim, 0, 1, 4096, { integer: true });
  const queries = p.query !== undefined ? matrix(c, 'payload.query', [p.query], dim) : matrix(c, 'payload.queries', p.queries, dim);
  const database = matrix(c, 'payload.database', p.database, queries.dim);
  const metric = p.metric === undefined ? 'dot' : p.metric;
  if (!['dot', 'cosine', 'l2'].includes(metric)) c.fail('payload.metric', '"dot", "cosine" or "l2"', metric);
  const k = c.num('payload.k', p.k, 10, 1, 1024, { integer: true });
  return { metric, dim: queries.dim, k, queries: queries.data, database: database.data };
}

/** The verified result as the page gets it: per query, `{ index, score }` best first. */
export function shape(v) {
  const { knn: { counts, indices, scores }, ...rest } = v;
  const hits = [];
  let at = 0;
  for (const n of counts) {
    const q = [];
    for (let i = 0; i < n; i += 1) q.push({ index: indices[at + i], score: scores[at + i] });
    hits.push(q);
    at += n;
  }
  return { ...rest, hits };
}

/** @type {import('./codec.js').Codec} */
export const codec = {
  encode: (p) => encodeVectorSearch(p.metric, p.dim, p.k, p.queries, p.database),
  decode: (bytes) => ({ knn: decodeKnnResult(bytes) }),
};
