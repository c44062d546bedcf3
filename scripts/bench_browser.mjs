// Times the wasm k-NN scan in headless Chromium (Debian's, through playwright-core) on the same
// data as the native benchmark. Usage: node scripts/bench_browser.mjs PKG_DIR N DIM K
// Prints one JSON line: {"browser_nq1_qps": ...}.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { chromium } from 'playwright-core';

const [pkgDir, n, dim, k] = process.argv.slice(2);
const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const server = createServer(async (req, res) => {
  try {
    const path = req.url === '/' ? null : join(pkgDir, req.url.replace(/^\/pkg\//, ''));
    const body = path ? await readFile(path) : '<!doctype html><title>bench</title>';
    res.writeHead(200, { 'content-type': path ? types[extname(path)] ?? 'application/octet-stream' : 'text/html' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  const qps = await page.evaluate(async ([n, dim, k]) => {
    const wasm = await import('/pkg/edgenet_wasm.js');
    await wasm.default();
    return wasm.benchScan(n, dim, k, 5);
  }, [Number(n), Number(dim), Number(k)]);
  console.log(JSON.stringify({ browser_nq1_qps: qps }));
} finally {
  await browser.close();
  server.close();
}
