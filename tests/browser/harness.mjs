// Harness for the browser end-to-end tests: the real relay and node binaries on 127.0.0.1 (each
// test starts and stops its own) and Debian's Chromium driven by playwright-core.

import { execFileSync, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
const PROFILE = process.env.EDGENET_BIN_PROFILE || 'debug';
export const bin = (name) => join(ROOT, 'target', PROFILE, name);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, fn, { timeout = 20_000, every = 50 } = {}) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(every);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// Everything a test started; `stop()` ends it all (call it in `after`).
export class Stack {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'edgenet-browser-'));
    this.procs = [];
    this.browser = null;
    // Flags every edgenet-node gets (`--ca-cert` for a relay over TLS).
    this.nodeFlags = [];
    this.scheme = { http: 'http', ws: 'ws' };
    this.chromiumArgs = [];
  }

  // The relay over TLS from now on: a private CA and a certificate it signs for 127.0.0.1 (made
  // with openssl), trusted by the native nodes (--ca-cert) and by Chromium (the leaf's key pinned).
  tls() {
    const run = (args) => execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=edgenet test CA']);
    run(['req', ...ec, '-keyout', 'key.pem', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(this.dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
    run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'leaf.ext']);
    const leaf = new X509Certificate(readFileSync(join(this.dir, 'cert.pem')));
    const spki = createHash('sha256').update(leaf.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    this.chromiumArgs.push(`--ignore-certificate-errors-spki-list=${spki}`);
    this.nodeFlags.push('--ca-cert', join(this.dir, 'ca.pem'));
    this.scheme = { http: 'https', ws: 'wss' };
    return ['--tls-cert', join(this.dir, 'cert.pem'), '--tls-key', join(this.dir, 'key.pem')];
  }

  spawn(name, args, env = {}) {
    const p = spawn(bin(name), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.output = '';
    p.stdout.on('data', (d) => { p.output += d; });
    p.stderr.on('data', (d) => { p.output += d; });
    p.exited = new Promise((r) => p.on('exit', (code) => r(code)));
    this.procs.push(p);
    return p;
  }

  async relay(extra = [], port = null) {
    port = port || (await freePort());
    this.port = port;
    this.relayExtra = extra;
    // Canaries (an extra encryption task for every new worker) would change what the tests count;
    // a test that wants them passes --canary-reward.
    const canaries = extra.includes('--canary-reward') ? [] : ['--canary-reward', '0'];
    // Real proofs of work, cheap ones (4 Argon2id digests on average): pages solve them in wasm.
    if (!extra.includes('--work-bits')) canaries.push('--work-bits', '2');
    this.relayProc = this.spawn('edgenet-relay', [
      '--listen', `127.0.0.1:${port}`, '--data-dir', join(this.dir, 'relay'),
      '--www', join(ROOT, 'www'), '--pkg', join(ROOT, 'pkg'), ...canaries, ...extra,
    ]);
    this.http = `${this.scheme.http}://127.0.0.1:${port}`;
    this.ws = `${this.scheme.ws}://127.0.0.1:${port}/ws`;
    await waitFor('the relay', async () => (await this.api('/api/status').catch(() => null)) !== null);
    return this;
  }

  // SIGKILLs the relay and starts it again on the same port with the same data folder (same key).
  async restartRelay() {
    this.relayProc.kill('SIGKILL');
    await this.relayProc.exited;
    return this.relay(this.relayExtra, this.port);
  }

  peers() { return this.api('/api/peers'); }

  // GET a JSON path of the relay's API (over TLS trusting the test CA, when the relay has one).
  async api(path) {
    if (this.scheme.http === 'http') {
      const r = await fetch(`${this.http}${path}`);
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
      return r.json();
    }
    const ca = readFileSync(join(this.dir, 'ca.pem'));
    return new Promise((resolve, reject) => {
      https.get(`${this.http}${path}`, { ca }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
      }).on('error', reject);
    });
  }

  // A native worker node (`edgenet-node run`) with its own key; resolves once the relay lists it.
  // With `model`, it loads the embedding model (setup.sh's copy) and runs the text tasks too;
  // `args` go to `run` (`--storage` for a collections holder).
  async nativeNode(name, { model = false, args = [] } = {}) {
    const key = join(this.dir, `${name}.key`);
    const before = (await this.peers()).length;
    const p = this.spawn('edgenet-node', ['--key-file', key, ...this.nodeFlags, 'run', '--relay', this.ws, ...(model ? [] : ['--no-model']), ...args]);
    await waitFor(`node ${name} to join`, async () => (await this.peers()).length > before);
    return p;
  }

  // `edgenet-node submit --json …`; resolves with its report (throws with its output on failure).
  async submit(args) {
    const p = this.spawn('edgenet-node', ['--key-file', join(this.dir, 'submitter.key'), ...this.nodeFlags, 'submit', '--relay', this.ws, '--json', ...args]);
    const code = await p.exited;
    if (code !== 0) throw new Error(`submit exited ${code}: ${p.output}`);
    return JSON.parse(p.output.trim().split('\n').filter((l) => l.startsWith('{')).pop());
  }

  // Headless Chromium; with `webgpu`, WebGPU on SwiftShader (software Vulkan) instead of no GPU.
  async launch({ webgpu = false } = {}) {
    this.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
        ...this.chromiumArgs],
    });
    return this.browser;
  }

  // A fresh browser profile (its own origin storage) with a page open on `path` of the relay.
  async page(path, { context } = {}) {
    const ctx = context || (await this.browser.newContext());
    const page = await ctx.newPage();
    page.consoleLog = [];
    page.on('console', (m) => page.consoleLog.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => page.consoleLog.push(`pageerror: ${e.message}`));
    page.sockets = [];
    page.on('websocket', (ws) => page.sockets.push(ws.url()));
    if (path) await page.goto(`${this.http}${path}`);
    return page;
  }

  async stop() {
    if (this.browser) await this.browser.close().catch(() => {});
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(this.procs.map((p) => Promise.race([p.exited, sleep(3000)])));
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Records every task on `page`'s main thread from now until the returned `stop()`, which resolves
// to [{ start, wallMs, cpuMs }] (start in trace µs). A long task (the browser's > 50 ms of wall
// time) can be the OS running something else on a busy 2-core machine; `cpuMs` is the main
// thread's own CPU time in that task (the trace's `tdur`), which is what page code can cause.
// The page marks itself (a user-timing mark) so that its thread can be told from other tabs'.
export async function traceMainThread(browser, page) {
  const cdp = await browser.newBrowserCDPSession();
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => { for (const ev of e.value) events.push(ev); });
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: { includedCategories: ['toplevel', 'blink.user_timing'], recordMode: 'recordAsMuchAsPossible' },
  });
  const MARK = 'edgenet-traced-main-thread';
  const mark = () => page.evaluate((name) => performance.mark(name), MARK);
  await mark();
  return async function stop() {
    await mark();
    const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.end');
    await complete;
    await cdp.detach().catch(() => {});
    const marked = events.find((ev) => ev.name === MARK);
    if (!marked) throw new Error('the page\'s mark is not in the trace');
    return events
      .filter((ev) => ev.ph === 'X' && ev.cat === 'toplevel' && ev.pid === marked.pid && ev.tid === marked.tid && typeof ev.dur === 'number')
      .map((ev) => ({ start: ev.ts, wallMs: ev.dur / 1000, cpuMs: typeof ev.tdur === 'number' ? ev.tdur / 1000 : ev.dur / 1000 }));
  };
}

export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

// Clicks "Allow" in the consent prompt.
export async function allow(page) {
  await page.getByRole('dialog', { name: 'Share idle computing power?' }).getByRole('button', { name: 'Allow' }).click();
}

// The page's contributing node stats (window.EdgeNet.node is the script tag's init promise).
export const stats = (page) => page.evaluate(async () => (await window.EdgeNet.node).stats());
