// Two tabs of one origin in one browser: they share one relay connection (the leader tab runs the
// coordinator, the other reaches it over a BroadcastChannel), the consumer's search completes
// while the contributor keeps contributing, and when the leader closes the other tab takes over
// and a submission made just before still settles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, allow, stats, waitFor, sleep } from './harness.mjs';

const stack = new Stack();

before(async () => {
  await stack.relay();
  for (const name of ['n1', 'n2', 'n3']) await stack.nativeNode(name);
  await stack.launch();
});
after(() => stack.stop());

const browsers = async () => (await stack.peers()).filter((p) => p.role === 'Browser');

test('tabs share one connection, and the next tab takes over when the leader closes', async () => {
  const context = await stack.browser.newContext();
  const contributor = await stack.page('/contributor.html', { context });
  await allow(contributor);
  const { nodeId } = await waitFor('the contributor to connect', async () => {
    const v = await stats(contributor);
    return v.state === 'connected' && v.nodeId ? v : null;
  });
  const consumer = await stack.page('/consumer.html', { context });
  await consumer.getByLabel('database rows').fill('800');
  await consumer.getByLabel('dimension').fill('16');
  await consumer.getByRole('button', { name: 'Search' }).click();
  await waitFor('the consumer\'s verified result', () => consumer.locator('#workers li').count().then((n) => n === 3));
  // Over ten seconds the relay sees one connection for the identity, never two, never a swap.
  for (let i = 0; i < 20; i += 1) {
    const b = await browsers();
    assert.deepEqual(b.map((p) => p.node_id), [nodeId], `sample ${i}: ${JSON.stringify(b)}`);
    await sleep(500);
  }
  assert.equal(consumer.sockets.length, 0, 'the consumer tab opened no socket of its own');

  // A submission from the consumer, then the leader closes before it settles.
  await consumer.evaluate(() => {
    window.late = window.EdgeNet.submit({
      type: 'encryption',
      payload: { key: new Uint8Array(32).fill(8), nonce: new Uint8Array(12).fill(9), data: new Uint8Array(20000).fill(1) },
      options: { redundancy: 3 },
    }).then((r) => ({ verified: r.verified, agreeing: r.agreeing.length }), (e) => ({ error: e.message }));
  });
  const closed = Date.now();
  await contributor.close();
  const result = await consumer.evaluate(() => window.late);
  assert.deepEqual(result, { verified: true, agreeing: 3 }, JSON.stringify(result));
  await waitFor('the consumer tab to lead', async () => (consumer.sockets.length > 0 ? true : null), { timeout: 10_000 });
  const tookOver = Date.now() - closed;
  const b = await waitFor('one connection again', async () => {
    const now = await browsers();
    return now.length === 1 ? now : null;
  });
  assert.equal(b[0].node_id, nodeId, 'the same identity');
  console.log(`handover: the consumer tab had the connection ${tookOver} ms after the leader closed`);
});
