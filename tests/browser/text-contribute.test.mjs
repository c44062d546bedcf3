// A page that opts into the text tasks contributes them: one compute Worker loads the embedding
// module and the f16 weights from the relay (checked against the package's SHA-256, kept in the
// Cache API), runs embeddings on WebAssembly SIMD, and agrees with native nodes (AVX-512/AVX2)
// under the cosine quorum; the vectors match sentence-transformers'. The Worker holding the model
// stays under 150 MB, and a page that does not opt in never fetches the model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, Stack, allow, stats, waitFor } from './harness.mjs';

const stack = new Stack();
let page;
const modelRequests = [];

function reference() {
  const r = JSON.parse(readFileSync(join(ROOT, 'crates/embed/tests/fixtures/minilm_reference.json'), 'utf8'));
  const bytes = Buffer.from(r.embeddings_f32le_base64, 'base64');
  const flat = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return { texts: r.texts, vectors: r.texts.map((_, i) => flat.subarray(i * r.dim, (i + 1) * r.dim)) };
}
const cosine = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i += 1) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};

// A contributing page that lists the text kinds (they are opt-in), as a site would write it.
async function textPage(tasks) {
  const p = await stack.page();
  p.on('request', (r) => { if (r.url().includes('/models/')) modelRequests.push(r.url()); });
  await p.route('**/text-site.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><div id="w"></div><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">import { init } from 'edgenet';
      window.EdgeNet = { node: init({ siteId: 'text-test', contribution: { cpuLimit: 1, tasks: ${JSON.stringify(tasks)} } }) };</script>`,
  }));
  await p.goto(`${stack.http}/text-site.html`);
  await allow(p);
  return p;
}

before(async () => {
  await stack.relay();
  for (const name of ['n1', 'n2']) await stack.nativeNode(name, { model: true });
  await stack.launch();
  page = await textPage(['embedding', 'semantic_match', 'vector_search']);
});
after(() => stack.stop());

test('a browser worker embeds texts on WASM SIMD and agrees with two native nodes', async () => {
  const { nodeId } = await waitFor('the page to connect', async () => {
    const s = await stats(page);
    return s.state === 'connected' && s.nodeId ? s : null;
  });
  const browser = (await stack.peers()).find((p) => p.node_id === nodeId);
  assert.deepEqual(browser.kernels.filter((k) => ['embedding', 'semantic_match'].includes(k)), ['embedding', 'semantic_match']);
  assert.equal(modelRequests.length, 0, 'no model fetched before a text task');

  const { texts, vectors } = reference();
  const picked = texts.map((t, i) => [t, i]).filter(([t]) => t.trim() && !/[\n\r]/.test(t) && t.length < 300).slice(20, 44);
  const file = join(stack.dir, 'texts.txt');
  writeFileSync(file, picked.map(([t]) => t).join('\n'));
  const report = await stack.submit(['--kind', 'embedding', '--file', file, '--redundancy', '3', '--timeout-s', '120']);
  assert.ok(report.agreeing.includes(nodeId), `the browser agreed: ${JSON.stringify(report)}`);
  assert.equal(report.agreeing.length, 3);
  assert.deepEqual(report.outvoted, []);
  picked.forEach(([t, i], j) => {
    const c = cosine(report.embeddings[j], vectors[i]);
    assert.ok(c >= 0.999, `cosine ${c} on ${JSON.stringify(t)}`);
  });
  // The four model files came from the relay once, and the Worker holding the model is small.
  assert.deepEqual(modelRequests.map((u) => u.split('/').pop()).sort(),
    ['config.json', 'model.f16.safetensors', 'sentence_bert_config.json', 'tokenizer.json']);
  const s = await stats(page);
  assert.equal(s.model.fromCache, false);
  const holders = [];
  for (const w of page.workers()) {
    const m = await w.evaluate(() => (self.EdgeNetEmbed ? { wasm: self.EdgeNetEmbed.memoryBytes(), js: performance.memory ? performance.memory.usedJSHeapSize : 0 } : null));
    if (m) holders.push(m);
  }
  assert.equal(holders.length, 1, 'one Worker holds the model');
  const total = holders[0].wasm + holders[0].js;
  console.log(`model Worker: wasm ${(holders[0].wasm / 1048576).toFixed(1)} MiB, JS heap ${(holders[0].js / 1048576).toFixed(1)} MiB, loaded in ${s.model.loadMs} ms`);
  assert.ok(total < 150 * 1048576, `the model's Worker uses ${total} bytes`);

  // semantic_match on the browser too (redundancy 3: both natives and the page).
  const cands = join(stack.dir, 'cands.txt');
  writeFileSync(cands, picked.slice(1).map(([t]) => t).join('\n'));
  const m = await stack.submit(['--kind', 'semantic-match', '--query', picked[0][0], '--file', cands, '--redundancy', '3', '--top-k', '5']);
  assert.ok(m.agreeing.includes(nodeId));
  assert.equal(m.matches.length, 5);
});

test('a second page on the same origin takes the model from the Cache API, not the network', async () => {
  await page.close();
  modelRequests.length = 0;
  // Same browser context? A new page in the first page's context shares its Cache Storage.
  const ctx = stack.browser.contexts()[0];
  const again = await ctx.newPage();
  again.on('request', (r) => { if (r.url().includes('/models/')) modelRequests.push(r.url()); });
  await again.route('**/text-site.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">import { init } from 'edgenet';
      window.EdgeNet = { node: init({ siteId: 'text-test', contribution: { cpuLimit: 1, tasks: ['embedding'] } }) };</script>`,
  }));
  await again.goto(`${stack.http}/text-site.html`);
  const { nodeId } = await waitFor('the page to connect', async () => {
    const s = await stats(again);
    return s.state === 'connected' && s.nodeId ? s : null;
  });
  const file = join(stack.dir, 'one.txt');
  writeFileSync(file, 'A man is eating food.\nA monkey is playing drums.');
  const report = await stack.submit(['--kind', 'embedding', '--file', file, '--redundancy', '3', '--timeout-s', '120']);
  assert.ok(report.agreeing.includes(nodeId));
  const s = await stats(again);
  assert.equal(s.model.fromCache, true);
  assert.deepEqual(modelRequests, [], 'nothing fetched: the Cache API had every file');
  // One copy, keyed by each file's SHA-256 (the package's pins), whichever relay served it.
  const keys = await again.evaluate(async () => (await (await caches.open('edgenet-models-v1')).keys()).map((r) => new URL(r.url).pathname).sort());
  const pins = [...readFileSync(join(ROOT, 'pkg/src/models.js'), 'utf8').matchAll(/sha256: '([0-9a-f]{64})'/g)].map((m) => `/edgenet-models/${m[1]}`).sort();
  assert.deepEqual(keys, pins);
});

test('a page that does not list the text kinds never offers them nor fetches the model', async () => {
  const plain = await stack.page('/contributor.html');
  plain.on('request', (r) => { if (r.url().includes('/models/')) modelRequests.push(r.url()); });
  modelRequests.length = 0;
  await allow(plain);
  const { nodeId } = await waitFor('the page to connect', async () => {
    const s = await stats(plain);
    return s.state === 'connected' && s.nodeId ? s : null;
  });
  const peer = (await stack.peers()).find((p) => p.node_id === nodeId);
  assert.ok(!peer.kernels.includes('embedding') && peer.kernels.includes('vector_search'), JSON.stringify(peer.kernels));
  assert.deepEqual(modelRequests, []);
});

test('in Chromium, the embedding module on WASM SIMD matches sentence-transformers on every fixture text', async () => {
  const { texts, vectors } = reference();
  const p = await stack.page();
  await p.route('**/wasm-embed.html', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><p>embed</p>' }));
  await p.goto(`${stack.http}/wasm-embed.html`);
  const out = await p.evaluate(async (all) => {
    const mod = await import('/pkg/wasm/edgenet_embed.js');
    await mod.default({ module_or_path: '/pkg/wasm/edgenet_embed_bg.wasm' });
    const get = async (f) => new Uint8Array(await (await fetch(`/models/minilm/${f}`)).arrayBuffer());
    const model = new mod.Model(await get('config.json'), await get('sentence_bert_config.json'), await get('tokenizer.json'), await get('model.f16.safetensors'));
    const start = performance.now();
    const got = all.map((t) => Array.from(model.embed(t)));
    return { got, ms: performance.now() - start, backend: mod.backend() };
  }, texts);
  assert.equal(out.backend, 'wasm-simd128');
  let worst = 1;
  let at = '';
  out.got.forEach((v, i) => {
    const c = cosine(v, vectors[i]);
    if (c < worst) { worst = c; at = texts[i]; }
  });
  console.log(`WASM SIMD, f16 weights: worst cosine ${worst.toFixed(7)} over ${texts.length} texts (${JSON.stringify(at.slice(0, 40))}), ${(out.ms / texts.length).toFixed(1)} ms per text`);
  assert.ok(worst >= 0.999, `cosine ${worst} on ${JSON.stringify(at)}`);
});
