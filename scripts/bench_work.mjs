// The proof-of-work digest in wasm (the browser package's own module, run by Node's V8, the
// engine Chromium uses): milliseconds per Argon2id digest and one proof at the default bits.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const mod = await import(`${root}pkg/wasm/edgenet_compute.js`);
mod.initSync({ module: readFileSync(`${root}pkg/wasm/edgenet_compute_bg.wasm`) });
const bits = Number(process.argv[2] || 12);
// 24 bits is never met in the run: every step costs exactly its digests.
const solver = new mod.WorkSolver(new Uint8Array(32).fill(7), 24);
solver.step(4);
const n = 200;
const t = performance.now();
solver.step(n);
const ms = (performance.now() - t) / n;
console.log(`| Argon2id digest (4 MiB, 1 pass), wasm in V8 | ${ms.toFixed(2)} ms |`);
console.log(`| one proof at ${bits} bits, wasm | ${((ms * 2 ** bits) / 1000).toFixed(1)} CPU-s |`);
solver.free();
