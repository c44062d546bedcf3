// @ts-check
// <edgenet-widget>: what a contributor gave and earned, in light or dark. It only draws what the
// coordinator reports (stats once a second) and offers pause/resume and "stop sharing".

const CSS = `
:host{display:block;max-width:20rem;font:14px/1.45 system-ui,sans-serif}
.card{border-radius:10px;padding:.9rem 1rem;border:1px solid var(--line);background:var(--bg);color:var(--fg)}
:host([theme=light]){--bg:#fff;--fg:#1d2330;--muted:#5b6577;--line:#d3d9e4;--bar:#e6eaf1;--fill:#1f5eff}
:host([theme=dark]){--bg:#161b26;--fg:#e9edf5;--muted:#9aa5ba;--line:#2c3446;--bar:#2a3142;--fill:#5c8aff}
h2{font-size:15px;margin:0 0 .5rem;display:flex;justify-content:space-between;gap:.5rem}
.state{font-size:12px;font-weight:500;color:var(--muted)}
dl{display:grid;grid-template-columns:auto 1fr;gap:.15rem .8rem;margin:0}
dt{color:var(--muted)} dd{margin:0;font-variant-numeric:tabular-nums}
.bar{height:.55rem;border-radius:99px;background:var(--bar);margin:.7rem 0 .25rem;overflow:hidden}
.fill{height:100%;background:var(--fill);width:0;transition:width .4s}
.share{font-size:12px;color:var(--muted)}
.row{display:flex;gap:.5rem;margin-top:.7rem}
button{font:inherit;font-size:13px;padding:.25rem .7rem;border-radius:6px;border:1px solid var(--line);background:transparent;color:var(--fg);cursor:pointer}
button:focus-visible{outline:3px solid #ffb020;outline-offset:2px}
:host([hide-credits]) .credits,:host([hide-stats]) .stats,:host([hide-leaderboard]) .leaderboard{display:none}`;

const fmtUptime = (s) => {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
};

export function defineWidget(controls) {
  if (customElements.get('edgenet-widget')) return;
  class EdgeNetWidget extends HTMLElement {
    connectedCallback() {
      if (!this.hasAttribute('theme')) this.setAttribute('theme', 'light');
      if (this.shadowRoot) return;
      const root = this.attachShadow({ mode: 'open' });
      root.innerHTML = `<style>${CSS}</style>
        <section class="card" role="region" aria-label="EdgeNet contribution">
          <h2>EdgeNet contributor <span class="state" data-k="state"></span></h2>
          <dl>
            <dt class="credits">Credits</dt><dd class="credits" data-k="credits"></dd>
            <dt class="stats">Tasks</dt><dd class="stats" data-k="tasks"></dd>
            <dt class="leaderboard">Rank</dt><dd class="leaderboard" data-k="rank"></dd>
            <dt class="stats">Uptime</dt><dd class="stats" data-k="uptime"></dd>
            <dt class="leaderboard">Multiplier</dt><dd class="leaderboard" data-k="multiplier"></dd>
          </dl>
          <div class="stats">
            <div class="bar" role="progressbar" aria-label="CPU share" aria-valuemin="0" aria-valuemax="100"><div class="fill"></div></div>
            <div class="share" data-k="share" aria-live="polite"></div>
          </div>
          <div class="row">
            <button type="button" data-act="toggle">Pause</button>
            <button type="button" data-act="revoke">Stop sharing</button>
          </div>
        </section>`;
      root.addEventListener('click', (e) => {
        const button = /** @type {Element} */ (e.target).closest('button');
        const act = button && button.dataset.act;
        if (act === 'toggle') controls.toggle();
        if (act === 'revoke') controls.revoke();
      });
      this.update(controls.latest());
    }

    update(s) {
      const root = this.shadowRoot;
      if (!root) return;
      /** @param {string} sel */
      const find = (sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
      const set = (k, v) => { find(`[data-k=${k}]`).textContent = v; };
      if (!s) {
        set('state', 'not sharing');
        for (const k of ['credits', 'tasks', 'rank', 'uptime', 'multiplier']) set(k, '—');
        set('share', 'No CPU lent');
        find('[data-act=toggle]').hidden = true;
        find('[data-act=revoke]').textContent = 'Share idle compute';
        find('[data-act=revoke]').dataset.act = 'revoke';
        return;
      }
      set('state', s.paused ? 'paused' : s.state);
      set('credits', s.credits === null ? '—' : s.credits.toLocaleString(undefined, { maximumFractionDigits: 6 }));
      set('tasks', `${s.tasksCompleted.toLocaleString()} completed`);
      set('uptime', fmtUptime(s.uptime));
      set('rank', s.rank === null ? '—' : `#${s.rank.toLocaleString()} of ${s.contributors.toLocaleString()}`);
      set('multiplier', s.multiplier === null ? '—' : `${s.multiplier.toFixed(1)}×${s.multiplier > 1 ? ' (early adopter)' : ''}`);
      const pct = Math.round(s.cpuShare * 100);
      find('.fill').style.width = `${s.cpuLimit ? (100 * s.cpuShare) / s.cpuLimit : 0}%`;
      root.querySelector('.bar').setAttribute('aria-valuenow', String(pct));
      set('share', `${pct}% CPU per worker × ${s.workers} (${s.reason})`);
      const toggle = find('[data-act=toggle]');
      toggle.hidden = false;
      toggle.textContent = s.paused ? 'Resume' : 'Pause';
      root.querySelector('[data-act=revoke]').textContent = 'Stop sharing';
    }
  }
  customElements.define('edgenet-widget', EdgeNetWidget);
}
