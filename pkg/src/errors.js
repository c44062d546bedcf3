// @ts-check
// Errors with stable codes (docs/errors.md, EN-5xx for the browser package). The wasm adapter's
// errors start their message with the code ("EN-141: …"); fromWasm lifts it into err.code.

export class EdgeNetError extends Error {
  constructor(code, message) {
    // The code once: a message that already starts with it (from wasm, or passed on) keeps it.
    const text = String(message);
    super(text.startsWith(`${code}: `) ? text : `${code}: ${text}`);
    this.name = 'EdgeNetError';
    this.code = code;
  }
}

// An error from wasm, a worker message or anything thrown, as an EdgeNetError.
export function toEdgeNetError(e, fallbackCode = 'EN-599') {
  if (e instanceof EdgeNetError) return e;
  const text = String((e && e.message) || e);
  const m = /^(EN-\d{3}): ([\s\S]*)$/.exec(text);
  return m ? new EdgeNetError(m[1], m[2]) : new EdgeNetError(fallbackCode, text);
}

// The plain form that crosses postMessage.
export const errorData = (e) => {
  const err = toEdgeNetError(e);
  return { code: err.code, message: err.message.slice(err.code.length + 2) };
};
export const fromErrorData = (d) => new EdgeNetError(d.code, d.message);
