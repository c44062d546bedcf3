// A page with only the script tag contributes to the network, as a native submitter sees it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, allow, stats, waitFor, artifact } from './harness.mjs';

const stack = new Stack();
let page;

before(async () => {
  await stack.relay();
  await stack.launch();
  page = await stack.page('/contributor.html');
});
after(() => stack.stop());

test('the script tag asks consent, then completes tasks that edgenet-node submits', async () => {
  assert.equal((await stack.peers()).length, 0, 'nothing connects before consent');
  assert.equal(page.workers().length, 0, 'no Worker before consent');
  await allow(page);
  const s = await waitFor('the page to connect', async () => {
    const v = await stats(page);
    return v.state === 'connected' && v.nodeId ? v : null;
  });
  const peers = await stack.peers();
  assert.deepEqual(peers.map((p) => [p.node_id, p.role]), [[s.nodeId, 'Browser']]);

  for (const args of [['--n', '3000', '--queries', '5', '--dim', '48', '--k', '7', '--metric', 'cosine'],
    ['--kind', 'encryption', '--bytes', '50000'],
    ['--kind', 'compression', '--mode', 'int8', '--n', '400', '--dim', '37'],
    ['--kind', 'compression', '--mode', 'binary', '--n', '400', '--dim', '70']]) {
    const report = await stack.submit(['--redundancy', '1', '--seed', '3', ...args]);
    assert.deepEqual(report.agreeing, [s.nodeId], 'the browser ran it');
    assert.equal(report.matches_local, true, 'its result equals the native computation');
  }
  const after = await waitFor('the counters', async () => {
    const v = await stats(page);
    return v.tasksCompleted >= 4 && v.tasksVerified >= 4 ? v : null;
  });
  assert.ok(after.busyMs > 0);
  await page.locator('edgenet-widget').screenshot({ path: artifact('widget-light.png') });
});

test('after the relay is killed and restarted, the page reconnects by itself and runs tasks again', async () => {
  const { nodeId } = await stats(page);
  const states = [];
  await stack.restartRelay();
  const back = await waitFor('the page to reconnect', async () => {
    const s = await stats(page);
    states.push(s.state);
    return s.state === 'connected' && (await stack.peers()).some((p) => p.node_id === nodeId) ? s : null;
  }, { timeout: 30_000 });
  // The restarted relay lists the page, so it reconnected; the 'reconnecting' state may have
  // lasted less than the one-second stats cadence, so it is reported, not required.
  console.log(`states seen: ${[...new Set(states)]}`);
  assert.equal(back.nodeId, nodeId, 'same identity after reconnecting');
  const report = await stack.submit(['--redundancy', '1', '--seed', '9', '--n', '500', '--queries', '2', '--dim', '8']);
  assert.deepEqual(report.agreeing, [nodeId]);
});
