// Three relays on a three-server NATS JetStream cluster. A page on relay A submits a task that
// native workers on B and C run (cross-relay tasks); a page learns the others from its directory and, when its relay is
// killed, moves to another by itself: the contributor keeps its identity and keeps working, and
// a submitting page's open search is resumed there and verified (task records).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, allow, bin, freePort, stats, waitFor } from './harness.mjs';

const stack = new Stack();
// Relays B and C beside the stack's own relay A: their processes and APIs.
const others = {};

const relayId = (dir) => execFileSync(bin('edgenet-relay'), ['--data-dir', dir, 'id']).toString().trim();

before(async () => {
  // Three nats-servers as one JetStream cluster, and three relays on it (streams R3).
  const clientPorts = [await freePort(), await freePort(), await freePort()];
  const routePorts = [await freePort(), await freePort(), await freePort()];
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  for (let i = 0; i < 3; i += 1) {
    const dir = join(stack.dir, `nats${i}`);
    mkdirSync(dir);
    const nats = spawn('nats-server', [
      '-a', '127.0.0.1', '-p', String(clientPorts[i]), '-js', '-sd', dir, '--server_name', `n${i}`,
      '--cluster_name', 'edgenet', '--cluster', `nats://127.0.0.1:${routePorts[i]}`, '--routes', routes,
    ], { stdio: 'ignore' });
    nats.exited = new Promise((r) => nats.on('exit', r));
    stack.procs.push(nats);
  }
  const nats = clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const nodeIds = ['relay', 'relay-b', 'relay-c'].map((d) => relayId(join(stack.dir, d)));
  const cluster = ['--nats', nats, '--nats-replicas', '3', '--validator', nodeIds.join(','), '--nats-directory-ttl-s', '3'];
  await stack.relay(cluster);
  for (const name of ['b', 'c']) {
    const port = await freePort();
    const proc = stack.spawn('edgenet-relay', [
      '--listen', `127.0.0.1:${port}`, '--data-dir', join(stack.dir, `relay-${name}`), '--canary-reward', '0', '--work-bits', '2',
      '--www', '/nonexistent', '--pkg', '/nonexistent', ...cluster,
    ]);
    others[name] = {
      proc,
      ws: `ws://127.0.0.1:${port}/ws`,
      api: async (path) => (await fetch(`http://127.0.0.1:${port}${path}`)).json(),
    };
  }
  await waitFor('three relays in the directory', async () => {
    const listed = await stack.api('/api/relays').catch(() => []);
    return listed.length === 3 && listed.every((r) => r.url.startsWith('ws://'));
  }, { timeout: 60_000 });
  await stack.launch();
});
const nodeOn = (relay, name) => stack.spawn('edgenet-node', ['--key-file', join(stack.dir, `${name}.key`), ...stack.nodeFlags, 'run', '--relay', relay.ws, '--no-model']);
const peersOf = async (relay) => (await relay.api('/api/peers').catch(() => [])).map((p) => p.node_id);
after(() => stack.stop());

test('a search submitted from a page at relay A is verified by native workers on relays B and C', async () => {
  const workers = [nodeOn(others.b, 'wb'), nodeOn(others.c, 'wc')];
  const [wb] = await waitFor('the worker on B', async () => {
    const ids = await peersOf(others.b);
    return ids.length === 1 ? ids : null;
  });
  const [wc] = await waitFor('the worker on C', async () => {
    const ids = await peersOf(others.c);
    return ids.length === 1 ? ids : null;
  });
  await waitFor('A to borrow them', async () => (await stack.api('/api/cluster')).borrowed_workers === 2);
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
    const r = await window.submit({ type: 'vector_search', payload: { query, database, k: 3, metric: 'dot' }, options: { redundancy: 2 } });
    const want = database.map((row, i) => [i, row.reduce((a, x, j) => a + x * query[j], 0)])
      .sort((a, b) => b[1] - a[1]).slice(0, 3).map(([i]) => i);
    return { got: r.hits[0].map((h) => h.index), want, verified: r.verified, workers: r.workers };
  });
  assert.deepEqual(out.got, out.want);
  assert.equal(out.verified, true);
  assert.deepEqual([...out.workers].sort(), [wb, wc].sort(), 'run by the workers on relays B and C');
  for (const relay of [others.b, others.c]) {
    // The page has its answer once it sent its verdict; the verdict reaches B and C through A
    // and NATS a little later (on a loaded machine, after this line ran).
    const routed = await waitFor('the verdict forwarded', async () => {
      const r = await relay.api('/api/cluster');
      return r.forwarded_in >= 4 ? r : null;
    }).catch(async () => relay.api('/api/cluster'));
    assert.ok(routed.forwarded_in >= 4, JSON.stringify(routed));
  }
  for (const w of workers) w.kill('SIGKILL');
  await waitFor('the workers gone', async () => (await peersOf(others.b)).length + (await peersOf(others.c)).length === 0);
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
  const wb1 = nodeOn(others.b, 'wb1');
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
  await waitFor('B and C to hold the task\'s record', async () => {
    const known = await Promise.all([others.b, others.c].map(async (r) => (await r.api('/api/cluster')).task_records.known));
    return known.every((n) => n >= 1);
  });

  // Give them a moment to read the directory, then kill their relay.
  await new Promise((r) => setTimeout(r, 500));
  stack.relayProc.kill('SIGKILL');
  const moved = await waitFor('the page on relay B or C', async () => {
    const s = await stats(page);
    const there = [...await peersOf(others.b), ...await peersOf(others.c)].includes(first.nodeId);
    return s.state === 'connected' && there ? s : null;
  }, { timeout: 30_000 });
  assert.equal(moved.nodeId, first.nodeId, 'the same identity');
  assert.notEqual(moved.relay, first.relay, 'another relay');
  assert.equal(others.b.proc.exitCode, null);
  assert.equal(others.c.proc.exitCode, null);

  // The submitting page resumed its search at B or C, which took it over once A went quiet;
  // with a third worker it is verified there.
  const wb2 = nodeOn(others.b, 'wb2');
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
  const resumed = await Promise.all([others.b, others.c].map(async (r) => (await r.api('/api/cluster')).task_records.resumed));
  assert.equal(resumed[0] + resumed[1], 1, 'taken over once');
  wb1.kill('SIGKILL');
  wb2.kill('SIGKILL');
  await submitter.close();
});
