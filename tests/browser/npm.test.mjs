// The npm package as an app meets it: `npm pack`, installed into a sample app, bundled with
// esbuild, its files copied beside the bundle (esbuild does not follow `new URL(…,
// import.meta.url)`, so the app names them with assetsUrl), and the bundle contributes in
// Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { ROOT, Stack, allow, stats, waitFor } from './harness.mjs';

const stack = new Stack();
let site;
let siteUrl;
let packed;

before(async () => {
  await stack.relay();
  await stack.launch();
  const app = join(stack.dir, 'app');
  mkdirSync(app, { recursive: true });
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', stack.dir], { cwd: join(ROOT, 'pkg') })
    .toString().trim().split('\n').pop();
  packed = execFileSync('tar', ['-tzf', join(stack.dir, tarball)]).toString().split('\n');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sample-app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', '--ignore-scripts', join(stack.dir, tarball)], { cwd: app });
  writeFileSync(join(app, 'main.js'), `import { init, submit } from 'edgenet';
window.EdgeNet = { submit, node: init({ siteId: 'sample-app', relays: [window.RELAY], assetsUrl: '/edgenet/dist/' }) };
`);
  const out = join(app, 'out');
  execFileSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), ['main.js', '--bundle', '--format=esm', '--log-level=warning', `--outfile=${join(out, 'main.js')}`], { cwd: app });
  for (const dir of ['dist', 'wasm']) cpSync(join(app, 'node_modules', 'edgenet', dir), join(out, 'edgenet', dir), { recursive: true });
  const index = `<!doctype html><title>sample app</title><script>window.RELAY = ${JSON.stringify(stack.ws)};</script>
    <script type="module" src="/main.js"></script>`;
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };
  site = http.createServer((req, res) => {
    const path = req.url === '/' ? null : join(out, req.url.split('?')[0]);
    if (!path) { res.writeHead(200, { 'content-type': 'text/html' }); res.end(index); return; }
    try {
      const body = readFileSync(path);
      res.writeHead(200, { 'content-type': types[path.slice(path.lastIndexOf('.'))] || 'application/octet-stream' });
      res.end(body);
    } catch { res.writeHead(404); res.end(); }
  });
  siteUrl = await new Promise((resolve) => site.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${site.address().port}/`)));
});
after(() => { site?.close(); return stack.stop(); });

test('npm pack ships every file the package loads, with source maps', () => {
  for (const f of ['package/dist/edgenet.mjs', 'package/dist/edgenet-coordinator.js', 'package/dist/edgenet-compute.js',
    'package/dist/edgenet-gpu.js', 'package/wasm/edgenet_bg.wasm', 'package/wasm/edgenet_gpu_bg.wasm',
    'package/dist/edgenet.mjs.map', 'package/index.d.ts']) {
    assert.ok(packed.includes(f), `${f} is in the package: ${packed.join(' ')}`);
  }
});

test('an app bundled with esbuild from the packed package contributes', async () => {
  const page = await stack.page();
  await page.goto(siteUrl);
  await allow(page);
  const s = await waitFor('the bundled app to connect', async () => {
    const v = await stats(page);
    return v.state === 'connected' && v.nodeId ? v : null;
  }, { timeout: 30_000 });
  const report = await stack.submit(['--redundancy', '1', '--seed', '4', '--n', '300', '--dim', '8']);
  assert.deepEqual(report.agreeing, [s.nodeId], 'the bundled app ran it');
  assert.equal(report.matches_local, true);
});
