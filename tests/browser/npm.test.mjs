// The npm package as an app meets it: `npm pack`, installed into a sample app, then bundled
// twice: with Vite, which follows `new URL('./file', import.meta.url)` and copies the package's
// Workers and wasm by itself, and with esbuild, which does not (the app copies the two folders and
// names them with assetsUrl). Each bundle contributes in Chromium.
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
let viteSite;
let viteUrl;
let packed;

// A static server for `root`: `index` at /, files below it.
function serve(root, index) {
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const path = req.url === '/' ? null : join(root, req.url.split('?')[0]);
    if (!path) { res.writeHead(200, { 'content-type': 'text/html' }); res.end(index); return; }
    try {
      const body = readFileSync(path);
      res.writeHead(200, { 'content-type': types[path.slice(path.lastIndexOf('.'))] || 'application/octet-stream' });
      res.end(body);
    } catch { res.writeHead(404); res.end(); }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve([server, `http://127.0.0.1:${server.address().port}/`])));
}

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
  const relay = `<script>window.RELAY = ${JSON.stringify(stack.ws)};</script>`;
  [site, siteUrl] = await serve(out, `<!doctype html><title>sample app</title>${relay}
    <script type="module" src="/main.js"></script>`);
  // The same app through Vite: no assetsUrl, the package's files found by the bundler.
  writeFileSync(join(app, 'vite-main.js'), `import { init, submit } from 'edgenet';
window.EdgeNet = { submit, node: init({ siteId: 'vite-app', relays: [window.RELAY] }) };
`);
  writeFileSync(join(app, 'index.html'), `<!doctype html><title>vite app</title>${relay}
    <script type="module" src="/vite-main.js"></script>`);
  execFileSync(join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn', '--outDir', 'vite-out'], { cwd: app });
  [viteSite, viteUrl] = await serve(join(app, 'vite-out'), readFileSync(join(app, 'vite-out', 'index.html')));
});
after(() => { site?.close(); viteSite?.close(); return stack.stop(); });

test('npm pack ships every file the package loads, with source maps', () => {
  for (const f of ['package/dist/edgenet.mjs', 'package/dist/edgenet-coordinator.js', 'package/dist/edgenet-compute.js',
    'package/dist/edgenet-gpu.js', 'package/wasm/edgenet_bg.wasm', 'package/wasm/edgenet_gpu_bg.wasm',
    'package/dist/edgenet-embed.js', 'package/wasm/edgenet_embed_bg.wasm',
    'package/dist/edgenet-collections.js', 'package/wasm/edgenet_collections_bg.wasm',
    'package/dist/edgenet.mjs.map', 'package/index.d.ts']) {
    assert.ok(packed.includes(f), `${f} is in the package: ${packed.join(' ')}`);
  }
});

for (const [bundler, url] of [['esbuild', () => siteUrl], ['Vite', () => viteUrl]]) {
  test(`an app bundled with ${bundler} from the packed package contributes`, async () => {
    await contributes(url());
  });
}

async function contributes(at) {
  const page = await stack.page();
  await page.goto(at);
  await allow(page);
  const s = await waitFor('the bundled app to connect', async () => {
    const v = await stats(page);
    return v.state === 'connected' && v.nodeId ? v : null;
  }, { timeout: 30_000 });
  const report = await stack.submit(['--redundancy', '1', '--seed', '4', '--n', '300', '--dim', '8']);
  assert.deepEqual(report.agreeing, [s.nodeId], 'the bundled app ran it');
  assert.equal(report.matches_local, true);
  // Gone before the next app's test, so that its task cannot go to this page instead.
  await page.close();
  await waitFor('the app to leave the relay', async () => ((await stack.peers()).some((p) => p.node_id === s.nodeId) ? null : true));
}
