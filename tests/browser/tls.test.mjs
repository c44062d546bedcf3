// The relay over TLS (a certificate from a CA made for the test): Chromium opens the page over
// https:// and contributes over wss://, native nodes (with --ca-cert) submit to it and verify
// its submission.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, allow, stats, waitFor } from './harness.mjs';

const stack = new Stack();

before(async () => {
  await stack.relay(stack.tls());
  for (const name of ['n1', 'n2', 'n3']) await stack.nativeNode(name);
  await stack.launch();
});
after(() => stack.stop());

test('a page served over https contributes over wss:// and its submission is verified', async () => {
  const page = await stack.page('/contributor.html');
  assert.ok(page.url().startsWith('https://'), page.url());
  await allow(page);
  const s = await waitFor('the page to connect over wss://', async () => {
    const v = await stats(page);
    return v.state === 'connected' && v.nodeId ? v : null;
  }, { timeout: 30_000 });
  assert.ok(page.sockets.every((u) => u.startsWith('wss://')), `sockets: ${page.sockets}`);
  const report = await stack.submit(['--redundancy', '4', '--seed', '6', '--n', '400', '--dim', '8']);
  assert.ok(report.agreeing.includes(s.nodeId), `the page ran it: ${report.agreeing}`);
  assert.equal(report.matches_local, true);
  const r = await page.evaluate(async () => {
    const out = await window.EdgeNet.submit({
      type: 'encryption',
      payload: { key: new Uint8Array(32).fill(4), nonce: new Uint8Array(12).fill(5), data: new Uint8Array(500).fill(6) },
      options: { redundancy: 3 },
    });
    return { verified: out.verified, agreeing: out.agreeing.length };
  });
  assert.deepEqual(r, { verified: true, agreeing: 3 });
});
