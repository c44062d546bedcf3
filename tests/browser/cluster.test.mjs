// A page on one relay of a cluster learns the others from its directory and, when its relay is
// killed, moves to another by itself: the contributor keeps its identity and keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, allow, bin, freePort, stats, waitFor } from './harness.mjs';

const stack = new Stack();
let relayB;
let apiB;

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
  await waitFor('both relays in the directory', async () => {
    const listed = await stack.api('/api/relays').catch(() => []);
    return listed.length === 2 && listed.every((r) => r.url.startsWith('ws://'));
  }, { timeout: 60_000 });
  await stack.launch();
});
after(() => stack.stop());

test('a page moves to the cluster\'s other relay when its own is killed', async () => {
  const page = await stack.page('/contributor.html');
  await allow(page);
  const first = await waitFor('the page to connect', async () => {
    const s = await stats(page);
    return s.state === 'connected' && s.nodeId ? s : null;
  });
  // Give it a moment to read the directory, then kill its relay.
  await waitFor('the page listed at A', async () => (await stack.peers()).some((p) => p.node_id === first.nodeId));
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
});
