// A page on one relay of a cluster submits a task that a native worker on the other relay runs
// (cross-relay tasks); a page learns the others from its directory and, when its relay is
// killed, moves to another by itself: the contributor keeps its identity and keeps working, and
// a submitting page's open search is resumed there and verified (task records).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, allow, bin, freePort, stats, waitFor } from './harness.mjs';

const stack = new Stack();
let relayB;
let apiB;
let wsB;

const relayId = (dir) => execFileSync(bin('edgenet-relay'), ['--data-dir', dir, 'id']).toString().trim();

before(async () => {
  const natsPort = await freePort();
  mkdirSync(join(stack.dir, 'nats'));
  const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(stack.dir, 'nats')], { stdio: 'ignore' });
  nats.exited = new Promise((r) => nats.on('exit', r));
  stack.procs.push(nats);
  const nodeIds = [relayId(join(stack.dir, 'relay')), relayId(join(stack.dir, 'relay-b'))];
  const cluster = ['--nats', `nats://127.0.0.1:${natsPort}`, '--validator', nodeIds.join(','), '--nats-directory-ttl-s', '3'];
  await stack.relay(cluster);
  const portB = await freePort();
  relayB = stack.spawn('edgenet-relay', [
    '--listen', `127.0.0.1:${portB}`, '--data-dir', join(stack.dir, 'relay-b'), '--canary-reward', '0', '--work-bits', '2',
    '--www', '/nonexistent', '--pkg', '/nonexistent', ...cluster,
  ]);
  apiB = async (path) => (await fetch(`http://127.0.0.1:${portB}${path}`)).json();
  wsB = `ws://127.0.0.1:${portB}/ws`;
  await waitFor('both relays in the directory', async () => {
    const listed = await stack.api('/api/relays').catch(() => []);
    return listed.length === 2 && listed.every((r) => r.url.startsWith('ws://'));
  }, { timeout: 60_000 });
  await stack.launch();
});
after(() => stack.stop());

test('a search submitted from a page at relay A is run by a native worker on relay B', async () => {
  const worker = stack.spawn('edgenet-node', ['--key-file', join(stack.dir, 'wb.key'), ...stack.nodeFlags, 'run', '--relay', wsB, '--no-model']);
  const [wb] = await waitFor('the worker on B', async () => {
    const ids = (await apiB('/api/peers')).map((p) => p.node_id);
    return ids.length === 1 ? ids : null;
  });
  await waitFor('A to borrow it', async () => (await stack.api('/api/cluster')).borrowed_workers === 1);
  assert.equal((await stack.peers()).length, 0, 'A has no worker of its own');
  const page = await stack.page();
  await page.route('**/cross-relay.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">import { submit } from 'edgenet'; window.submit = submit;</script>`,
  }));
  await page.goto(`${stack.http}/cross-relay.html`);
  await waitFor('the module', () => page.evaluate(() => Boolean(window.submit)));
  const out = await page.evaluate(async () => {
    const rand = (n, s) => Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
    const database = Array.from({ length: 200 }, (_, i) => rand(8, i));
    const query = rand(8, 1000);
    const r = await window.submit({ type: 'vector_search', payload: { query, database, k: 3, metric: 'dot' }, options: { redundancy: 1 } });
    const want = database.map((row, i) => [i, row.reduce((a, x, j) => a + x * query[j], 0)])
      .sort((a, b) => b[1] - a[1]).slice(0, 3).map(([i]) => i);
    return { got: r.hits[0].map((h) => h.index), want, verified: r.verified, workers: r.workers };
  });
  assert.deepEqual(out.got, out.want);
  assert.equal(out.verified, true);
  assert.deepEqual(out.workers, [wb], 'run by the worker on relay B');
  const routed = await apiB('/api/cluster');
  assert.ok(routed.forwarded_in >= 4, JSON.stringify(routed));
  worker.kill('SIGKILL');
  await page.close();
});

test('a page moves to the cluster\'s other relay when its own is killed, and its open search goes on there', async () => {
  // A contributing page at A, and one worker on B: a search at A that needs three stays open
  // until A dies.
  const page = await stack.page('/contributor.html');
  await allow(page);
  const first = await waitFor('the page to connect', async () => {
    const s = await stats(page);
    return s.state === 'connected' && s.nodeId ? s : null;
  });
  await waitFor('the page listed at A', async () => (await stack.peers()).some((p) => p.node_id === first.nodeId));
  const nodeOnB = (name) => stack.spawn('edgenet-node', ['--key-file', join(stack.dir, `${name}.key`), ...stack.nodeFlags, 'run', '--relay', wsB, '--no-model']);
  const wb1 = nodeOnB('wb1');
  await waitFor('A to borrow the worker on B', async () => (await stack.api('/api/cluster')).borrowed_workers === 1);
  const submitter = await stack.page();
  await submitter.route('**/resume.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">import { submit } from 'edgenet'; window.submit = submit;</script>`,
  }));
  await submitter.goto(`${stack.http}/resume.html`);
  await waitFor('the module', () => submitter.evaluate(() => Boolean(window.submit)));
  await submitter.evaluate(() => {
    const rand = (n, s) => Array.from({ length: n }, (_, i) => Math.sin(i * 7.1 + s) * 0.5);
    window.database = Array.from({ length: 100 }, (_, i) => rand(8, i));
    window.query = rand(8, 500);
    window.pending = window.submit({ type: 'vector_search', payload: { query: window.query, database: window.database, k: 3, metric: 'dot' }, options: { redundancy: 3, timeout: 60000 } })
      .then((r) => ({ got: r.hits[0].map((h) => h.index), verified: r.verified, workers: r.workers }), (e) => ({ error: `${e.code}: ${e.message}` }));
  });
  await waitFor('B to hold the task\'s record', async () => (await apiB('/api/cluster')).task_records.known >= 1);

  // Give them a moment to read the directory, then kill their relay.
  await new Promise((r) => setTimeout(r, 500));
  stack.relayProc.kill('SIGKILL');
  const moved = await waitFor('the page on relay B', async () => {
    const s = await stats(page);
    const onB = (await apiB('/api/peers').catch(() => [])).some((p) => p.node_id === first.nodeId);
    return s.state === 'connected' && onB ? s : null;
  }, { timeout: 30_000 });
  assert.equal(moved.nodeId, first.nodeId, 'the same identity');
  assert.notEqual(moved.relay, first.relay, 'another relay');
  assert.equal(relayB.exitCode, null);

  // The submitting page resumed its search at B, which took it over once A went quiet; with a
  // third worker it is verified there.
  const wb2 = nodeOnB('wb2');
  const out = await submitter.evaluate(async () => {
    const r = await window.pending;
    const want = window.database.map((row, i) => [i, row.reduce((a, x, j) => a + x * window.query[j], 0)])
      .sort((a, b) => b[1] - a[1]).slice(0, 3).map(([i]) => i);
    return { ...r, want };
  });
  assert.equal(out.error, undefined, out.error);
  assert.equal(out.verified, true);
  assert.deepEqual(out.got, out.want);
  assert.equal(out.workers.length, 3);
  assert.ok(out.workers.includes(first.nodeId), 'the page that moved ran it too');
  assert.equal((await apiB('/api/cluster')).task_records.resumed, 1);
  wb1.kill('SIGKILL');
  wb2.kill('SIGKILL');
  await submitter.close();
});
