// @ts-check
// Every message between the page, the coordinator Worker and the compute Workers, as JSDoc types:
// the one place that says what crosses each postMessage. Types only; nothing runs here.

/**
 * An error as it crosses postMessage (errors.js: errorData / fromErrorData).
 * @typedef {{ code: string, message: string }} ErrorData
 */

/**
 * The contribution settings the page validated (options.js) and the visitor consented to.
 * @typedef {object} ContributeSettings
 * @property {number} cpuLimit share of each compute Worker's time, 0 < cpuLimit ≤ 1
 * @property {number} memoryLimit bytes all compute Workers together may use
 * @property {string[]} tasks task kinds this page runs
 * @property {number} workers compute Workers wanted
 * @property {false | 'auto' | 'gpu'} gpu whether (and how) the GPU may be used
 * @property {boolean} focusRequired contribute only while the tab has focus
 * @property {number} minIdleTime ms without input before contributing
 * @property {boolean} respectBattery stop on a low battery
 */

/**
 * The page's idle signals (signals.js); unknown numbers are null.
 * @typedef {object} Signals
 * @property {boolean} visible
 * @property {boolean} focused
 * @property {number | null} msSinceInput
 * @property {number | null} frameRate
 * @property {boolean} onBattery
 * @property {number | null} batteryLevel
 * @property {boolean} saveData
 */

/**
 * A submission's checked options (options.js).
 * @typedef {{ redundancy: number, maxMicroCredits: number, priority: number, timeout: number }} SubmitOptions
 */

// --- page → coordinator -------------------------------------------------------------------------

/**
 * @typedef {object} StartMessage
 * @property {'start'} type
 * @property {string[]} relays relay WebSocket URLs, tried in turn
 * @property {string} wasmUrl the protocol module (this Worker's)
 * @property {string} computeWasmUrl the compute module (the kernels, the proof-of-work solver), loaded when contribution starts
 * @property {string} computeUrl
 * @property {string} gpuUrl
 * @property {string} gpuWasmUrl
 * @property {string} embedUrl the embedding module's glue, loaded by one compute Worker on the first text task
 * @property {string} embedWasmUrl
 * @property {string} embedGpuUrl the embedding module's WebGPU build, for a page forcing backend 'gpu'
 * @property {string} embedGpuWasmUrl
 * @property {string} collectionsUrl the collections client, loaded by the coordinator on the first collection task
 * @property {string} collectionsWasmUrl
 * @property {ContributeSettings | null} contribute
 * @property {WebAssembly.Module} [module] set by the coordinator once compiled
 */

/**
 * @typedef {StartMessage
 *   | { type: 'contribute', settings: ContributeSettings }
 *   | { type: 'signals', signals: Signals }
 *   | { type: 'pause' } | { type: 'resume' } | { type: 'stats' } | { type: 'stop' }
 *   | { type: 'submit', req: string, kind: string, payload: any, options: SubmitOptions }
 * } PageToCoordinator
 */

// --- coordinator → page -------------------------------------------------------------------------

/**
 * What stats() returns (the coordinator's figures; credits from the relay's ledger).
 * @typedef {object} Stats
 * @property {number} at
 * @property {string} state connecting | connected | reconnecting | error
 * @property {string | null} nodeId
 * @property {string | null} relay
 * @property {boolean} contributing
 * @property {boolean} paused
 * @property {number} workers
 * @property {number} cpuLimit
 * @property {number} cpuShare
 * @property {string} reason
 * @property {number} busyMs
 * @property {number[]} busyMsByWorker
 * @property {number} queued
 * @property {object | null} backend
 * @property {{ loadMs: number, fromCache: boolean, backend: string, adapter?: string } | null} model the embedding model, once a Worker loaded it
 * @property {number} running
 * @property {number} tasksCompleted
 * @property {number} tasksOnGpu
 * @property {number} tasksVerified
 * @property {number} tasksRejected
 * @property {number} tasksFailed
 * @property {number} submitted
 * @property {number} uptime
 * @property {number | null} credits
 * @property {number | null} earned
 * @property {number | null} rank
 * @property {number | null} contributors
 * @property {number | null} reputation
 * @property {number | null} multiplier
 */

/**
 * @typedef {{ type: 'stats', stats: Stats }
 *   | { type: 'identity', nodeId: string }
 *   | { type: 'state', state: string }
 *   | { type: 'result', req: string, value?: any, error?: ErrorData }
 *   | { type: 'progress', req: string, assigned: number, results: number, needed: number }
 *   | { type: 'error', error: ErrorData, context?: string }
 *   | { type: 'credit', credits: number, total: number }
 *   | { type: 'task', task: { id: string, type: string } }
 *   | { type: 'stopped' }
 * } CoordinatorToPage
 */

// --- coordinator ↔ compute Workers --------------------------------------------------------------

/**
 * A job the relay assigned, as a compute Worker runs it. A text task also names where the
 * current relay serves the model's files (`…/models/minilm/`).
 * @typedef {{ task: string, kind: string, payload: Uint8Array, modelBase?: string }} Job
 */

/**
 * @typedef {{ type: 'init', module: WebAssembly.Module, limit: number, sliceMs: number,
 *     gpu: { script: string, wasm: string, mode: string } | null,
 *     model: { script: string, wasm: string, gpu: { script: string, wasm: string } | null } | null,
 *     sandbox: { script: string, wasm: string, worker: string } | null }
 *   | { type: 'limit', fraction: number }
 *   | ({ type: 'run' } & Job)
 *   | { type: 'abort', running: string | null }
 * } CoordinatorToCompute
 */

/**
 * @typedef {{ type: 'busy', busyMs: number }
 *   | { type: 'backend', choice: object }
 *   | { type: 'model', loaded: boolean, ms: number, fromCache: boolean, backend: string, adapter?: string }
 *   | { type: 'done', task: string, result: Uint8Array, busyMs: number, backend?: string }
 *   | { type: 'failed', task: string, error: ErrorData }
 * } ComputeToCoordinator
 */

export {};
