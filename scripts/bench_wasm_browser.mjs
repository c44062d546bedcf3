// custom_wasm in Chromium's engine: the prepared guest that `metering_bench` wrote to DIR, run
// through the entry-point ABI in headless Chromium (as a page's sandbox Worker runs it, on the
// page's thread here), beside the same module's median on wasmtime from the same bench run.
//   node scripts/bench_wasm_browser.mjs DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const dir = process.argv[2];
const module = readFileSync(join(dir, 'prepared.wasm')).toString('base64');
const input = readFileSync(join(dir, 'input.txt')).toString('base64');
const wasmtimeMs = Number(readFileSync(join(dir, 'wasmtime_ms'), 'utf8'));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
const page = await browser.newPage();
const ms = await page.evaluate(async ({ module, input }) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const compiled = await WebAssembly.compile(bytes(module));
  const text = bytes(input);
  const times = [];
  for (let i = 0; i < 5; i += 1) {
    const ex = /** @type {any} */ (new WebAssembly.Instance(compiled, {}).exports);
    ex.edgenet_fuel.value = 2n ** 62n;
    const at = ex.alloc(text.length);
    new Uint8Array(ex.memory.buffer, at, text.length).set(text);
    const start = performance.now();
    ex.run(at, text.length);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[2];
}, { module, input });
const version = browser.version();
await browser.close();
console.log(`| Chromium ${version}, the prepared guest | ${ms.toFixed(1)} ms |`);
console.log(`| wasmtime, the same module, same bench run | ${wasmtimeMs.toFixed(1)} ms |`);
console.log(`Chromium's engine runs it at ${(wasmtimeMs / ms).toFixed(2)}× wasmtime's speed`);
