// Every shipped file within its size budget (gzip -9, what a browser downloads from a relay that
// compresses): sizes are deterministic, so this is a test. The budgets leave a little room over
// today's sizes, so growth is a decision, not an accident; docs/BENCHMARKS.md has the figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from './harness.mjs';

const KB = 1000;
// The core wasm's goal is 150 KB (the module a page loads first); it is 177 KB since proofs of
// work and the ledger joined the protocol in one module, and splitting the compute kernels into
// their own module is the way back (docs/BENCHMARKS.md). Until then this budget stops growth.
const BUDGETS = {
  'dist/edgenet.min.js': 10 * KB,
  'dist/edgenet.mjs': 10 * KB,
  'dist/edgenet-coordinator.js': 10 * KB,
  'dist/edgenet-compute.js': 6 * KB,
  'dist/edgenet-gpu.js': 8 * KB,
  'wasm/edgenet_bg.wasm': 180 * KB,
  'wasm/edgenet_gpu_bg.wasm': 72 * KB,
};

test('every shipped file is within its gzip budget', () => {
  const over = [];
  for (const [file, budget] of Object.entries(BUDGETS)) {
    const size = gzipSync(readFileSync(join(ROOT, 'pkg', file)), { level: 9 }).length;
    if (size > budget) over.push(`${file}: ${size} B gzip > ${budget} B`);
  }
  assert.deepEqual(over, []);
});
