// @ts-check
// One relay connection per visitor. Tabs of one origin share an identity, and the relay keeps one
// connection per identity, so two coordinators would push each other off. The tab that holds the
// Web Lock `edgenet-coordinator` runs the coordinator Worker; the other tabs reach it over the
// BroadcastChannel `edgenet-coordinator`. When the leader's tab closes, its lock is released and
// the next tab in the lock's queue starts a coordinator of its own and announces itself; the
// other tabs then send it their unanswered submissions again (the old coordinator, and the tasks
// it had submitted, went with the closed tab, so nothing runs twice).
//
// `openPort(spawn)` returns what edgenet.js used to get from `new Worker`: `postMessage`,
// `onmessage` and `terminate`. `spawn()` makes the Worker (and sends it `start`) in the tab that
// leads. Without Web Locks or BroadcastChannel every tab runs its own coordinator, as before.

const NAME = 'edgenet-coordinator';
// Messages a follower's page may send the leader's coordinator (not start, signals or stop:
// those belong to the tab that runs it).
const FORWARDED = new Set(['submit', 'contribute', 'pause', 'resume']);

/**
 * @param {() => Worker} spawn
 * @param {{ resend: () => void }} hooks `resend`: a new leader is up; post unanswered work again.
 */
export function openPort(spawn, hooks) {
  if (typeof navigator === 'undefined' || !navigator.locks || typeof BroadcastChannel === 'undefined') {
    const worker = spawn();
    return { worker, postMessage: (m) => worker.postMessage(m), terminate: () => worker.terminate(), set onmessage(f) { worker.onmessage = f; }, set onerror(f) { worker.onerror = f; } };
  }
  const channel = new BroadcastChannel(NAME);
  /** @type {Worker | null} */
  let worker = null;
  /** @type {'pending' | 'leader' | 'follower'} */
  let role = 'pending';
  /** @type {any[]} */
  const queued = [];
  /** @type {((e: {data: any}) => void) | null} */
  let onmessage = null;
  /** @type {((e: any) => void) | null} */
  let onerror = null;
  /** @type {((value?: any) => void) | null} */
  let release = null;
  // Withdraws this tab from the lock's queue when it stops before it ever leads.
  const quit = new AbortController();
  // What the leader last said, for tabs that join later.
  const last = { identity: null, stats: null };

  const deliver = (m) => { if (onmessage) onmessage({ data: m }); };
  const lead = () => {
    const tookOver = role === 'follower';
    role = 'leader';
    worker = spawn();
    worker.onmessage = ({ data: m }) => {
      if (m.type === 'identity') last.identity = m;
      if (m.type === 'stats') last.stats = m;
      deliver(m);
      channel.postMessage({ from: 'leader', m });
    };
    worker.onerror = (e) => { if (onerror) onerror(e); };
    channel.postMessage({ leader: true });
    for (const m of queued.splice(0)) worker.postMessage(m);
    // What this tab had sent the old leader goes to its own coordinator now (a channel does not
    // deliver to its sender, so the announcement above reached only the others).
    if (tookOver) hooks.resend();
  };
  channel.onmessage = ({ data }) => {
    if (data.leader && role !== 'leader') { hooks.resend(); return; }
    if (data.hello && role === 'leader') {
      if (last.identity) channel.postMessage({ from: 'leader', m: last.identity });
      if (last.stats) channel.postMessage({ from: 'leader', m: last.stats });
      return;
    }
    if (data.to === 'leader' && role === 'leader' && worker && FORWARDED.has(data.m.type)) worker.postMessage(data.m);
    if (data.from === 'leader' && role === 'follower') deliver(data.m);
  };
  // Lead now if nobody does; else follow, and queue for the lock to lead when the leader goes.
  navigator.locks.request(NAME, { ifAvailable: true }, (lock) => {
    if (lock) return new Promise((resolve) => { release = resolve; lead(); });
    role = 'follower';
    channel.postMessage({ hello: true });
    for (const m of queued.splice(0)) if (FORWARDED.has(m.type)) channel.postMessage({ to: 'leader', m });
    navigator.locks.request(NAME, { signal: quit.signal }, () => new Promise((resolve) => { release = resolve; lead(); }))
      .catch(() => {}); // aborted: this tab stopped
    return undefined;
  });

  return {
    get worker() { return worker; },
    postMessage(m) {
      if (role === 'leader' && worker) worker.postMessage(m);
      else if (role === 'follower') { if (FORWARDED.has(m.type)) channel.postMessage({ to: 'leader', m }); }
      else queued.push(m);
    },
    terminate() {
      if (worker) worker.terminate();
      worker = null;
      channel.close();
      quit.abort();
      if (release) release(); // the next tab leads
    },
    set onmessage(f) { onmessage = f; },
    set onerror(f) { onerror = f; },
  };
}
