// The relay dashboard (www/dashboard.html) in Chromium: after real tasks from real native nodes,
// its uPlot charts have points for tasks by kind, peers by role, credits and latency, and its
// leaderboard lists the contributors; a screenshot is kept in tests/artifacts/dashboard.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, Stack, waitFor } from './harness.mjs';

const stack = new Stack();

before(async () => {
  // Uptime mints every half second, so that the leaderboard has contributors.
  await stack.relay(['--uptime-period-ms', '500', '--uptime-bonus', '100000']);
  for (const name of ['d1', 'd2', 'd3']) await stack.nativeNode(name);
  await stack.launch();
});
after(() => stack.stop());

test('the dashboard charts real tasks and shows the leaderboard', async () => {
  const page = await stack.page();
  await page.goto(`${stack.http}/dashboard.html`);
  await waitFor('the event stream', async () => (await page.locator('#status').textContent()).startsWith('live'));
  for (const seed of ['1', '2', '3']) {
    const report = await stack.submit(['--seed', seed, '--redundancy', '3']);
    assert.equal(report.agreeing.length, 3, JSON.stringify(report));
  }
  const p = await waitFor('the tasks charted', async () => {
    const v = await page.evaluate(() => window.edgenetDashboard.points());
    return v.tasks.sums[0] > 0 && v.latency.sums[0] > 0 ? v : null;
  });
  assert.ok(p.tasks.points >= 1, JSON.stringify(p));
  assert.ok(p.peers.sums[1] > 0, 'native peers charted');
  assert.equal(p.peers.sums[0], 0, 'no browser peers');
  assert.ok(p.credits.sums[0] > 0, 'credits minted charted');
  assert.equal(p.failures.sums[0] + p.failures.sums[1], 0, 'no failures');
  assert.ok((await page.locator('canvas').count()) >= 5, 'five charts drawn');
  const rows = await waitFor('the leaderboard', async () => {
    const n = await page.evaluate(() => window.edgenetDashboard.leaderboardRows());
    return n >= 3 ? n : null;
  }, { timeout: 30_000 });
  assert.ok(rows >= 3);
  assert.match(await page.locator('#contributors').textContent(), /\(\d+ contributors\)/);
  mkdirSync(join(ROOT, 'tests/artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'tests/artifacts/dashboard.png'), fullPage: true });
});
