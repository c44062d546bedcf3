// The page as a consumer: consumer.html submits a search that native nodes run and verify, and a
// module script imports the ESM build (`import { submit } from 'edgenet'` via an import map).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, waitFor } from './harness.mjs';

const stack = new Stack();
const natives = [];

before(async () => {
  await stack.relay();
  for (const name of ['n1', 'n2', 'n3']) natives.push(await stack.nativeNode(name));
  await stack.launch();
});
after(() => stack.stop());

const nativeIds = async () => (await stack.peers()).filter((p) => p.role === 'Native').map((p) => p.node_id).sort();

test('consumer.html: its default search, with three native nodes as the demo starts, is run and agreed on', async () => {
  const page = await stack.page('/consumer.html');
  // The page's defaults, as a newcomer meets them (redundancy 3).
  await page.getByRole('button', { name: 'Search' }).click();
  await waitFor('the verified result', () => page.locator('#workers li').count().then((n) => n === 3));
  assert.match(await page.locator('#out p').first().textContent(), /Verified by 3 of 3 workers/);
  const shown = (await page.locator('#workers code').allTextContents()).sort();
  assert.deepEqual(shown, await nativeIds());
  assert.equal(await page.locator('#out table tr').count(), 1 + 5, 'header and k = 5 hits');
  assert.equal(page.workers().length, 1, 'a consumer runs the coordinator only, no compute Workers');
});

test('the ESM build: submit() from a module script checks hits against a brute-force search', async () => {
  const page = await stack.page();
  await page.route('**/esm-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">import { submit, EdgeNetError } from 'edgenet'; window.api = { submit, EdgeNetError };</script>`,
  }));
  await page.goto(`${stack.http}/esm-test.html`);
  await waitFor('the module', () => page.evaluate(() => Boolean(window.api)));
  const out = await page.evaluate(async () => {
    const rand = (n) => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + n) * 0.5);
    const database = Array.from({ length: 300 }, (_, i) => rand(8).map((x) => x + i * 1e-3));
    const query = rand(8);
    const progress = [];
    const r = await window.api.submit({
      type: 'vector_search',
      payload: { query, database, k: 4, metric: 'l2' },
      options: { redundancy: 2, onProgress: (p) => progress.push(p) },
    });
    window.progressSeen = progress;
    // The same search by brute force on the page (only for the test's check).
    const want = database.map((row, i) => [i, -row.reduce((a, x, j) => a + (x - query[j]) ** 2, 0)])
      .sort((a, b) => b[1] - a[1]).slice(0, 4).map(([i]) => i);
    // A compression by the native nodes: int8 codes decode to within half a step of the input.
    const vectors = database.slice(0, 50);
    const c = await window.api.submit({ type: 'compression', payload: { vectors, mode: 'int8' }, options: { redundancy: 3 } });
    let worst = 0;
    vectors.forEach((row, r) => row.forEach((x, j) => {
      const code = (c.compressed.codes[r * 8 + j] << 24) >> 24; // two's complement byte
      worst = Math.max(worst, Math.abs(code * c.compressed.scales[r] - x) / c.compressed.scales[r]);
    }));
    let badOption;
    try { await window.api.submit({ type: 'vector_search', payload: { query, database, k: 4 }, options: { redundancy: 9 } }); } catch (e) { badOption = [e instanceof window.api.EdgeNetError, e.code, e.message]; }
    return { got: r.hits[0].map((h) => h.index), want, verified: r.verified, workers: r.workers.length, badOption,
      compressed: { rows: c.compressed.rows, dim: c.compressed.dim, workers: c.agreeing.length, worst } };
  });
  assert.deepEqual(out.got, out.want);
  assert.equal(out.verified, true);
  assert.equal(out.workers, 2);
  assert.deepEqual(out.badOption.slice(0, 2), [true, 'EN-502']);
  assert.deepEqual([out.compressed.rows, out.compressed.dim, out.compressed.workers], [50, 8, 3]);
  assert.ok(out.compressed.worst <= 0.5 + 1e-6, `int8 error ${out.compressed.worst} steps`);
  assert.match(out.badOption[2], /options\.redundancy must be an integer in \[1, 7\], got 9/);
  // Progress came as the task moved on: two workers assigned, then each result, in order.
  const progress = await page.evaluate(() => window.progressSeen);
  assert.ok(progress.length >= 3, JSON.stringify(progress));
  assert.ok(progress.every((p) => p.needed === 2));
  const last = progress[progress.length - 1];
  assert.deepEqual([last.assigned >= 2, last.results], [true, 2], JSON.stringify(progress));
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].results >= progress[i - 1].results);
});
