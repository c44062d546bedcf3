// Another site's page (a plain static server on a second port) with nothing but the script tag
// pointing at the relay on the first: it contributes, and its own submit() is verified by native
// nodes, under a Content-Security-Policy that allows only what docs/website-owners.md lists. A
// broken relay URL on the tag shows its EN code in the console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Stack, allow, stats, waitFor } from './harness.mjs';

const stack = new Stack();
let site;
let siteUrl;

// The other site: one page per path, with the CSP a site embedding EdgeNet needs.
function startSite(pages) {
  return new Promise((resolve) => {
    site = http.createServer((req, res) => {
      const body = pages[req.url];
      if (!body) { res.writeHead(404); res.end(); return; }
      const relay = stack.http;
      const ws = stack.ws.replace(/\/ws$/, '');
      res.writeHead(200, {
        'content-type': 'text/html',
        'content-security-policy': [
          "default-src 'self'",
          `script-src 'self' ${relay} 'wasm-unsafe-eval'`,
          'worker-src blob:',
          `connect-src ${relay} ${ws}`,
          "style-src 'self' 'unsafe-inline'",
        ].join('; '),
      });
      res.end(body);
    });
    site.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${site.address().port}`));
  });
}

before(async () => {
  await stack.relay();
  for (const name of ['n1', 'n2', 'n3']) await stack.nativeNode(name);
  await stack.launch();
  const tag = (extra) => `<!doctype html><title>a shop</title>
    <script src="${stack.http}/pkg/dist/edgenet.min.js" data-site-id="other-site" ${extra}></script>`;
  siteUrl = await startSite({
    '/shop.html': tag(''),
    '/broken.html': tag('data-relay="ws://127.0.0.1:9/ws"'),
  });
});
after(() => { site?.close(); return stack.stop(); });

test('a page on another origin contributes and submits through the relay, under its CSP', async () => {
  const page = await stack.page();
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text()); });
  await page.goto(`${siteUrl}/shop.html`);
  await allow(page);
  const s = await waitFor('the page to connect to the relay', async () => {
    const v = await stats(page);
    return v.state === 'connected' && v.nodeId ? v : null;
  }, { timeout: 30_000 });
  assert.equal(new URL(page.url()).port, new URL(siteUrl).port, 'the page is the other site');
  // A task from a native submitter runs in the page (redundancy 4: the three nodes and the page).
  const report = await stack.submit(['--redundancy', '4', '--seed', '5', '--n', '500', '--dim', '8']);
  assert.ok(report.agreeing.includes(s.nodeId), `the page ran it: ${report.agreeing}`);
  assert.equal(report.matches_local, true);
  // Its own submission, verified by the three native nodes.
  const r = await page.evaluate(async () => {
    const out = await window.EdgeNet.submit({
      type: 'encryption',
      payload: { key: new Uint8Array(32).fill(1), nonce: new Uint8Array(12).fill(2), data: new Uint8Array(1000).fill(3) },
      options: { redundancy: 3 },
    });
    return { verified: out.verified, agreeing: out.agreeing.length };
  });
  assert.deepEqual(r, { verified: true, agreeing: 3 });
  assert.deepEqual(violations, [], 'the documented CSP is enough');
});

test('a broken relay URL on the tag is printed to the console with its EN code', async () => {
  const page = await stack.page();
  await page.goto(`${siteUrl}/broken.html`);
  await allow(page);
  const line = await waitFor('an EdgeNet error in the console', async () => page.consoleLog.find((l) => /^error: EdgeNet EN-\d{3}: /.test(l)), { timeout: 30_000 });
  assert.match(line, /EN-\d{3}/);
});
