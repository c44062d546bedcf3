// vector-search.html, as a newcomer uses it: its sample texts are embedded by three native
// nodes with the real model (one verified embedding task), then its sample query is embedded and
// searched among them by a verified vector_search; the best hit is the text that means the same.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, waitFor } from './harness.mjs';

const stack = new Stack();

before(async () => {
  await stack.relay();
  for (const name of ['v1', 'v2', 'v3']) await stack.nativeNode(name, { model: true });
  await stack.launch();
});
after(() => stack.stop());

test('vector-search.html embeds its texts through the network and finds the one that means the query', async () => {
  const page = await stack.page('/vector-search.html');
  await page.getByRole('button', { name: 'Embed through the network' }).click();
  await waitFor('the verified embeddings', () => page.locator('#corpus-out li').count().then((n) => n === 3), { timeout: 60_000 });
  assert.match(await page.locator('#corpus-out p').textContent(), /^8 texts embedded \(384 dimensions\), verified by 3 workers/);
  await page.getByRole('button', { name: 'Search' }).click();
  await waitFor('the verified hits', () => page.locator('#out table tr').count().then((n) => n === 1 + 5), { timeout: 60_000 });
  const best = await page.locator('#out table tr').nth(1).locator('td').allTextContents();
  assert.equal(best[1], 'A man is eating food.', `best hit: ${best}`);
  assert.ok(Number(best[2]) > 0.5, `cosine ${best[2]}`);
  assert.match(await page.locator('#out p').first().textContent(), /embedded by 3 workers and searched by 3 that agreed/);
  assert.equal(await page.locator('#out li').count(), 3);
});
