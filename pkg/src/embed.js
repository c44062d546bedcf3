// @ts-check
// The embedding module's glue as a classic script: the compute Worker that holds the model
// importScripts() it when the first text task arrives, so no other page or Worker downloads it.
import init, { Model, TextRun } from '../wasm/edgenet_embed.js';

/** @type {{ memory?: WebAssembly.Memory }} */
const loaded = {};

self.EdgeNetEmbed = {
  Model,
  TextRun,
  init: async (opts) => {
    const exports = await init(opts);
    loaded.memory = exports.memory;
    return exports;
  },
  // Bytes of the module's linear memory (the model's weights and activations live there).
  memoryBytes: () => (loaded.memory ? loaded.memory.buffer.byteLength : 0),
};
