// @ts-check
// The sandbox Worker: runs one custom_wasm input at a time on the browser's own engine, in a
// Worker of its own so that the compute Worker can terminate() it when a run passes its wall
// clock. It has no EdgeNet code and no network: the prepared module (edgenet-sandbox: metered,
// NaNs canonical, depth bounded, memory capped, no imports) is all it runs. It reports what the
// run did, and the compute Worker's sandbox module ends it as every runner does.

/**
 * The ABI's calls, as the native runners make them: `alloc`, the input written, `run`, the
 * output read. Returns `{output}`, `{abi}` or `{trapped}`.
 * @param {any} ex @param {Uint8Array} input @param {number} maxOutput
 */
function call(ex, input, maxOutput) {
  const memory = ex.memory;
  let at;
  try {
    at = ex.alloc(input.length);
  } catch (e) {
    return { trapped: String(e) };
  }
  if (at < 0 || at + input.length > memory.buffer.byteLength) return { abi: 'alloc gave room outside the memory' };
  new Uint8Array(memory.buffer, at, input.length).set(input);
  let packed;
  try {
    packed = BigInt.asUintN(64, ex.run(at, input.length));
  } catch (e) {
    return { trapped: String(e) };
  }
  const ptr = Number(packed >> 32n);
  const len = Number(packed & 0xffffffffn);
  if (len > maxOutput) return { abi: `an output of ${len} bytes (at most ${maxOutput})` };
  if (ptr + len > memory.buffer.byteLength) return { abi: 'the output lies outside the memory' };
  return { output: new Uint8Array(memory.buffer, ptr, len).slice() };
}

self.onmessage = ({ data: m }) => {
  // `module` is compiled already (a WebAssembly.Module, shared with the compute Worker that
  // compiled it once for the job).
  const { module, input, fuel, maxOutput } = m;
  const fresh = { left: fuel, depth: 0 };
  let instance;
  try {
    instance = new WebAssembly.Instance(module, {});
  } catch {
    postMessage({ abi: 'the module does not instantiate', ...fresh });
    return;
  }
  const ex = /** @type {any} */ (instance.exports);
  const fuelGlobal = ex.edgenet_fuel;
  if (!(fuelGlobal instanceof WebAssembly.Global)) {
    postMessage({ abi: 'not a prepared module', ...fresh });
    return;
  }
  fuelGlobal.value = BigInt(fuel);
  const ended = call(ex, input, maxOutput);
  const depth = ex.edgenet_depth instanceof WebAssembly.Global ? ex.edgenet_depth.value : 0;
  postMessage({ ...ended, left: Number(fuelGlobal.value), depth }, { transfer: ended.output ? [ended.output.buffer] : [] });
};
