// @ts-check
// The main thread's only job besides the widget: notice whether the visitor is idle and the page
// is healthy, and tell the coordinator. Every handler is O(1); nothing here computes.

export function watchSignals(onChange) {
  const s = {
    visible: document.visibilityState === 'visible',
    focused: document.hasFocus(),
    lastInput: null,
    frameRate: null,
    onBattery: false,
    batteryLevel: null,
    saveData: Boolean(navigator.connection && navigator.connection.saveData),
  };
  const snapshot = () => ({
    visible: s.visible,
    focused: s.focused,
    msSinceInput: s.lastInput === null ? null : performance.now() - s.lastInput,
    frameRate: s.frameRate,
    onBattery: s.onBattery,
    batteryLevel: s.batteryLevel,
    saveData: s.saveData,
  });
  const report = () => onChange(snapshot());
  const listeners = [];
  const on = (target, type, fn, opts) => {
    target.addEventListener(type, fn, opts);
    listeners.push(() => target.removeEventListener(type, fn, opts));
  };
  on(document, 'visibilitychange', () => { s.visible = document.visibilityState === 'visible'; report(); });
  on(window, 'focus', () => { s.focused = true; report(); });
  on(window, 'blur', () => { s.focused = false; report(); });
  const input = () => { const first = s.lastInput === null; s.lastInput = performance.now(); if (first) report(); };
  for (const type of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart']) on(window, type, input, { passive: true, capture: true });

  // Frame rate over one-second windows while visible (rAF stops when hidden anyway).
  let frames = 0;
  let windowStart = performance.now();
  let raf = 0;
  const frame = (t) => {
    frames += 1;
    if (t - windowStart >= 1000) {
      s.frameRate = (frames * 1000) / (t - windowStart);
      frames = 0;
      windowStart = t;
    }
    raf = requestAnimationFrame(frame);
  };
  raf = requestAnimationFrame(frame);

  if (navigator.getBattery) {
    navigator.getBattery().then((b) => {
      const read = () => { s.onBattery = !b.charging; s.batteryLevel = b.level; report(); };
      read();
      on(b, 'chargingchange', read);
      on(b, 'levelchange', read);
    }).catch(() => {});
  }
  if (navigator.connection) on(navigator.connection, 'change', () => { s.saveData = Boolean(navigator.connection.saveData); report(); });

  // Time since input and frame rate change continuously: a sample a second keeps them fresh.
  const timer = setInterval(report, 1000);
  report();
  return () => { clearInterval(timer); cancelAnimationFrame(raf); listeners.forEach((off) => off()); };
}
