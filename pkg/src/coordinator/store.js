// @ts-check
// What the coordinator keeps in IndexedDB: the identity seed (`keys`) and, since version 2, the
// ledger entries that concern this node as the relay sent them (`ledger`: hash hex -> bytes).

import { generateSecretKey } from '../../wasm/edgenet.js';
import { report } from './state.js';

/**
 * Runs `fn` on one object store in one transaction; resolves with its request's result.
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} fn
 * @param {string} [store]
 * @returns {Promise<T>}
 */
function idb(mode, fn, store = 'keys') {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('edgenet', 2);
    open.onupgradeneeded = () => {
      for (const name of ['keys', 'ledger']) {
        if (!open.result.objectStoreNames.contains(name)) open.result.createObjectStore(name);
      }
    };
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => { open.result.close(); resolve(req.result); };
      tx.onerror = () => reject(tx.error);
    };
  });
}

/** The identity seed, made and stored on first use. @returns {Promise<Uint8Array>} */
export async function loadIdentity() {
  try {
    const stored = await idb('readonly', (s) => s.get('identity'));
    if (stored instanceof Uint8Array && stored.length === 32) return stored;
    const fresh = generateSecretKey();
    await idb('readwrite', (s) => s.put(fresh, 'identity'));
    return fresh;
  } catch (e) {
    // No IndexedDB (some private modes): work with a key for this page only, and say so.
    report({ message: `EN-504: the identity cannot be stored (${e instanceof Error ? e.message : e}); this page uses a temporary one` });
    return generateSecretKey();
  }
}

/** Every kept entry, encoded: the endpoint finds its own chain among them. @returns {Promise<Uint8Array[]>} */
export async function keptEntries() {
  try {
    return await idb('readonly', (s) => s.getAll(), 'ledger');
  } catch {
    return []; // the endpoint then asks the relay for the whole chain before writing
  }
}

/** @param {Array<{ hash: string, bytes: Uint8Array }>} entries */
export async function keepEntries(entries) {
  try {
    await idb('readwrite', (s) => {
      for (const e of entries) s.put(e.bytes, e.hash);
      return s.count();
    }, 'ledger');
  } catch (e) {
    report({ message: `EN-506: ledger entries cannot be kept in IndexedDB (${e instanceof Error ? e.message : e}); the credits shown still come from the relay` });
  }
}
