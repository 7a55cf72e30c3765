/**
 * A minimal IndexedDB key-value store that works both on the page and in the worker. Finished
 * results are kept here so they survive a reload; storage is best-effort (private windows and full
 * quotas refuse it), so callers treat failures as "not stored" rather than as run failures.
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
