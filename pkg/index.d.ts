// Types of the `edgenet` package (dist/edgenet.mjs; window.EdgeNet from dist/edgenet.min.js).

export type TaskType = 'vector_search' | 'encryption' | 'compression' | 'embedding' | 'semantic_match' | 'custom_wasm';

/** An error with a stable code (docs/errors.md): EN-5xx from the package, others from the core. */
export class EdgeNetError extends Error {
  readonly code: string;
}

export interface InitOptions {
  /** 1-64 characters of A-Z, a-z, 0-9, ".", "_", "-". */
  siteId: string;
  /** A number is shorthand for `{ cpuLimit }`. */
  contribution?: number | {
    /** Fraction of a core each compute Worker may use, in (0, 1]. Default 0.3. */
    cpuLimit?: number;
    /** Bytes, 16 MiB to 4 GiB; bounds the number of compute Workers. Default 256 MiB; at least
     * 160 MiB with a text task listed (its Worker holds the model: about 120 MiB). */
    memoryLimit?: number;
    /** Task types to run. Default: vector_search, encryption, compression. The text tasks
     * (embedding, semantic_match) are opt-in: one compute Worker then downloads the embedding
     * model from the relay (45 MB, once; kept in the Cache API) when the first one arrives. */
    tasks?: TaskType[];
    /**
     * Where vector searches run. 'auto' (default): the GPU, with GPU consent and WebGPU, for the
     * sizes where it beat WASM SIMD in a start-up probe; 'gpu': the GPU for every size (if it
     * agrees with the CPU); 'cpu': never load the GPU module.
     */
    backend?: 'auto' | 'gpu' | 'cpu';
  };
  idle?: {
    /** Contribute only while the page has focus. Default false. */
    focusRequired?: boolean;
    /** Milliseconds after the last input before the visitor counts as idle. Default 5000. */
    minIdleTime?: number;
    /** Half the share on battery, none below 20 %. Default true. */
    respectBattery?: boolean;
  };
  /** Relay WebSocket URLs, tried in turn. Default: /ws on the script's origin. */
  relays?: string[];
  /**
   * The folder holding the package's bundles (`edgenet-coordinator.js`, …), for a site that hosts
   * the package files itself. Default: the folder of the script that loaded EdgeNet.
   */
  assetsUrl?: string;
  /** Called when the ledger credits this node: `credits` just earned, `total` the balance after (credits, 6 decimals). */
  onCredit?: (credits: number, total: number) => void;
  onTask?: (task: { id: string; type: TaskType }) => void;
  onError?: (error: EdgeNetError) => void;
  onState?: (state: NodeState) => void;
}

export type NodeState = 'connecting' | 'connected' | 'reconnecting' | 'error' | 'disabled' | 'denied';

export interface Stats {
  /** When the figures were taken (ms on the coordinator's clock; use differences). */
  at: number;
  state: NodeState;
  nodeId: string | null;
  relay: string | null;
  contributing: boolean;
  paused: boolean;
  workers: number;
  cpuLimit: number;
  /** The share each Worker may use now, and the rule that set it. */
  cpuShare: number;
  reason: 'idle' | 'paused' | 'hidden' | 'unfocused' | 'save-data' | 'battery-low' | 'on-battery' | 'frames-dropping' | 'visitor-active' | 'starting';
  busyMs: number;
  busyMsByWorker: number[];
  queued: number;
  running: number;
  /** The GPU Worker's choice; null without GPU consent or until the probe has run. */
  backend: BackendChoice | null;
  /** The embedding model, once this page's Worker loaded it for a text task: how long loading took, whether every file came from the Cache API, and where it runs (WebGPU only with GPU consent and `backend: 'gpu'`). */
  model: { loadMs: number; fromCache: boolean; backend: 'gpu' | 'wasm-simd128'; adapter?: string } | null;
  tasksCompleted: number;
  /** Of tasksCompleted, those that ran on the GPU. */
  tasksOnGpu: number;
  tasksVerified: number;
  tasksRejected: number;
  tasksFailed: number;
  submitted: number;
  /** Seconds since this page joined. */
  uptime: number;
  /** Spendable balance in credits, from the relay's ledger; null until the relay has answered. */
  credits: number | null;
  /** Credits earned ever (work, uptime, bonuses); null until the relay has answered. */
  earned?: number | null;
  /** This node's place by credits earned among the relay's contributors (1 is the best); null before it has earned anything. */
  rank: number | null;
  /** How many accounts have earned anything on the relay; null until it has answered. */
  contributors: number | null;
  /** Reputation in basis points (10,000 is perfect), once a validator has set one. */
  reputation: number | null;
  /** The early-adopter multiplier payments get now (10 at launch, falling towards 1). */
  multiplier: number | null;
}

export interface WidgetOptions {
  container: Element | string;
  theme?: 'light' | 'dark';
  /** The credits row (default true). */
  showCredits?: boolean;
  /** Tasks, uptime and the CPU share (default true). */
  showStats?: boolean;
  /** The rank among the relay's contributors and the early-adopter multiplier (default true). */
  showLeaderboard?: boolean;
}

export interface BackendChoice {
  /** The WebGPU adapter's name, or null when there is none (then `reason` says why). */
  adapter: string | null;
  /** Backend for searches of fewer than 8 queries, and for batches: 'gpu' or 'wasm-simd128'. */
  single: string;
  batch: string;
  forced?: boolean;
  reason?: string;
  /** The probe: queries per second of each backend, one query and a batch of 16. */
  measurements?: { backend: string; queries: number; qps: number }[];
}

export interface EdgeNetNode {
  readonly nodeId: string | null;
  readonly state: NodeState;
  readonly consent: { cpu: boolean; gpu: boolean };
  stats(): Stats;
  pause(): void;
  resume(): void;
  disconnect(): void;
}

export interface VectorSearchPayload {
  /** One query, or `queries`. Rows are arrays, or flat Float32Arrays with `dim`. */
  query?: number[] | Float32Array;
  queries?: number[][] | Float32Array;
  database: number[][] | Float32Array;
  dim?: number;
  /** 1-1024, default 10. */
  k?: number;
  metric?: 'dot' | 'cosine' | 'l2';
}

export interface EncryptionPayload {
  key: Uint8Array | number[];
  nonce: Uint8Array | number[];
  aad?: Uint8Array | number[] | string;
  data: Uint8Array | number[] | string;
}

export interface CompressionPayload {
  /** Rows as arrays, or a flat Float32Array with `dim`. */
  vectors: number[][] | Float32Array;
  dim?: number;
  /** Default 'int8'. */
  mode?: 'int8' | 'binary';
}

export interface EmbeddingPayload {
  /** 1-256 texts, each at most 8192 bytes of UTF-8 (256 KiB in all). The model reads the first
   * 256 tokens of each. */
  texts: string[];
  /** The served model: 'minilm' (all-MiniLM-L6-v2, 384 dimensions), the default. */
  model?: 'minilm';
}

export interface SemanticMatchPayload {
  /** What to match, e.g. a task's description. */
  query: string;
  /** What to rank, e.g. agents' descriptions: 1-255 texts (with the query, the embedding
   * payload's limits). */
  candidates: string[];
  /** How many of the best to return; 0 (default) returns all, ranked. */
  topK?: number;
  model?: 'minilm';
}

/** A shared collection, held by native nodes that offer storage (docs/collections.md). The page's
 * identity owns what it creates; only the owner inserts; anyone may search. */
export interface CollectionCreatePayload {
  /** 1-64 bytes; the id is derived from the owner and the name. */
  name: string;
  /** 1-4096. */
  dim: number;
  /** Default 'cosine'. */
  metric?: 'dot' | 'cosine' | 'l2';
  /** 1-64. Default 1. */
  shards?: number;
  /** Holders of each shard, 1-7. Default 3. */
  replicas?: number;
}

export interface VectorInsertPayload {
  /** The collection's id (32 hex characters). */
  collection: string;
  /** Integers in [0, 2^53), none twice; an id already stored is refused (EN-405). */
  ids: number[];
  /** One vector per id: rows as arrays, or a flat Float32Array with `dim`. */
  vectors: number[][] | Float32Array;
  dim?: number;
}

export interface CollectionSearchPayload {
  collection: string;
  /** One query, or several (rows). */
  query?: number[] | Float32Array;
  queries?: number[][];
  /** 1-1024. Default 10. */
  k?: number;
  /** Candidates each shard keeps while searching, 0-4096; 0 (default): 64. */
  ef?: number;
}

export interface SubmitOptions {
  priority?: 'low' | 'normal' | 'high';
  /** Distinct workers that must agree, 1-7. Default 3. */
  redundancy?: number;
  /**
   * Credits to pay for the task. 0 (default): an unpaid task, which relays run unless started
   * with `--paid-only`. Above 0 the page first escrows that much from its own account (an entry
   * it signs; the credits leave `stats().credits`), the relay pays the agreeing workers from it
   * on the verdict and returns the rest. Without that balance the submission is refused with
   * EN-220 and nothing is spent.
   */
  maxCredits?: number;
  /** Milliseconds, 1-600000. Default 30000. */
  timeout?: number;
  /** Called as the task moves on: workers assigned so far, results in, results needed. */
  onProgress?: (progress: { assigned: number; results: number; needed: number }) => void;
}

/** A collection's tasks: redundancy does not apply (every live replica of a shard runs its
 * tasks and they must agree); maxCredits is the most the whole call may escrow at the published
 * prices (0.5 credit per 100 vectors inserted, 1 credit per 1,000 queries, per replica). */
export type CollectionTask =
  | { type: 'collection_create'; payload: CollectionCreatePayload; options?: SubmitOptions }
  | { type: 'vector_insert'; payload: VectorInsertPayload; options?: SubmitOptions }
  | { type: 'vector_search'; payload: CollectionSearchPayload; options?: SubmitOptions };

export interface ShardReplicas {
  /** Holders whose answers agreed, and those outvoted. */
  agreeing: string[];
  outvoted: string[];
  /** vector_insert: what the shard holds now. */
  vectors?: number;
  batches?: number;
}

export interface CollectionResult {
  type: 'collection_create' | 'vector_insert' | 'vector_search';
  collection: string;
  /** vector_insert, vector_search: every shard's answer agreed across its replicas. A creation
   * is the relay's acknowledgement of the signed spec (false). */
  verified: boolean;
  /** Credits paid at the published prices (0 unpaid). */
  cost: number;
  /** Shard tasks submitted again after a passing failure (a holder left, a shard re-replicating). */
  retries?: number;
  /** collection_create: the spec. */
  spec?: Required<CollectionCreatePayload>;
  /** vector_insert: vectors stored, in how many batches. */
  inserted?: number;
  batches?: number;
  /** vector_search: per query, the k nearest over all shards, closest first. */
  hits?: { id: number; score: number }[][];
  shards?: Record<number, ShardReplicas>;
}

export type Task =
  | { type: 'vector_search'; payload: VectorSearchPayload; options?: SubmitOptions }
  | { type: 'encryption'; payload: EncryptionPayload; options?: SubmitOptions }
  | { type: 'compression'; payload: CompressionPayload; options?: SubmitOptions }
  | { type: 'embedding'; payload: EmbeddingPayload; options?: SubmitOptions }
  | { type: 'semantic_match'; payload: SemanticMatchPayload; options?: SubmitOptions }
  | { type: 'custom_wasm'; payload: CustomWasmPayload; options?: SubmitOptions };

/** The page's own WebAssembly module (docs/custom-wasm.md has its ABI: exports `memory`,
 * `alloc` and `run`, imports nothing), run in the workers' sandboxes on each input. */
export interface CustomWasmPayload {
  /** The module's bytes, at most 512 KiB; with the inputs at most 768 KiB. */
  module: Uint8Array;
  /** One input, or up to 1,024 (strings are sent as UTF-8). */
  input?: Uint8Array | string;
  inputs?: (Uint8Array | string)[];
  /** Fuel each run may use (about one per instruction). Default 10^10; at most 10^11 over all
   * inputs. The task costs 0.01 credit per 10^9 fuel it allows. */
  fuel?: number;
  /** Memory each run may reach, 1-256 MiB. Default 256. */
  memoryMib?: number;
}

/** One run of a custom_wasm input: its output, or the code of its trap (EN-610 to EN-613). */
export interface WasmRun {
  output?: Uint8Array;
  trap?: string;
  fuelUsed: number;
}

export interface VerifiedResult {
  id: string;
  type: TaskType;
  verified: true;
  /** The workers whose results agreed (same as `agreeing`). */
  workers: string[];
  agreeing: string[];
  outvoted: string[];
  /** Credits the task cost: maxCredits / redundancy for each agreeing worker (0 unpaid). */
  cost: number;
  /** embedding: one unit vector per text, in order; any two workers' agreed to cosine ≥ 0.9995. */
  embeddings?: Float32Array[];
  /** semantic_match: candidates by index with their cosine to the query, best first. */
  matches?: { index: number; score: number }[];
  /** vector_search: per query, best first. */
  hits?: { index: number; score: number }[][];
  /** encryption: ciphertext and 16-byte tag. */
  ciphertext?: Uint8Array;
  /** compression: int8 codes (two's complement) with one scale per row, or sign bits as
   * little-endian 64-bit words per row (bit i = value i > 0). */
  compressed?: { mode: 'int8' | 'binary'; dim: number; rows: number; scales: Float32Array; codes: Uint8Array };
  /** custom_wasm: one run per input, in order, and the fuel they used in all. */
  runs?: WasmRun[];
  fuelUsed?: number;
}

export function init(options: InitOptions): Promise<EdgeNetNode>;
export function submit(task: CollectionTask): Promise<CollectionResult>;
export function submit(task: Task): Promise<VerifiedResult>;
export function submitBatch(tasks: Task[]): Promise<VerifiedResult[]>;
export function createWidget(options: WidgetOptions): HTMLElement;
export const TASK_KINDS: TaskType[];
export const version: string;
