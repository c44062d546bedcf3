// Consent and identity: denied means no Worker and no socket; an answer is remembered; the
// identity survives a reload; bad options reach onError with a code; the widget in both themes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, allow, stats, waitFor, sleep, artifact } from './harness.mjs';

const stack = new Stack();

before(async () => {
  await stack.relay();
  await stack.launch();
});
after(() => stack.stop());

test('consent denied: no Worker, no socket, and the answer is remembered', async () => {
  const page = await stack.page('/contributor.html');
  await page.getByRole('dialog', { name: 'Share idle computing power?' }).getByRole('button', { name: 'No thanks' }).click();
  assert.equal((await stats(page)).state, 'denied');
  await sleep(1_000);
  assert.equal(page.workers().length, 0);
  assert.deepEqual(page.sockets, []);
  assert.equal((await stack.peers()).length, 0);
  await page.reload();
  await waitFor('init after reload', () => page.evaluate(() => Boolean(window.EdgeNet && window.EdgeNet.node)));
  assert.equal((await stats(page)).state, 'denied', 'not asked again');
  assert.equal(await page.getByRole('dialog').count(), 0);
  assert.equal(page.workers().length, 0);
  await page.locator('edgenet-widget').screenshot({ path: artifact('widget-not-sharing.png') });
});

test('the identity survives a reload, and consent is not asked again', async () => {
  const page = await stack.page('/contributor.html');
  await allow(page);
  const first = await waitFor('connected', async () => { const s = await stats(page); return s.state === 'connected' ? s : null; });
  await page.reload();
  assert.equal(await page.getByRole('dialog').count(), 0, 'no prompt after a yes');
  const second = await waitFor('reconnected', async () => { const s = await stats(page); return s.state === 'connected' ? s : null; });
  assert.equal(second.nodeId, first.nodeId);
  assert.match(first.nodeId, /^[a-z2-7]{52}$/);
  assert.deepEqual((await stack.peers()).map((p) => p.node_id), [first.nodeId]);

  // The widget, in the dark theme too; "Stop sharing" revokes and disconnects.
  await page.evaluate(() => window.EdgeNet.createWidget({ container: 'body', theme: 'dark' }));
  await sleep(1_200);
  await page.locator('edgenet-widget[theme=dark]').screenshot({ path: artifact('widget-dark.png') });
  await page.locator('edgenet-widget[theme=dark]').getByRole('button', { name: 'Stop sharing' }).click();
  await waitFor('the relay to drop the page', async () => (await stack.peers()).length === 0);
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('edgenet:consent:v1')).cpu), false);
});

test('bad options: init rejects and onError gets an EdgeNetError with a code', async () => {
  const page = await stack.page('/consumer.html');
  const cases = await page.evaluate(async () => {
    const bad = [
      { siteId: 'ok', contribution: { cpuLimit: 1.5 } },
      { siteId: 'ok', contribution: { cpuLimit: '0.3' } },
      { siteId: '' },
      { siteId: 'ok', contribution: { tasks: ['mining'] } },
      { siteId: 'ok', idle: { minIdleTime: -1 } },
      { siteId: 'ok', relays: ['http://example.invalid/ws'] },
      { siteId: 'ok', contributon: 0.3 },
    ];
    const out = [];
    for (const opts of bad) {
      let seen = null;
      let thrown = null;
      try { await window.EdgeNet.init({ ...opts, onError: (e) => { seen = [e.code, e.message]; } }); } catch (e) { thrown = e.code; }
      out.push({ seen, thrown });
    }
    return out;
  });
  for (const c of cases) {
    assert.equal(c.thrown, 'EN-501');
    assert.equal(c.seen[0], 'EN-501');
    // The code once, at the start: never "EN-501: EN-501: …".
    assert.ok(c.seen[1].startsWith('EN-501: ') && !c.seen[1].startsWith('EN-501: EN-'), c.seen[1]);
  }
  // An error that already carries its code is not prefixed again (as the consumer page shows it).
  const shown = await page.evaluate(async () => {
    const { EdgeNetError } = await import('/pkg/src/errors.js');
    return new EdgeNetError('EN-218', 'EN-218: the connection to the relay dropped').message;
  });
  assert.equal(shown, 'EN-218: the connection to the relay dropped');
  assert.match(cases[0].seen[1], /contribution\.cpuLimit must be a number in \(0, 1\], got 1\.5/);
  assert.match(cases[6].seen[1], /options\.contributon/);
  assert.equal(page.workers().length, 0, 'bad options start nothing');
  assert.deepEqual(page.sockets, []);
});
