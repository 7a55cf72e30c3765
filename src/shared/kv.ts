/**
 * A minimal key-value store, on IndexedDB both on the page (the UI's result reports) and in the
 * worker (the engine's pruned weights). It lives in shared because both sides use it and it imports
 * nothing; opening is lazy, so importing it touches no storage. Storage is best-effort (private
 * windows and full quotas refuse it), so callers treat failures as "not stored", not as run failures.
 */
export interface KvStore {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
  /** Deletes every key starting with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

const STORE = 'kv';

function promisify<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

export function openKv(dbName: string): KvStore {
  let db: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> => {
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined') {
        reject(new Error('IndexedDB is not available in this browser context.'));
        return;
      }
      const req = indexedDB.open(dbName, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error(`Cannot open IndexedDB ${dbName}`));
    });
    // A failed open is not cached, so a later call may succeed (e.g. after the quota is freed).
    db.catch(() => (db = null));
    return db;
  };
  const tx = async (mode: IDBTransactionMode): Promise<IDBObjectStore> => (await open()).transaction(STORE, mode).objectStore(STORE);
  const range = (prefix: string) => IDBKeyRange.bound(prefix, `${prefix}\uffff`);
  return {
    async get<T>(key: string) {
      return (await promisify((await tx('readonly')).get(key))) as T | undefined;
    },
    async put(key, value) {
      await promisify((await tx('readwrite')).put(value, key));
    },
    async deletePrefix(prefix) {
      await promisify((await tx('readwrite')).delete(range(prefix)));
    },
    async keys(prefix) {
      return (await promisify((await tx('readonly')).getAllKeys(range(prefix)))) as string[];
    },
  };
}

/** The same store in memory: for the engine outside a browser (tests, Node) and as a fallback. */
export function memoryKv(): KvStore {
  const map = new Map<string, unknown>();
  const under = (prefix: string) => [...map.keys()].filter((k) => k.startsWith(prefix));
  return {
    get: <T>(key: string) => Promise.resolve(map.get(key) as T | undefined),
    put: (key, value) => Promise.resolve(void map.set(key, value)),
    deletePrefix: (prefix) => Promise.resolve(under(prefix).forEach((k) => map.delete(k))),
    keys: (prefix) => Promise.resolve(under(prefix)),
  };
}
