// Credits in the browser: the relay mints the uptime bonus to a contributing page (a short period
// here), and stats(), the widget, onCredit and `GET /api/ledger/{id}` all show the same ledger;
// the minted entries are kept in IndexedDB. A page spends its credits on a paid submit(): it
// writes the escrow into its own chain and the workers are paid from it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, allow, waitFor } from './harness.mjs';

const stack = new Stack();

before(async () => {
  await stack.relay(['--uptime-period-ms', '700', '--uptime-bonus', '250000']);
  for (const name of ['n1', 'n2']) await stack.nativeNode(name);
  await stack.launch();
});

const account = async (id) => (await fetch(`${stack.http}/api/ledger/${id}`)).json();
const keptKeys = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('edgenet');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('ledger').objectStore('ledger').getAllKeys();
    req.onsuccess = () => resolve(req.result);
  };
}));
after(() => stack.stop());

test('uptime credits reach stats(), the widget and onCredit, from the same ledger as the API', async () => {
  const page = await stack.page();
  await page.route('**/credits-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <div id="w"></div>
      <script type="module">
        import { init, createWidget } from 'edgenet';
        window.credited = [];
        createWidget({ container: document.getElementById('w') });
        window.EdgeNetWidget = createWidget;
        window.node = init({ siteId: 'credits-test', onCredit: (c, total) => window.credited.push([c, total]) });
      </script>`,
  }));
  await page.goto(`${stack.http}/credits-test.html`);
  await allow(page);
  const s = await waitFor('uptime credited', async () => {
    const v = await page.evaluate(async () => (await window.node).stats());
    return v.credits >= 0.5 ? v : null;
  });
  const api = await (await fetch(`${stack.http}/api/ledger/${s.nodeId}`)).json();
  assert.ok(api.balance >= s.credits * 1e6, `the API (${api.balance}) is at least what the page showed`);
  // Each period's bonus (0.25) times the early-adopter multiplier (up to 10x), paid with a proof
  // of work the page solved in wasm when the relay asked.
  assert.ok(api.balance >= 2_500_000, `at least one proven period: ${api.balance}`);
  assert.equal(api.earned, api.balance, 'nothing spent');

  const credited = await page.evaluate(() => window.credited);
  assert.ok(credited.length >= 1, 'onCredit was called');
  const sum = credited.reduce((a, [c]) => a + c, 0);
  const [, lastTotal] = credited[credited.length - 1];
  assert.ok(Math.abs(sum - lastTotal) < 1e-9, `onCredit amounts (${sum}) add up to the balance (${lastTotal})`);
  assert.ok(credited[0][0] >= 0.25, 'each credit is at least a period');

  const shown = await waitFor('the widget to show credits', async () => {
    const t = await page.locator('edgenet-widget [data-k=credits]').textContent();
    return t && t !== '—' ? t : null;
  });
  assert.ok(Number(shown.replace(/,/g, '')) >= 0.5, `widget shows ${shown}`);

  // The rank among the relay's contributors (the ranking is shared for 5 s, so it can lag the
  // first credit) and the early-adopter multiplier, as the API has them.
  const ranked = await waitFor('a rank', async () => {
    const v = await page.evaluate(async () => (await window.node).stats());
    return v.rank !== null ? v : null;
  }, { timeout: 30_000 });
  const me = await account(ranked.nodeId);
  assert.equal(ranked.contributors, me.contributors);
  assert.ok(ranked.rank >= 1 && ranked.rank <= me.contributors, JSON.stringify(ranked));
  assert.equal(ranked.multiplier, me.multiplier_ppm / 1e6);
  assert.ok(ranked.multiplier > 1 && ranked.multiplier <= 10, `early adopters: ${ranked.multiplier}`);
  const rankText = await waitFor('the widget to show the rank', async () => {
    const t = await page.locator('edgenet-widget [data-k=rank]').textContent();
    return t && t.startsWith('#') ? t : null;
  });
  assert.match(rankText, /^#\d+ of \d+$/);
  assert.match(await page.locator('edgenet-widget [data-k=multiplier]').textContent(), /^\d+\.\d× \(early adopter\)$/);

  // createWidget's row options: the leaderboard rows hidden, the credits kept; bad values refused.
  const rows = await page.evaluate(() => {
    const el = window.EdgeNetWidget({ container: 'body', showLeaderboard: false });
    const visible = (k) => el.shadowRoot.querySelector(`[data-k=${k}]`).checkVisibility();
    let refused = null;
    try { window.EdgeNetWidget({ container: 'body', showCredits: 'yes' }); } catch (e) { refused = e.code; }
    return { rank: visible('rank'), multiplier: visible('multiplier'), credits: visible('credits'), refused };
  });
  assert.deepEqual(rows, { rank: false, multiplier: false, credits: true, refused: 'EN-501' });

  // The entries the relay sent are kept in IndexedDB, keyed by their hash.
  const kept = await keptKeys(page);
  assert.ok(kept.length >= 1, 'minted entries kept');
  assert.ok(kept.every((k) => /^[0-9a-f]{64}$/.test(k)));
});

test('a paid submit() escrows from the page\'s own credits and pays the workers from it', async () => {
  const page = await stack.page();
  await page.route('**/paid-test.html', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><script type="importmap">{"imports":{"edgenet":"/pkg/dist/edgenet.mjs"}}</script>
      <script type="module">
        import { init, submit } from 'edgenet';
        window.node = init({ siteId: 'paid-test' });
        window.submit = submit;
      </script>`,
  }));
  await page.goto(`${stack.http}/paid-test.html`);
  await allow(page);
  const earned = await waitFor('a credit earned', async () => {
    const v = await page.evaluate(async () => (await window.node).stats());
    return v.credits >= 1 ? v : null;
  });
  const me = earned.nodeId;

  const task = {
    type: 'encryption',
    payload: { key: new Uint8Array(32).fill(7), nonce: new Uint8Array(12).fill(1), data: new Uint8Array(4096).fill(9) },
    options: { redundancy: 2, maxCredits: 0.5 },
  };
  const r = await page.evaluate(async (t) => {
    const out = await window.submit(t);
    return { verified: out.verified, agreeing: out.agreeing, bytes: out.ciphertext.length };
  }, task);
  assert.equal(r.verified, true);
  // Any two workers but the page itself (the first test's page may still be contributing).
  assert.equal(new Set(r.agreeing).size, 2);
  assert.ok(!r.agreeing.includes(me), 'a page never runs its own task');
  assert.equal(r.bytes, 4096 + 16, 'ciphertext and tag');

  // The page's chain holds the escrow; the relay released it to the two agreeing workers (a
  // share each; `spent` counts only payments, not refunds): half a credit spent, nothing held.
  // The payment follows the page's verdict, which may reach the relay after this request.
  const mine = await waitFor('the payment from the escrow', async () => {
    const a = await account(me);
    return a.spent > 0 ? a : null;
  });
  assert.equal(mine.chain_len, 1, 'one entry the page signed');
  assert.equal(mine.spent, 500_000);
  assert.equal(mine.escrowed, 0);
  assert.equal(mine.frozen, false);

  // Asking for more than the balance: refused with EN-220 and nothing more is spent. The relay
  // stores only entries that have an effect, so the escrow it could not cover is not in the
  // chain: the next write takes seq 1 again, and nothing forks.
  const refused = await page.evaluate(async (t) => {
    try { await window.submit({ ...t, options: { redundancy: 2, maxCredits: 1000 } }); return null; } catch (e) { return [e.code, e.message]; }
  }, task);
  assert.ok(refused, 'the over-budget submission was refused');
  assert.equal(refused[0], 'EN-220', refused[1]);
  const later = await account(me);
  assert.equal(later.spent, 500_000);
  assert.equal(later.chain_len, 1);
  assert.equal(later.frozen, false);

  // The stats show the spending (earned less balance, from one snapshot of the ledger), and the
  // page kept its own escrow entries.
  await waitFor('stats to show the spending', async () => {
    const v = await page.evaluate(async () => (await window.node).stats());
    return Math.round((v.earned - v.credits) * 1e6) === 500_000 ? v : null;
  });
  const kept = await keptKeys(page);
  assert.ok(kept.length >= 2, `mints and the escrow kept (${kept.length})`);
});
