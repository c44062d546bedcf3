// @ts-check
// The page's collection tasks (create, insert, search on a shared collection). The collections
// module (pkg/src/collections.js, loaded here on the first one) checks, plans and runs them; this
// room lends it the identity, the connection, the submission queue and the relay's HTTP API,
// and passes it the connection's collection messages.

import { EdgeNetError, errorData } from '../errors.js';
import { apiUrl, co, counts, post, shardTasks } from './state.js';
import { onSocket } from './socket.js';

/** Listeners for collection messages from the relay (creations waiting for their answer). */
const listeners = new Set();
/** @type {Promise<any> | null} */
let loaded = null;

function load() {
  const cfg = co.cfg;
  if (!loaded && cfg) {
    loaded = (async () => {
      importScripts(cfg.collectionsUrl);
      await self.EdgeNetCollections.init({ module_or_path: cfg.collectionsWasmUrl });
      return self.EdgeNetCollections;
    })().catch((e) => {
      loaded = null;
      throw new EdgeNetError('EN-508', `the collections module did not load from ${cfg.collectionsUrl}: ${e instanceof Error ? e.message : e}`);
    });
  }
  return loaded;
}

/** A collection message from the relay. @param {Uint8Array} bytes */
function onCollectionMessage(bytes) {
  for (const l of [...listeners]) l(bytes);
}
onSocket('collectionMessage', onCollectionMessage);

/**
 * @param {{ req: string, kind: string, payload: any, options: any }} m
 * @param {Function} enqueue the submission queue's `enqueue` (lent to the collections module)
 * @param {(id: string) => void} endTurn ends a paid write's turn at the chain (a creation's
 *   deposit ends its turn at the relay's answer, which no task event carries)
 */
export async function submitCollection({ req, kind, payload, options }, enqueue, endTurn) {
  try {
    const lent = { secret: co.secret, conn: () => co.conn, enqueue, endTurn, shardTasks, listeners, apiUrl, counts };
    post({ type: 'result', req, value: await (await load()).run(kind, payload, options, lent) });
  } catch (e) {
    post({ type: 'result', req, error: errorData(e) });
  }
}
