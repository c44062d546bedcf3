// The browser's GPU path: with GPU consent, one compute Worker loads the WebGPU module (SwiftShader
// in headless Chromium), reports its backend choice, and runs vector searches on the GPU whose
// results a native submitter checks against its own computation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, stats, waitFor } from './harness.mjs';

const stack = new Stack();

before(async () => {
  await stack.relay();
  await stack.launch({ webgpu: true });
});
after(() => stack.stop());

// A page with the script tag and `data-backend`, consent given with the GPU box ticked or not.
async function contributor(backend, { gpu }) {
  const page = await stack.page();
  await page.route('**/gpu-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script src="/pkg/dist/edgenet.min.js" data-site-id="gpu-test" data-backend="${backend}"></script>`,
  }));
  await page.goto(`${stack.http}/gpu-test.html`);
  const dialog = page.getByRole('dialog', { name: 'Share idle computing power?' });
  if (gpu) await dialog.getByLabel('Graphics processor (GPU)').check();
  await dialog.getByRole('button', { name: 'Allow' }).click();
  return page;
}

test('backend "gpu": searches run on WebGPU and match the native computation', async (t) => {
  const page = await contributor('gpu', { gpu: true });
  const s = await waitFor('the backend choice', async () => {
    const v = await stats(page);
    return v.state === 'connected' && v.backend ? v : null;
  }, { timeout: 60_000 });
  if (!s.backend.adapter) {
    t.skip(`no WebGPU adapter in this Chromium: ${s.backend.reason}`);
    return;
  }
  assert.equal(s.backend.single, 'gpu');
  assert.equal(s.backend.batch, 'gpu');
  assert.deepEqual(s.backend.measurements.map((m) => [m.backend, m.queries]),
    [['wasm-simd128', 1], ['wasm-simd128', 16], ['gpu', 1], ['gpu', 16]]);
  for (const args of [
    ['--n', '3000', '--queries', '3', '--dim', '48', '--k', '7', '--metric', 'cosine'],
    ['--n', '2500', '--queries', '9', '--dim', '37', '--k', '20', '--metric', 'l2'],
    ['--n', '1', '--queries', '1', '--dim', '5', '--k', '4', '--metric', 'dot'],
  ]) {
    const report = await stack.submit(['--redundancy', '1', '--seed', '5', ...args]);
    assert.deepEqual(report.agreeing, [s.nodeId], `the browser ran ${args.join(' ')}`);
    assert.equal(report.matches_local, true, 'its GPU result equals the native computation');
  }
  const after = await waitFor('the GPU counter', async () => {
    const v = await stats(page);
    return v.tasksOnGpu >= 3 ? v : null;
  });
  assert.equal(after.tasksOnGpu, after.tasksCompleted, 'every search ran on the GPU');
  // Other task kinds stay on the CPU path.
  const enc = await stack.submit(['--redundancy', '1', '--kind', 'encryption', '--bytes', '20000']);
  assert.deepEqual(enc.agreeing, [s.nodeId]);
  const last = await waitFor('the encryption task', async () => {
    const v = await stats(page);
    return v.tasksCompleted >= 4 ? v : null;
  });
  assert.equal(last.tasksOnGpu, 3);
  await page.close();
});

test('without GPU consent the GPU module is never fetched', async () => {
  const fetched = [];
  stack.browser.contexts().forEach((c) => c.on('request', (r) => fetched.push(r.url())));
  const p = await contributor('auto', { gpu: false });
  p.context().on('request', (r) => fetched.push(r.url()));
  const s = await waitFor('the page to connect', async () => {
    const v = await stats(p);
    return v.state === 'connected' ? v : null;
  });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await stats(p)).backend, null);
  assert.ok(!fetched.some((u) => u.includes('gpu')), `fetched: ${fetched.filter((u) => u.includes('gpu'))}`);
  assert.ok(s.workers >= 1);
  await p.close();
});
