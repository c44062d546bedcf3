// @ts-check
// Written from the Rust registry of task kinds (crates/core/src/kinds/mod.rs) by
// `EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js`; do not edit.
// Each kind a page runs has its module here: `check` and `shape` (the page's script) and
// `codec` (the coordinator).

import * as vector_search from './vector_search.js';
import * as encryption from './encryption.js';
import * as compression from './compression.js';
import * as embedding from './embedding.js';
import * as semantic_match from './semantic_match.js';
import * as custom_wasm from './custom_wasm.js';

/** @type {Record<string, (c: import('../check.js').Checker, payload: any) => any>} */
export const CHECKS = {
  vector_search: vector_search.check,
  encryption: encryption.check,
  compression: compression.check,
  embedding: embedding.check,
  semantic_match: semantic_match.check,
  custom_wasm: custom_wasm.check,
};

/** @type {Record<string, (result: any) => any>} */
export const SHAPES = {
  vector_search: vector_search.shape,
  encryption: encryption.shape,
  compression: compression.shape,
  embedding: embedding.shape,
  semantic_match: semantic_match.shape,
  custom_wasm: custom_wasm.shape,
};

/** @type {Record<string, import('./codec.js').Codec>} */
export const CODECS = {
  vector_search: vector_search.codec,
  encryption: encryption.codec,
  compression: compression.codec,
  embedding: embedding.codec,
  semantic_match: semantic_match.codec,
  custom_wasm: custom_wasm.codec,
};
