// Sentence embeddings in headless Chromium: our embedding module (WebAssembly SIMD, f16 weights)
// beside transformers.js (@huggingface/transformers on onnxruntime-web's WASM backend, the fp32
// ONNX export of the same weights), same texts, same page, one thread each (a page that is not
// cross-origin isolated has no wasm threads); then transformers.js on WebGPU (SwiftShader here:
// a software GPU, so that figure says nothing about real GPUs) beside our WGSL encoder there.
// Usage: node scripts/bench_embed_browser.mjs PKG_DIR MODEL_DIR TJS_DIST TEXTS_JSON
// Prints one JSON line per measurement.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { chromium } from 'playwright-core';

const [pkgDir, modelDir, tjsDir, textsFile] = process.argv.slice(2);
const texts = JSON.parse(await readFile(textsFile, 'utf8'));
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const routes = [
  ['/pkg/', pkgDir],
  ['/model/', modelDir],
  ['/tjs/', tjsDir],
  // onnxruntime-web's wasm, which transformers.js would otherwise fetch from a CDN.
  ['/ort/', join(tjsDir, '..', '..', '..', 'onnxruntime-web', 'dist')],
  // transformers.js's layout for a local model: <root>/<id>/{config.json, tokenizer*.json, onnx/model.onnx}
  ['/onnx/minilm/onnx/', modelDir],
  ['/onnx/minilm/', modelDir],
];
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(req.url.split('?')[0]);
  const route = routes.find(([prefix]) => path.startsWith(prefix));
  try {
    if (!route) throw new Error('no route');
    const file = join(route[1], path.slice(route[0].length));
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    if (path === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>bench</title>'); return; }
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error(m.text()); else if (m.text().startsWith('{')) console.error(`progress: ${m.text()}`); });
  await page.goto(url);
  const rows = await page.evaluate(async (sets) => {
    const time = async (run, list, batch) => {
      await run(list.slice(0, batch));
      const start = performance.now();
      let done = 0;
      // At least one batch, then until 3 s have passed (a software GPU takes seconds a batch).
      while (done < batch || performance.now() - start < 3000) {
        const i = done % list.length;
        const chunk = list.slice(i, i + batch);
        await run(chunk);
        done += chunk.length;
      }
      return done / ((performance.now() - start) / 1000);
    };
    const out = [];
    const log = (r) => { out.push(r); console.log(JSON.stringify(r)); };
    const ours = await import('/pkg/edgenet_embed.js');
    await ours.default({ module_or_path: '/pkg/edgenet_embed_bg.wasm' });
    const get = async (f) => new Uint8Array(await (await fetch(`/model/${f}`)).arrayBuffer());
    const model = new ours.Model(await get('config.json'), await get('sentence_bert_config.json'), await get('tokenizer.json'), await get('model.f16.safetensors'));
    const gpuMod = await import('/pkg/edgenet_embed_gpu.js');
    await gpuMod.default({ module_or_path: '/pkg/edgenet_embed_gpu_bg.wasm' });
    const gpuModel = await gpuMod.GpuModel.open(await get('config.json'), await get('sentence_bert_config.json'), await get('tokenizer.json'), await get('model.f16.safetensors'));
    const tjs = await import('/tjs/transformers.web.min.js').catch(() => import('/tjs/transformers.min.js'));
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = '/onnx/';
    tjs.env.backends.onnx.wasm.wasmPaths = '/ort/';
    tjs.env.backends.onnx.wasm.numThreads = 1;
    const wasmPipe = await tjs.pipeline('feature-extraction', 'minilm', { device: 'wasm', dtype: 'fp32' });
    let gpuPipe = null;
    try { gpuPipe = await tjs.pipeline('feature-extraction', 'minilm', { device: 'webgpu', dtype: 'fp32' }); } catch (e) { log({ impl: 'transformers.js-webgpu', error: String(e) }); }
    for (const [set, list] of Object.entries(sets)) {
      for (const batch of [1, 32]) {
        log({ impl: 'edgenet-wasm', set, batch, per_s: await time(async (b) => model.embedBatch(b), list, batch) });
        log({ impl: 'transformers.js-wasm', set, batch, per_s: await time((b) => wasmPipe(b, { pooling: 'mean', normalize: true }), list, batch) });
        // SwiftShader takes minutes for a batch of 32 long texts: batch 1 says as much.
        if (gpuModel && (set === 'short' || batch === 1)) log({ impl: 'edgenet-webgpu', set, batch, per_s: await time((b) => gpuModel.embed(b), list, batch) });
        if (gpuPipe && (set === 'short' || batch === 1)) log({ impl: 'transformers.js-webgpu', set, batch, per_s: await time((b) => gpuPipe(b, { pooling: 'mean', normalize: true }), list, batch) });
      }
    }
    return out;
  }, texts);
  for (const r of rows) console.log(JSON.stringify(r));
} finally {
  await browser.close();
  server.close();
}
