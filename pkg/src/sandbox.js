// @ts-check
// The custom_wasm module's glue as a classic script: a compute Worker importScripts() it on its
// first custom_wasm task, so no page that never runs one downloads it (its wasm holds the
// preparation: wasmparser and wasm-encoder).
import init, { finishRuns, prepareTask } from '../wasm/edgenet_sandbox.js';

self.EdgeNetSandbox = { init, prepareTask, finishRuns };
