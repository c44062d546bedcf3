// A shared vector collection from a page: EdgeNet.submit creates it (the page's identity owns
// it), fills it and searches it on three native holders (two shards, two replicas each); the
// hits are checked against brute force, bad input gets its code with nothing stored lost, a
// holder killed between searches changes no answer, a page that never uses a collection never
// downloads the collections module, and on a relay that prices collections a page pays the
// deposit and the published prices from its own credits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Stack, allow, waitFor } from './harness.mjs';

const stack = new Stack();
const holders = [];
const DIM = 16;
// 3,000 vectors in CI; EDGENET_PAGE_COLLECTION_N=100000 for the full size (docs/testing.md).
const N = Number(process.env.EDGENET_PAGE_COLLECTION_N || 3_000);
const NQ = 40;
let owner;
let requested;

// Deterministic clustered rows (xorshift), the data and held-out queries from one draw.
function rows(n, dim, seed) {
  let x = seed >>> 0;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296 - 0.5; };
  const centres = Array.from({ length: 12 }, () => Array.from({ length: dim }, next));
  return Array.from({ length: n }, (_, i) => centres[i % 12].map((c) => c + 0.25 * next()));
}
const cosine = (a, b) => {
  let d = 0; let na = 0; let nb = 0;
  for (let i = 0; i < a.length; i += 1) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
};
const exactTop = (data, q, k) => data.map((v, id) => [cosine(v, q), id]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map((e) => e[1]);

const all = rows(N + NQ, DIM, 7);
const data = all.slice(0, N);
const queries = all.slice(N);

before(async () => {
  // The uptime bonus gives the paying page (last test) credits to spend. Collections are free
  // here until that test, which restarts the relay with its prices on.
  await stack.relay(['--handover-grace-ms', '1500', '--uptime-period-ms', '700', '--uptime-bonus', '250000', '--free-collections']);
  for (const name of ['h1', 'h2', 'h3']) {
    holders.push(await stack.nativeNode(name, { args: ['--storage', '4000000000', '--data-dir', join(stack.dir, name)] }));
  }
  await stack.launch();
  owner = await stack.page('/consumer.html');
  requested = [];
  owner.on('request', (r) => requested.push(r.url()));
});
after(() => stack.stop());

const submit = (page, task) => page.evaluate(async (t) => {
  try {
    return { ok: await EdgeNet.submit(t) };
  } catch (e) {
    return { code: e.code, message: e.message };
  }
}, task);

let collection;

test('a page creates a collection, fills it and finds the nearest vectors', async () => {
  // Before its first collection task, the page has not fetched the collections module.
  await owner.evaluate(() => EdgeNet.submit({ type: 'vector_search', payload: { query: [1, 0], database: [[1, 0], [0, 1]], k: 1 }, options: { redundancy: 1 } }));
  assert.ok(!requested.some((u) => u.includes('collections')), 'no collections module before a collection task');

  const created = await submit(owner, { type: 'collection_create', payload: { name: 'docs', dim: DIM, shards: 2, replicas: 2 } });
  assert.ok(created.ok, JSON.stringify(created));
  collection = created.ok.collection;
  assert.match(collection, /^[0-9a-f]{32}$/);
  const view = await stack.api(`/api/collections/${collection}`);
  assert.equal(view.shards.length, 2);

  const ids = data.map((_, i) => i);
  const inserted = await submit(owner, { type: 'vector_insert', payload: { collection, ids, vectors: data } });
  assert.ok(inserted.ok, JSON.stringify(inserted));
  assert.equal(inserted.ok.inserted, N);
  assert.equal(inserted.ok.verified, true);
  assert.equal((await stack.api(`/api/collections/${collection}`)).vectors, N);
  assert.equal(requested.filter((u) => u.endsWith('edgenet_collections_bg.wasm')).length, 1, 'the module loads once');

  const found = await submit(owner, { type: 'vector_search', payload: { collection, queries, k: 10 } });
  assert.ok(found.ok, JSON.stringify(found));
  assert.equal(found.ok.hits.length, NQ);
  let hit = 0;
  queries.forEach((q, i) => {
    const truth = exactTop(data, q, 10);
    hit += found.ok.hits[i].filter((h) => truth.includes(h.id)).length;
    assert.ok(Math.abs(found.ok.hits[i][0].score - cosine(data[found.ok.hits[i][0].id], q)) < 1e-4, 'an honest score');
  });
  assert.ok(hit / (NQ * 10) >= 0.95, `recall@10 ${hit / (NQ * 10)}`);
  for (const s of Object.values(found.ok.shards)) assert.equal(s.agreeing.length, 2, 'both replicas agree');
});

test('bad input gets its code and loses nothing', async () => {
  const one = (ids, vectors) => submit(owner, { type: 'vector_insert', payload: { collection, ids, vectors } });
  assert.equal((await one([N], [[1, 2, 3]])).code, 'EN-404', 'a vector of the wrong dimension');
  assert.equal((await one([N, N], [data[0], data[1]])).code, 'EN-405', 'an id twice in one call');
  assert.equal((await one([5], [data[9]])).code, 'EN-405', 'an id already stored');
  assert.equal((await one([N], [data[0].map(() => NaN)])).code, 'EN-401');
  assert.equal((await submit(owner, { type: 'vector_insert', payload: { collection: 'nope', ids: [1], vectors: [data[0]] } })).code, 'EN-502');
  const unknown = await submit(owner, { type: 'vector_search', payload: { collection: '0'.repeat(32), query: data[0] } });
  assert.equal(unknown.code, 'EN-230');
  assert.equal((await submit(owner, { type: 'vector_search', payload: { collection, query: [1, 2] } })).code, 'EN-404');
  assert.equal((await submit(owner, { type: 'vector_insert', payload: { collection, ids: [N], vectors: [data[0]] }, options: { maxCredits: 0.000001 } })).code, 'EN-502', 'more than maxCredits');
  // Someone else's page may search the collection but not insert into it.
  const other = await stack.page('/consumer.html');
  assert.equal((await submit(other, { type: 'vector_insert', payload: { collection, ids: [N + 1], vectors: [data[0]] } })).code, 'EN-192');
  const theirs = await submit(other, { type: 'vector_search', payload: { collection, query: data[5], k: 1 } });
  assert.equal(theirs.ok.hits[0][0].id, 5);
  // Nothing was lost or added.
  assert.equal((await stack.api(`/api/collections/${collection}`)).vectors, N);
});

test('a holder killed between searches changes no answer', async () => {
  const search = async () => {
    const r = await submit(owner, { type: 'vector_search', payload: { collection, queries: queries.slice(0, 10), k: 5 }, options: { timeout: 20_000 } });
    assert.ok(r.ok, JSON.stringify(r));
    return r.ok.hits;
  };
  const before = await search();
  const victim = holders[0];
  victim.kill('SIGKILL');
  await victim.exited;
  for (let i = 0; i < 3; i += 1) assert.deepEqual(await search(), before);
  // The shards it held are copied to the third holder once its grace is over.
  await waitFor('every shard on two live ready holders', async () => {
    const view = await stack.api(`/api/collections/${collection}`);
    return view.shards.every((s) => s.holders.filter((h) => h.ready && h.online).length === 2);
  }, { timeout: 60_000 });
  assert.deepEqual(await search(), before);
});

test('a relay that prices collections takes a deposit and the published prices from the page\'s own credits', async () => {
  // The relay's default: creating escrows a deposit, inserts and searches pay their prices. A
  // short storage term pays the deposit out to the holders within the test.
  stack.relayExtra = [...stack.relayExtra.filter((a) => a !== '--free-collections'), '--storage-term-ms', '4000'];
  await stack.restartRelay();
  await waitFor('the two live holders back', async () => (await stack.peers()).filter((p) => p.storage_bytes > 0).length === 2, { timeout: 30_000 });
  const page = await stack.page();
  await page.route('**/paid-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">
        import { init, submit } from 'edgenet';
        window.node = init({ siteId: 'paid-collections' });
        window.EdgeNet = { submit };
      </script>`,
  }));
  await page.goto(`${stack.http}/paid-test.html`);
  await allow(page);
  const me = (await waitFor('credits to spend', async () => {
    const v = await page.evaluate(async () => (await window.node).stats());
    return v.credits >= 2 ? v : null;
  }, { timeout: 30_000 })).nodeId;
  const account = () => stack.api(`/api/ledger/${me}`);

  const create = { type: 'collection_create', payload: { name: 'paid', dim: DIM, shards: 1, replicas: 2 } };
  assert.equal((await submit(page, create)).code, 'EN-238', 'a creation that pays nothing');
  // 1 shard × 2 replicas × 0.07 credit.
  const made = await submit(page, { ...create, options: { maxCredits: 1 } });
  assert.ok(made.ok, JSON.stringify(made));
  assert.equal(made.ok.cost, 0.14);
  assert.equal((await account()).escrowed, 140_000);
  const paid = made.ok.collection;
  const ids = Array.from({ length: 100 }, (_, i) => i);
  // More than maxCredits allows at the published prices: refused before anything is escrowed.
  const over = await submit(page, { type: 'vector_insert', payload: { collection: paid, ids, vectors: data.slice(0, 100) }, options: { maxCredits: 0.5 } });
  assert.equal(over.code, 'EN-502', over.message);
  assert.equal((await account()).spent, 0);
  const free = await submit(page, { type: 'vector_insert', payload: { collection: paid, ids, vectors: data.slice(0, 100) } });
  assert.equal(free.code, 'EN-238', 'an insert that pays nothing');

  // 100 vectors × 0.005 credit × 2 replicas, then 10 queries × 0.001 × 2 replicas × 1 shard.
  const inserted = await submit(page, { type: 'vector_insert', payload: { collection: paid, ids, vectors: data.slice(0, 100) }, options: { maxCredits: 5 } });
  assert.ok(inserted.ok, JSON.stringify(inserted));
  assert.equal(inserted.ok.cost, 1);
  const found = await submit(page, { type: 'vector_search', payload: { collection: paid, queries: data.slice(0, 10), k: 1 }, options: { maxCredits: 1 } });
  assert.ok(found.ok, JSON.stringify(found));
  assert.equal(found.ok.cost, 0.02);
  found.ok.hits.forEach((h, i) => assert.equal(h[0].id, i));
  // The relay pays the agreeing holders from the page's escrows as the verdicts arrive, and the
  // deposit to the two holders at the end of the storage term.
  const after = await waitFor('the payments', async () => {
    const a = await account();
    return a.spent === 1_020_000 + 140_000 && a.escrowed === 0 ? a : null;
  });
  assert.equal(after.frozen, false);
});
