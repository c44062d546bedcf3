// @ts-check
// The embedding model's files as a compute Worker fetches them from the relay, with the SHA-256
// each must have: published here, in the package, so that a relay (or anything between it and
// the page) cannot hand a Worker other weights. The relay makes model.f16.safetensors from the
// f32 file deterministically (relay/src/models.rs); tests/e2e/tests/models.rs checks that what
// it serves hashes to these.

import { KINDS } from './kinds.generated.js';

// The kinds the embedding module runs: the registry's kinds that need the model.
export const TEXT_KINDS = KINDS.filter((k) => k.needs === 'model').map((k) => k.name);

/** Whether these contribution settings run text tasks (which one compute Worker does, with the model). */
export const runsText = (contribute) => Boolean(contribute) && contribute.tasks.some((t) => TEXT_KINDS.includes(t));

/** Whether these contribution settings run submitters' own modules (the site lists custom_wasm). */
export const runsWasm = (contribute) => Boolean(contribute) && contribute.tasks.includes('custom_wasm');

export const MINILM = {
  name: 'minilm',
  files: {
    config: { file: 'config.json', sha256: '953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41' },
    sentence: { file: 'sentence_bert_config.json', sha256: 'fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7' },
    tokenizer: { file: 'tokenizer.json', sha256: 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037' },
    weights: { file: 'model.f16.safetensors', sha256: 'e0d20df3bf952fe167a1d822e435f1d8d7a63f13e1f8c33cc3881ae1d707dfb0' },
  },
};
