// Credits in the browser: the relay mints the uptime bonus to a contributing page (a short period
// here), and stats(), the widget, onCredit and `GET /api/ledger/{id}` all show the same ledger;
// the minted entries are kept in IndexedDB.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Stack, allow, waitFor } from './harness.mjs';

const stack = new Stack();

before(async () => {
  await stack.relay(['--uptime-period-ms', '700', '--uptime-bonus', '250000']);
  await stack.launch();
});
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
        window.node = init({ siteId: 'credits-test', onCredit: (c, total) => window.credited.push([c, total]) });
      </script>`,
  }));
  await page.goto(`${stack.http}/credits-test.html`);
  await allow(page);
  const s = await waitFor('two uptime periods credited', async () => {
    const v = await page.evaluate(async () => (await window.node).stats());
    return v.credits >= 0.5 ? v : null;
  });
  const api = await (await fetch(`${stack.http}/api/ledger/${s.nodeId}`)).json();
  assert.ok(api.balance >= s.credits * 1e6, `the API (${api.balance}) is at least what the page showed`);
  assert.equal(api.balance % 250_000, 0, 'whole periods only');
  assert.equal(api.earned, api.balance, 'nothing spent');

  const credited = await page.evaluate(() => window.credited);
  assert.ok(credited.length >= 1, 'onCredit was called');
  const sum = credited.reduce((a, [c]) => a + c, 0);
  const [, lastTotal] = credited[credited.length - 1];
  assert.ok(Math.abs(sum - lastTotal) < 1e-9, `onCredit amounts (${sum}) add up to the balance (${lastTotal})`);
  assert.equal(credited[0][0] % 0.25, 0, 'each credit is whole periods');

  const shown = await waitFor('the widget to show credits', async () => {
    const t = await page.locator('edgenet-widget [data-k=credits]').textContent();
    return t && t !== '—' ? t : null;
  });
  assert.ok(Number(shown.replace(/,/g, '')) >= 0.5, `widget shows ${shown}`);

  // The entries the relay sent are kept in IndexedDB, keyed by their hash.
  const kept = await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('edgenet');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const req = open.result.transaction('ledger').objectStore('ledger').getAllKeys();
      req.onsuccess = () => resolve(req.result);
    };
  }));
  assert.ok(kept.length >= 1, 'minted entries kept');
  assert.ok(kept.every((k) => /^[0-9a-f]{64}$/.test(k)));
});
