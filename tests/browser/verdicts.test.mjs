// A page's verdicts carry their evidence. A page pays for a vector search run by three native
// workers, one of which lies; its verdict comes with the results it opened (`message::Reveal`),
// so the relay checks them against the workers' signed commitments and settles on them: the
// liar is outvoted on evidence and marked down, the honest workers are paid. A verdict without
// evidence would mark nobody down (docs/threat-model.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, allow, waitFor } from './harness.mjs';

const stack = new Stack();

before(async () => {
  // The uptime bonus gives the page credits to pay with.
  await stack.relay(['--uptime-period-ms', '700', '--uptime-bonus', '250000']);
  await stack.nativeNode('h1');
  await stack.nativeNode('h2');
  await stack.nativeNode('liar', { args: ['--fault-inject', 'wrong-result'] });
  await stack.launch();
});
after(() => stack.stop());

test('a page backs its verdict with the results it opened, and the liar is marked down', async () => {
  const page = await stack.page();
  // It contributes encryption only: it never runs its own search.
  await page.route('**/verdict-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">
        import { init, submit } from 'edgenet';
        window.node = init({ siteId: 'verdicts', contribution: { tasks: ['encryption'] } });
        window.submit = submit;
      </script>`,
  }));
  await page.goto(`${stack.http}/verdict-test.html`);
  await allow(page);
  await waitFor('credits to pay with', async () => {
    const v = await page.evaluate(async () => (await window.node).stats());
    return v.credits >= 0.5;
  }, { timeout: 30_000 });

  const database = Array.from({ length: 64 }, (_, i) => [Math.cos(i), Math.sin(i), i / 64, 1]);
  const done = await page.evaluate(async (db) => {
    try {
      return await window.submit({ type: 'vector_search', payload: { query: db[7], database: db, k: 3, metric: 'l2' }, options: { redundancy: 3, maxCredits: 0.03 } });
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, database);
  assert.equal(done.verified, true, JSON.stringify(done));
  assert.equal(done.outvoted.length, 1, JSON.stringify(done));
  assert.equal(done.agreeing.length, 2);
  assert.equal(done.hits[0][0].index, 7, 'the honest answer');

  // The relay took the page's evidence: the liar's reputation fell from the start's 5,000.
  const [liar] = done.outvoted;
  const marked = await waitFor('the liar marked down', async () => {
    const a = await stack.api(`/api/ledger/${liar}`);
    return a.reputation === 4000 ? a : null;
  });
  assert.equal(marked.reputation, 4000);
  for (const w of done.agreeing) {
    const a = await stack.api(`/api/ledger/${w}`);
    assert.notEqual(a.reputation, 4000, 'an honest worker is not marked down');
  }
});
