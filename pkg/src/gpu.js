// @ts-check
// The optional WebGPU module's glue as a classic script: a compute Worker importScripts() it only
// after the visitor allowed the GPU, so pages that never use the GPU never download it.
import init, { openGpu } from '../wasm/edgenet_gpu.js';

self.EdgeNetGpu = { init, openGpu };
