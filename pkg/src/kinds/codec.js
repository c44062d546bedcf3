// @ts-check
// The shape of a kind's codec (each kind's module in this folder exports one as `codec`): what
// the coordinator calls to encode a checked payload, and to turn a verified result into the
// fields the page's `submit` resolves with.

/**
 * @typedef {{
 *   encode: (payload: any) => Uint8Array,
 *   decode: (result: Uint8Array) => Record<string, unknown>,
 * }} Codec
 */

export {};
