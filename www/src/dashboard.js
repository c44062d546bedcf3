// @ts-check
// The relay dashboard (www/dashboard.html): charts of the relay's /events stream (uPlot) and its
// leaderboard. It keeps the last WINDOW_S seconds, one point per `stats` message (a second), and
// derives the per-minute rates and latency percentiles from the task events of the last minute.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { KINDS as REGISTRY } from '../../pkg/src/kinds.generated.js';

const WINDOW_S = 600;
// The kinds pages and nodes run for submitters (a collection's shard kinds have their own view).
const KINDS = REGISTRY.filter((k) => k.needs !== 'shard').map((k) => k.name);
const COLORS = ['#1f5eff', '#e8590c', '#2b8a3e', '#9c36b5', '#c2255c'];
const params = new URLSearchParams(location.search);
// Another relay's dashboard: ?relay=https://relay.example.org
const base = new URL(params.get('relay') || location.origin);
const eventsUrl = `${base.protocol === 'https:' ? 'wss:' : 'ws:'}//${base.host}/events`;

/** @typedef {{ at: number, kind: string, latency: number, outvoted: number }} Verified */
/** @type {Verified[]} task verdicts of the last minute */
let verified = [];
/** @type {number[]} times (s) of failed tasks in the last minute */
let failed = [];
/** @type {number[][]} one column per series, each chart's x first */
const columns = { t: [], peers: [[], []], tasks: KINDS.map(() => []), failures: [[], []], credits: [[], []], latency: [[], []] };

const width = () => Math.max(300, (/** @type {HTMLElement} */ (document.querySelector('[data-chart]')).clientWidth || 500));
/** @param {string} name @param {{ label: string, stroke: string }[]} series @param {string} unit */
function chart(name, series, unit) {
  const opts = {
    width: width(),
    height: 190,
    series: [{}, ...series.map((s) => ({ ...s, width: 2, value: (_u, v) => (v == null ? '—' : `${+v.toFixed(2)}${unit}`) }))],
    axes: [{}, { size: 56 }],
    scales: { x: { time: true } },
  };
  return new uPlot(opts, [[], ...series.map(() => [])], /** @type {HTMLElement} */ (document.querySelector(`[data-chart=${name}]`)));
}
const charts = {
  tasks: chart('tasks', KINDS.map((k, i) => ({ label: k, stroke: COLORS[i] })), '/min'),
  peers: chart('peers', [{ label: 'browser', stroke: COLORS[0] }, { label: 'native', stroke: COLORS[2] }], ''),
  failures: chart('failures', [{ label: 'workers outvoted', stroke: COLORS[1] }, { label: 'tasks failed', stroke: COLORS[4] }], '/min'),
  credits: chart('credits', [{ label: 'minted', stroke: COLORS[3] }, { label: 'paid', stroke: COLORS[2] }], ''),
  latency: chart('latency', [{ label: 'p50', stroke: COLORS[0] }, { label: 'p95', stroke: COLORS[1] }], ' s'),
};

/** @param {number[]} sorted @param {number} q */
const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);

/** One point a second, from a `stats` message. */
function tick(stats, now) {
  verified = verified.filter((v) => v.at > now - 60);
  failed = failed.filter((t) => t > now - 60);
  columns.t.push(now);
  columns.peers[0].push(stats.peers.browser);
  columns.peers[1].push(stats.peers.native);
  KINDS.forEach((k, i) => columns.tasks[i].push(verified.filter((v) => v.kind === k).length));
  columns.failures[0].push(verified.reduce((a, v) => a + v.outvoted, 0));
  columns.failures[1].push(failed.length);
  columns.credits[0].push(stats.micro_credits_minted / 1e6);
  columns.credits[1].push(stats.micro_credits_paid / 1e6);
  const latencies = verified.map((v) => v.latency / 1000).sort((a, b) => a - b);
  columns.latency[0].push(quantile(latencies, 0.5));
  columns.latency[1].push(quantile(latencies, 0.95));
  if (columns.t.length > WINDOW_S) {
    for (const list of [columns.t, ...columns.peers, ...columns.tasks, ...columns.failures, ...columns.credits, ...columns.latency]) list.shift();
  }
  for (const [name, c] of Object.entries(charts)) c.setData([columns.t, ...columns[name]]);
}

// The relay's clock is milliseconds since it started; the charts use this page's wall clock.
function onEvent(e) {
  const now = Date.now() / 1000;
  if (e.type === 'stats') tick(e, now);
  else if (e.type === 'task_verified') verified.push({ at: now, kind: e.kind, latency: e.latency_ms, outvoted: e.outvoted });
  else if (e.type === 'task_failed') failed.push(now);
}

const status = /** @type {HTMLElement} */ (document.getElementById('status'));
let backoff = 1000;
function connect() {
  const ws = new WebSocket(eventsUrl);
  ws.onopen = () => { status.textContent = `live: ${base.host}`; backoff = 1000; };
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = (c) => {
    status.textContent = `reconnecting${c.reason ? ` (${c.reason})` : ''}…`;
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10_000);
  };
}

async function refreshLeaderboard() {
  try {
    const r = await fetch(new URL('/api/leaderboard?limit=10', base));
    const board = await r.json();
    /** @type {HTMLElement} */ (document.getElementById('contributors')).textContent = `(${board.contributors.toLocaleString()} contributors)`;
    const body = /** @type {HTMLElement} */ (document.getElementById('leaderboard'));
    body.replaceChildren(...board.top.map((p) => {
      const tr = document.createElement('tr');
      for (const [text, cls] of [[`#${p.rank}`, 'num'], [p.account.slice(0, 10), ''], [(p.earned / 1e6).toLocaleString(undefined, { maximumFractionDigits: 2 }), 'num']]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      tr.title = p.account;
      return tr;
    }));
  } catch {
    // The stream's status line says when the relay is away.
  }
}

connect();
refreshLeaderboard();
setInterval(refreshLeaderboard, 5000);
addEventListener('resize', () => { for (const c of Object.values(charts)) c.setSize({ width: width(), height: 190 }); });
// What tests read: points per chart and the sum of each series.
Object.assign(window, {
  edgenetDashboard: {
    points: () => Object.fromEntries(Object.keys(charts).map((n) => [n, { points: columns.t.length, sums: columns[n].map((s) => s.reduce((a, v) => a + (v || 0), 0)) }])),
    leaderboardRows: () => document.querySelectorAll('#leaderboard tr').length,
  },
});
