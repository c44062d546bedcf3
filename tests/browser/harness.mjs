// Harness for the browser end-to-end tests: the real relay and node binaries on 127.0.0.1 (each
// test starts and stops its own) and Debian's Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
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

function freePort() {
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
    this.http = `http://127.0.0.1:${port}`;
    this.ws = `ws://127.0.0.1:${port}/ws`;
    await waitFor('the relay', async () => (await fetch(`${this.http}/api/status`).catch(() => null))?.ok);
    return this;
  }

  // SIGKILLs the relay and starts it again on the same port with the same data folder (same key).
  async restartRelay() {
    this.relayProc.kill('SIGKILL');
    await this.relayProc.exited;
    return this.relay(this.relayExtra, this.port);
  }

  peers() { return fetch(`${this.http}/api/peers`).then((r) => r.json()); }

  // A native worker node (`edgenet-node run`) with its own key; resolves once the relay lists it.
  async nativeNode(name) {
    const key = join(this.dir, `${name}.key`);
    const before = (await this.peers()).length;
    const p = this.spawn('edgenet-node', ['--key-file', key, 'run', '--relay', this.ws]);
    await waitFor(`node ${name} to join`, async () => (await this.peers()).length > before);
    return p;
  }

  // `edgenet-node submit --json …`; resolves with its report (throws with its output on failure).
  async submit(args) {
    const p = this.spawn('edgenet-node', ['--key-file', join(this.dir, 'submitter.key'), 'submit', '--relay', this.ws, '--json', ...args]);
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
        '--disable-component-update', '--disable-sync', '--no-first-run', ...(webgpu ? ['--enable-unsafe-webgpu'] : [])],
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
