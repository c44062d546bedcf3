// The browser package as a visitor's machine sees it (scripts/bench.sh browser):
//   - time from the script tag to the first finished task (a task already waiting at the relay),
//     and to the relay connection, over several cold page loads;
//   - the page's renderer memory while contributing and idle, beside the same page without
//     EdgeNet (the anchor), read from /proc for the renderer process ids Chromium reports.
// Prints one JSON object. Usage: node scripts/bench_browser_package.mjs [runs]
import { readFileSync } from 'node:fs';
import { Stack, waitFor, sleep } from '../tests/browser/harness.mjs';

const runs = Number(process.argv[2] || 5);
const stack = new Stack();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function rendererMemory(cdp) {
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
  let pss = 0;
  for (const p of processInfo.filter((x) => x.type === 'renderer')) {
    const m = /Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.id}/smaps_rollup`, 'utf8'));
    if (m) pss += Number(m[1]);
  }
  return pss / 1024; // MiB
}

try {
  await stack.relay();
  await stack.launch();
  const firstTask = [];
  const connected = [];
  for (let i = 0; i < runs; i += 1) {
    // A task waits at the relay for a worker; the page is the only one.
    const submitted = stack.submit(['--redundancy', '1', '--seed', String(i + 1), '--n', '1000', '--queries', '1', '--dim', '64']);
    await waitFor('the task at the relay', async () => (await (await fetch(`${stack.http}/api/tasks`)).json()).length > i);
    const ctx = await stack.browser.newContext();
    await ctx.addInitScript(() => localStorage.setItem('edgenet:consent:v1', JSON.stringify({ cpu: true, gpu: false, at: 0 })));
    const page = await stack.page('/contributor.html', { context: ctx });
    const marks = await waitFor('the first task', () => page.evaluate(() => {
      const at = (n) => (performance.getEntriesByName(n)[0] || {}).startTime;
      return at('edgenet:first-task') ? { script: at('edgenet:script'), connected: at('edgenet:connected'), first: at('edgenet:first-task') } : null;
    }), { timeout: 30_000 });
    await submitted;
    firstTask.push(marks.first - marks.script);
    connected.push(marks.connected - marks.script);
    await ctx.close();
  }

  const cdp = await stack.browser.newBrowserCDPSession();
  const plainCtx = await stack.browser.newContext();
  await stack.page('/', { context: plainCtx });
  await sleep(3000);
  const plainMiB = await rendererMemory(cdp);
  await plainCtx.close();
  await sleep(1000);
  const ctx = await stack.browser.newContext();
  await ctx.addInitScript(() => localStorage.setItem('edgenet:consent:v1', JSON.stringify({ cpu: true, gpu: false, at: 0 })));
  const page = await stack.page('/contributor.html', { context: ctx });
  await waitFor('connected', () => page.evaluate(async () => (await window.EdgeNet.node).stats().state === 'connected'));
  await sleep(5000);
  const edgenetMiB = await rendererMemory(cdp);
  const workers = page.workers().length;
  console.log(JSON.stringify({
    runs,
    script_to_connected_ms: median(connected),
    script_to_first_task_ms: median(firstTask),
    script_to_first_task_all_ms: firstTask.map((x) => Math.round(x)),
    renderer_pss_plain_mib: plainMiB,
    renderer_pss_contributing_idle_mib: edgenetMiB,
    workers,
  }));
} finally {
  await stack.stop();
}
