// @ts-check
// The embedding module's WebGPU build as a classic script: the model's compute Worker
// importScripts() it instead of embed.js when the page forces `backend: 'gpu'` with GPU consent.
import init, { GpuModel, TextRun } from '../wasm/edgenet_embed_gpu.js';

self.EdgeNetEmbedGpu = { init, GpuModel, TextRun };
