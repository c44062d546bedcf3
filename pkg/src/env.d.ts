// What the shim uses beyond TypeScript's DOM library: the globals its bundles set, the Worker's
// importScripts, and browser APIs not in every browser (Battery Status, Network Information).

interface Window {
  /** The script-tag bundle's API (script-tag.js). */
  EdgeNet: Record<string, any>;
  /** The WebGPU module's glue, once a compute Worker imported it (gpu.js). */
  EdgeNetGpu: { init: (opts: { module_or_path: any }) => Promise<unknown>; openGpu: (mode: string) => Promise<any> };
  /** The embedding module's glue, once the model's compute Worker imported it (embed.js). */
  /** The embedding module's WebGPU build's glue (embed-gpu.js). */
  EdgeNetEmbedGpu: { init: (opts: { module_or_path: any }) => Promise<any>; GpuModel: any; TextRun: any };
  EdgeNetEmbed: { init: (opts: { module_or_path: any }) => Promise<any>; Model: any; TextRun: any; memoryBytes: () => number };
  /** The collections client, once the coordinator imported it (collections.js). */
  EdgeNetCollections: { init: (opts: { module_or_path: any }) => Promise<any>; run: (kind: string, payload: any, options: any, lent: any) => Promise<any> };
  EdgeNetSandbox: { init: (opts: { module_or_path: any }) => Promise<any>; prepareTask: (payload: Uint8Array) => any; finishRuns: (fuel: number, memoryMib: number, runs: any[]) => Uint8Array };
}

interface Navigator {
  /** Network Information API (Chromium): Save-Data. */
  connection?: EventTarget & { saveData?: boolean };
  /** Battery Status API (Chromium). */
  getBattery?: () => Promise<EventTarget & { charging: boolean; level: number }>;
}

/** Classic Workers load scripts with it. */
declare function importScripts(...urls: string[]): void;
