// A page submits the text tasks as the brief shows them — submit({ type: 'embedding', payload:
// { texts, model: 'minilm' } }) and semantic_match — and three native nodes with the real
// all-MiniLM-L6-v2 run and agree on them; the vectors match sentence-transformers' (the committed
// fixture) and the ranking matches the one the fixture's vectors give.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, Stack, waitFor } from './harness.mjs';

const stack = new Stack();

// sentence-transformers' texts and vectors (crates/embed/tests/fixtures/minilm_reference.json).
function reference() {
  const r = JSON.parse(readFileSync(join(ROOT, 'crates/embed/tests/fixtures/minilm_reference.json'), 'utf8'));
  const bytes = Buffer.from(r.embeddings_f32le_base64, 'base64');
  const flat = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const vectors = r.texts.map((_, i) => flat.subarray(i * r.dim, (i + 1) * r.dim));
  return { texts: r.texts, vectors };
}
const cosine = (a, b) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i += 1) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};

before(async () => {
  await stack.relay();
  for (const name of ['m1', 'm2', 'm3']) await stack.nativeNode(name, { model: true });
  // A node joins once its model is loaded, listing the text kinds.
  const peers = await stack.peers();
  assert.equal(peers.filter((p) => p.kernels.includes('embedding') && p.kernels.includes('semantic_match')).length, 3);
  await stack.launch();
});
after(() => stack.stop());

async function esmPage() {
  const page = await stack.page();
  await page.route('**/text-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">import * as api from 'edgenet'; window.api = api;</script>`,
  }));
  await page.goto(`${stack.http}/text-test.html`);
  await waitFor('the module', () => page.evaluate(() => Boolean(window.api)));
  return page;
}

test("submit({ type: 'embedding' }) resolves to vectors three workers agreed on, matching sentence-transformers", async () => {
  const { texts, vectors } = reference();
  const picked = texts.map((t, i) => [t, i]).filter(([t]) => t.length < 300).slice(0, 48);
  const page = await esmPage();
  const out = await page.evaluate(async (input) => {
    const r = await window.api.submit({ type: 'embedding', payload: { texts: input, model: 'minilm' }, options: { redundancy: 3, timeout: 60_000 } });
    return { embeddings: r.embeddings.map((v) => Array.from(v)), workers: r.workers, verified: r.verified, cost: r.cost, type: r.type };
  }, picked.map(([t]) => t));
  assert.equal(out.verified, true);
  assert.equal(out.type, 'embedding');
  assert.equal(out.workers.length, 3);
  assert.equal(out.cost, 0, 'an unpaid task costs nothing');
  assert.equal(out.embeddings.length, picked.length);
  picked.forEach(([t, i], j) => {
    const c = cosine(out.embeddings[j], vectors[i]);
    assert.ok(c >= 0.999, `cosine ${c} with sentence-transformers on ${JSON.stringify(t)}`);
  });
});

test('semantic_match ranks as the reference does, and both kinds work in submitBatch', async () => {
  const { texts, vectors } = reference();
  const ids = texts.map((t, i) => [t, i]).filter(([t]) => t.length < 200 && t.trim()).slice(10, 50).map(([, i]) => i);
  const [q, ...cands] = ids;
  const want = cands.map((i, k) => [k, cosine(vectors[q], vectors[i])]).sort((a, b) => b[1] - a[1]);
  const page = await esmPage();
  const out = await page.evaluate(async ({ query, candidates }) => {
    const [m, e] = await window.api.submitBatch([
      { type: 'semantic_match', payload: { query, candidates, topK: 5 }, options: { redundancy: 3 } },
      { type: 'embedding', payload: { texts: [query] }, options: { redundancy: 2 } },
    ]);
    return { matches: m.matches, workers: m.workers.length, single: e.embeddings.length, singleWorkers: e.workers.length };
  }, { query: texts[q], candidates: cands.map((i) => texts[i]) });
  assert.equal(out.workers, 3);
  assert.deepEqual([out.single, out.singleWorkers], [1, 2]);
  assert.equal(out.matches.length, 5);
  out.matches.forEach((m, rank) => {
    const [index, score] = want[rank];
    assert.ok(Math.abs(m.score - score) < 1e-3, `rank ${rank}: ${m.score} vs ${score}`);
    const tie = want.some(([k, s]) => k === m.index && Math.abs(s - score) < 1e-3);
    assert.ok(m.index === index || tie, `rank ${rank}: candidate ${m.index}, the reference has ${index}`);
  });
});

test('bad text tasks are refused on the page with EN-502 and a message naming the field', async () => {
  const page = await esmPage();
  const errors = await page.evaluate(async () => {
    const tries = [
      { type: 'embedding', payload: { texts: ['a'], model: 'gpt-9' } },
      { type: 'embedding', payload: { texts: [] } },
      { type: 'embedding', payload: { texts: ['é'.repeat(5000)] } },
      { type: 'embedding', payload: { texts: Array(257).fill('x') } },
      { type: 'semantic_match', payload: { query: 'q', candidates: [] } },
      { type: 'semantic_match', payload: { query: 7, candidates: ['a'] } },
    ];
    const out = [];
    for (const t of tries) {
      try { await window.api.submit(t); out.push('resolved'); } catch (e) { out.push(`${e.code} ${e.message}`); }
    }
    return out;
  });
  assert.match(errors[0], /^EN-502 .*payload\.model must be one of minilm/);
  assert.match(errors[1], /^EN-502 .*payload\.texts must be an array of 1 to 256 strings/);
  assert.match(errors[2], /^EN-502 .*payload\.texts\[0\] must be at most 8192 bytes/);
  assert.match(errors[3], /^EN-502 .*payload\.texts must be an array of 1 to 256 strings/);
  assert.match(errors[4], /^EN-502 .*payload\.candidates must be an array of 1 to 255 strings/);
  assert.match(errors[5], /^EN-502 .*payload\.query\[0\] must be a string/);
});
