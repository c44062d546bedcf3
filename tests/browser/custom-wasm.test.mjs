// custom_wasm in Chromium: a page whose site lists custom_wasm runs submitters' modules on the
// browser's own engine, in a sandbox Worker, and its results agree bit for bit, fuel included,
// with two native nodes on wasmtime: the Rust guest's outputs, a NaN guest's bits, an endless
// loop ended by fuel, a recursion ended by the depth bound, a division by zero. And a page submits
// the kind itself, run by the native nodes. A memory bomb stops at the task's limit everywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, Stack, allow, waitFor } from './harness.mjs';

const stack = new Stack();
const guests = {};

// The Rust example guest (built for wasm32 as the Rust tests build it) and the WAT guests.
function buildGuests(dir) {
  const target = join(ROOT, 'target', 'guests');
  execFileSync('cargo', ['build', '-q', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'edgenet-guest', '--example', 'word_count'],
    { cwd: ROOT, env: { ...process.env, CARGO_TARGET_DIR: target }, stdio: 'inherit' });
  guests.wordCount = join(target, 'wasm32-unknown-unknown', 'release', 'examples', 'word_count.wasm');
  for (const name of ['reverse', 'nan', 'bomb']) {
    guests[name] = join(dir, `${name}.wasm`);
    execFileSync('cargo', ['run', '-q', '-p', 'edgenet-sandbox', '--example', 'wat2wasm', '--',
      join(ROOT, 'crates', 'sandbox', 'guests', `${name}.wat`), guests[name]], { cwd: ROOT, stdio: 'inherit' });
  }
}

// A folder of input files, in the order given.
function inputs(name, list) {
  const dir = join(stack.dir, name);
  mkdirSync(dir, { recursive: true });
  list.forEach((bytes, i) => writeFileSync(join(dir, `${String(i).padStart(3, '0')}.in`), bytes));
  return dir;
}

let page;
let pageId;

before(async () => {
  await stack.relay();
  buildGuests(stack.dir);
  await stack.nativeNode('n1');
  await stack.nativeNode('n2');
  await stack.launch();
  page = await stack.page();
  await page.route('**/custom-wasm-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">
        import { init, submit } from 'edgenet';
        window.node = init({ siteId: 'custom-wasm', contribution: { tasks: ['custom_wasm'] } });
        window.submit = submit;
      </script>`,
  }));
  await page.goto(`${stack.http}/custom-wasm-test.html`);
  await allow(page);
  await waitFor('the page to list custom_wasm', async () => {
    const peers = await stack.peers();
    const browser = peers.find((p) => String(p.role).toLowerCase() === 'browser' && p.kernels.includes('custom_wasm'));
    pageId = browser && browser.node_id;
    return Boolean(browser);
  }, { timeout: 30_000 });
});
after(() => stack.stop());

test('a page runs the Rust guest and agrees with two native nodes, bit for bit', async () => {
  const texts = ['the cat and the hat', 'δ δ δelta, the end; the END', '', 'a b a'];
  const dir = inputs('words', texts.map((t) => Buffer.from(t)));
  const report = await stack.submit(['--kind', 'custom-wasm', '--module', guests.wordCount, '--inputs', dir,
    '--redundancy', '3', '--fuel', '50000000', '--memory', '32']);
  assert.equal(report.verified, true, JSON.stringify(report));
  assert.deepEqual(report.outvoted, []);
  assert.equal(report.agreeing.length, 3);
  assert.ok(report.agreeing.includes(pageId), 'the page ran it');
  assert.equal(report.runs[1].output, 'END 1\nend 1\nthe 2\nδ 2\nδelta 1\n');
  assert.equal(report.matches_local, true);
});

test('traps, fuel and NaN bits are the same in Chromium as on wasmtime', async () => {
  // An answer, an endless loop (ends by fuel), a recursion without end (the depth bound), a
  // division by zero.
  const dir = inputs('reverse', [Buffer.from('abc'), Buffer.from([0xff]), Buffer.from([0xfe]), Buffer.from([0xfd])]);
  const report = await stack.submit(['--kind', 'custom-wasm', '--module', guests.reverse, '--inputs', dir,
    '--redundancy', '3', '--fuel', '200000', '--memory', '1']);
  assert.deepEqual(report.outvoted, [], JSON.stringify(report));
  assert.ok(report.agreeing.includes(pageId));
  assert.deepEqual(report.runs.map((r) => r.output ?? r.trap), ['cba', 'EN-611', 'EN-612', 'EN-610']);
  assert.ok(report.runs[1].fuel_used >= 200_000);

  const nan = await stack.submit(['--kind', 'custom-wasm', '--module', guests.nan, '--input', join(dir, '000.in'), '--redundancy', '3']);
  assert.deepEqual(nan.outvoted, [], JSON.stringify(nan));
  assert.ok(nan.agreeing.includes(pageId));
  assert.equal(nan.runs[0].output_hex, '0000c07f0000c07f', 'canonical NaNs');

  // A memory bomb stops at the task's limit: 2 MiB, 32 pages, everywhere.
  const bomb = await stack.submit(['--kind', 'custom-wasm', '--module', guests.bomb, '--input', join(dir, '000.in'), '--redundancy', '3', '--memory', '2']);
  assert.deepEqual(bomb.outvoted, [], JSON.stringify(bomb));
  assert.ok(bomb.agreeing.includes(pageId));
  assert.equal(bomb.runs[0].output_hex ?? Buffer.from(bomb.runs[0].output).toString('hex'), '20000000');
});

test('a page submits custom_wasm and gets every run back in order', async () => {
  const module = [...readFileSync(guests.wordCount)];
  const done = await page.evaluate(async (bytes) => {
    try {
      const r = await window.submit({ type: 'custom_wasm', payload: { module: new Uint8Array(bytes), inputs: ['b a b', 'x'], fuel: 10_000_000, memoryMib: 32 }, options: { redundancy: 2 } });
      return { ...r, runs: r.runs.map((x) => ({ output: x.output && new TextDecoder().decode(x.output), trap: x.trap, fuelUsed: x.fuelUsed })) };
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, module);
  assert.equal(done.verified, true, JSON.stringify(done));
  assert.deepEqual(done.runs.map((r) => r.output), ['a 1\nb 2\n', 'x 1\n']);
  assert.ok(done.runs.every((r) => r.fuelUsed > 0));
  assert.equal(done.fuelUsed, done.runs[0].fuelUsed + done.runs[1].fuelUsed);
  assert.ok(!done.agreeing.includes(pageId), 'a page does not run its own task');

  // Bad input gets its code, and nothing breaks.
  const bad = await page.evaluate(async () => {
    const tries = [
      { module: 'x', inputs: 'not a list' },
      { module: new Uint8Array(4), input: 'a', fuel: 0 },
      { module: new Uint8Array(4), input: 'a', memoryMib: 300 },
    ];
    const out = [];
    for (const payload of tries) {
      try {
        await window.submit({ type: 'custom_wasm', payload });
        out.push('accepted');
      } catch (e) {
        out.push(e.code);
      }
    }
    return out;
  });
  assert.deepEqual(bad, ['EN-502', 'EN-502', 'EN-502']);
});
