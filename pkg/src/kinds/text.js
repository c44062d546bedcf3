// @ts-check
// What the text kinds share (core's `kinds::text`): the served models and the limits on texts,
// checked on the page so that a wrong payload gets EN-502 before it is sent.

export const MODELS = ['minilm'];
export const MAX_TEXTS = 256;
const MAX_TEXT_BYTES = 8192;
export const MAX_TOTAL_BYTES = 256 * 1024;

/** @param {import('../check.js').Checker} c @param {any} model */
export function textModel(c, model) {
  const m = model === undefined ? MODELS[0] : model;
  if (!MODELS.includes(m)) c.fail('payload.model', `one of ${MODELS.join(', ')}`, m);
  return m;
}

const utf8 = new TextEncoder();
/** @param {string} s */
export function byteLength(s) {
  return utf8.encode(s).length;
}

// A non-empty array of at most `max` strings within the per-text and total byte limits.
export function texts(c, name, value, max) {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) c.fail(name, `an array of 1 to ${max} strings`, value);
  let total = 0;
  value.forEach((t, i) => {
    if (typeof t !== 'string') c.fail(`${name}[${i}]`, 'a string', t);
    const n = byteLength(t);
    if (n > MAX_TEXT_BYTES) c.fail(`${name}[${i}]`, `at most ${MAX_TEXT_BYTES} bytes of UTF-8`, `${n} bytes`);
    total += n;
  });
  if (total > MAX_TOTAL_BYTES) c.fail(name, `at most ${MAX_TOTAL_BYTES} bytes of text in all`, `${total} bytes`);
  return value.slice();
}
