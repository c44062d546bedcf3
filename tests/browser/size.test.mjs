// Every shipped file within its size budget (gzip -9): sizes are deterministic, so this is a test.
// The budgets leave little room over today's sizes, so growth is a decision, not an accident;
// docs/BENCHMARKS.md has the figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from './harness.mjs';

const KB = 1000;
// The protocol module is the wasm a page loads first (consent, identity, the relay connection):
// its goal is 150 KB. The compute module (kernels, proof-of-work solver) loads only when the page
// contributes; the GPU module only after GPU consent.
const BUDGETS = {
  // 10 KB until custom_wasm's payload check (the page's) and its sandbox's URLs (the
  // coordinator's) came: docs/decisions.md, "custom_wasm in the browser".
  'dist/edgenet.min.js': 10.2 * KB,
  'dist/edgenet.mjs': 10 * KB,
  'dist/edgenet-coordinator.js': 10.3 * KB,
  'dist/edgenet-compute.js': 5 * KB,
  'dist/edgenet-gpu.js': 8 * KB,
  'dist/edgenet-embed.js': 3 * KB,
  'dist/edgenet-embed-gpu.js': 8 * KB,
  'wasm/edgenet_bg.wasm': 150 * KB,
  'wasm/edgenet_compute_bg.wasm': 60 * KB,
  'wasm/edgenet_gpu_bg.wasm': 72 * KB,
  // The embedding module: one Worker loads it beside 45 MB of weights, when a text task arrives.
  // Most of it is the Unicode tables the tokenizer needs to give the reference's ids.
  'wasm/edgenet_embed_bg.wasm': 190 * KB,
  // Its WebGPU build (wgpu added), for pages that force backend 'gpu'.
  'wasm/edgenet_embed_gpu_bg.wasm': 232 * KB,
  // The collections client: the coordinator loads it on a page's first collection task.
  'dist/edgenet-collections.js': 6 * KB,
  'wasm/edgenet_collections_bg.wasm': 75 * KB,
  // custom_wasm's preparation (wasmparser, wasm-encoder): a compute Worker loads it on its first
  // custom_wasm task, beside the sandbox Worker's script.
  'dist/edgenet-sandbox.js': 2.5 * KB,
  'dist/edgenet-sandbox-worker.js': 1 * KB,
  'wasm/edgenet_sandbox_bg.wasm': 200 * KB,
};

test('every shipped file is within its gzip budget', () => {
  const over = [];
  for (const [file, budget] of Object.entries(BUDGETS)) {
    const size = gzipSync(readFileSync(join(ROOT, 'pkg', file)), { level: 9 }).length;
    if (size > budget) over.push(`${file}: ${size} B gzip > ${budget} B`);
  }
  assert.deepEqual(over, []);
});
