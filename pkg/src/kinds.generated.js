// @ts-check
// Written from the Rust registry of task kinds (crates/core/src/kinds/mod.rs) by
// `EDGENET_WRITE_KINDS=1 cargo test -p edgenet-core --test kinds_js`; do not edit.
// `needs`: 'kernels' (the compute module runs it), 'model' (the embedding module),
// 'shard' (native holders of a collection's shard only).

/** @type {ReadonlyArray<{name: string, wire: number, needs: 'kernels' | 'model' | 'shard' | 'sandbox'}>} */
export const KINDS = Object.freeze([
  { name: 'vector_search', wire: 0, needs: 'kernels' },
  { name: 'encryption', wire: 1, needs: 'kernels' },
  { name: 'compression', wire: 2, needs: 'kernels' },
  { name: 'embedding', wire: 3, needs: 'model' },
  { name: 'semantic_match', wire: 4, needs: 'model' },
  { name: 'vector_insert', wire: 5, needs: 'shard' },
  { name: 'shard_search', wire: 6, needs: 'shard' },
  { name: 'custom_wasm', wire: 7, needs: 'sandbox' },
]);
