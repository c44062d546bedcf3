// @ts-check
// Consent first: the visitor is asked, per capability, before anything computes or connects. The
// answer (yes or no) is remembered for this origin in localStorage and can be revoked from the
// widget. Nothing here computes; the prompt is plain DOM with labels, keyboard focus and ARIA.

const KEY = 'edgenet:consent:v1';

export function storedConsent() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || 'null');
    return v && typeof v.cpu === 'boolean' && typeof v.gpu === 'boolean' ? v : null;
  } catch {
    return null; // storage blocked (private mode, sandboxed frame): ask every time
  }
}

export function rememberConsent(answer) {
  try {
    localStorage.setItem(KEY, JSON.stringify({ cpu: answer.cpu, gpu: answer.gpu, at: Date.now() }));
  } catch { /* not remembered: asked again next visit */ }
}

export function forgetConsent() {
  try { localStorage.removeItem(KEY); } catch { /* nothing stored */ }
}

const STYLE = `
.edgenet-consent{position:fixed;inset:auto 1rem 1rem auto;max-width:22rem;z-index:2147483646;
 font:14px/1.45 system-ui,sans-serif;background:#fff;color:#1d2330;border:1px solid #c9d1de;
 border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.18);padding:1rem}
.edgenet-consent h2{font-size:15px;margin:0 0 .4rem}
.edgenet-consent p{margin:0 0 .6rem}
.edgenet-consent label{display:block;margin:.2rem 0}
.edgenet-consent .row{display:flex;gap:.5rem;justify-content:flex-end;margin-top:.7rem}
.edgenet-consent button{font:inherit;padding:.35rem .8rem;border-radius:6px;border:1px solid #8a94a6;background:#f4f6fa;cursor:pointer}
.edgenet-consent button.primary{background:#1f5eff;border-color:#1f5eff;color:#fff}
.edgenet-consent button:focus-visible{outline:3px solid #ffb020;outline-offset:2px}`;

// Shows the prompt; resolves with {cpu, gpu} when the visitor answers.
export function askConsent(siteId) {
  return new Promise((resolve) => {
    const box = document.createElement('section');
    box.className = 'edgenet-consent';
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-modal', 'false');
    box.setAttribute('aria-labelledby', 'edgenet-consent-title');
    box.setAttribute('aria-describedby', 'edgenet-consent-text');
    const style = document.createElement('style');
    style.textContent = STYLE;
    box.innerHTML = `
      <h2 id="edgenet-consent-title">Share idle computing power?</h2>
      <p id="edgenet-consent-text"></p>
      <label><input type="checkbox" name="cpu" checked> Processor (CPU), only while this tab is idle</label>
      <label><input type="checkbox" name="gpu"> Graphics processor (GPU)</label>
      <div class="row">
        <button type="button" data-answer="no">No thanks</button>
        <button type="button" class="primary" data-answer="yes">Allow</button>
      </div>`;
    box.querySelector('#edgenet-consent-text').textContent =
      `${siteId} supports EdgeNet: with your permission, this page lends a capped share of your ` +
      'idle CPU to an encrypted compute network. You can stop at any time.';
    const finish = (yes) => {
      const answer = {
        cpu: yes && /** @type {HTMLInputElement} */ (box.querySelector('input[name=cpu]')).checked,
        gpu: yes && /** @type {HTMLInputElement} */ (box.querySelector('input[name=gpu]')).checked,
      };
      box.remove();
      style.remove();
      rememberConsent(answer);
      resolve(answer);
    };
    box.addEventListener('click', (e) => {
      const a = /** @type {HTMLElement | null} */ (/** @type {Element} */ (e.target).closest('button[data-answer]'));
      if (a) finish(a.dataset.answer === 'yes');
    });
    box.addEventListener('keydown', (e) => { if (e.key === 'Escape') finish(false); });
    document.head.append(style);
    document.body.append(box);
    /** @type {HTMLElement} */ (box.querySelector('button.primary')).focus({ preventScroll: true });
  });
}
