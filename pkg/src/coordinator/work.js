// @ts-check
// Proofs of work the relay asks of a contributing page (what its mints per identity cost: the
// canary's reward, each uptime period's bonus). Solved here a few digests at a time, inside the
// page's CPU share like any task: after each slice the solver rests for as long as the share
// asks, and it waits while the share is zero (paused, hidden tab, low battery).

import { WorkSolver } from '../../wasm/edgenet_compute.js';
import { co } from './state.js';

// Argon2id digests per slice: a few milliseconds each in wasm, so a slice is ~10-30 ms.
const SLICE = 4;
// While the share is zero, look again this often.
const IDLE_MS = 500;

/**
 * Solves one `{type: 'work'}` event and hands the nonce to `found`, unless the connection that
 * asked is gone by then (its challenge went with it).
 * @param {{challenge: Uint8Array, bits: number}} ev
 * @param {(nonce: number) => void} found
 */
export function solveWork(ev, found) {
  const asker = co.conn;
  /** @type {WorkSolver | null} */
  let solver = null;
  const step = () => {
    if (co.conn !== asker || co.stopped) { solver?.free(); return; }
    const fraction = co.contribute ? co.share.fraction : 0;
    // The solver is in the compute module, loaded when contribution starts.
    if (fraction <= 0 || !co.compute) { setTimeout(step, IDLE_MS); return; }
    if (!solver) { co.compute.then(() => { solver = new WorkSolver(ev.challenge, ev.bits); step(); }, () => {}); return; }
    const started = performance.now();
    const nonce = solver.step(SLICE);
    if (nonce === undefined) {
      const spent = performance.now() - started;
      setTimeout(step, spent * (1 / Math.min(1, fraction) - 1));
      return;
    }
    solver.free();
    found(nonce);
  };
  setTimeout(step, 0);
}
