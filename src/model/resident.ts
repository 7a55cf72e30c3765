/**
 * GPU-resident values loaded on demand: a block's weights, a vocabulary table, the final norm.
 * Loading reads the checkpoint and uploads, which takes a while; two stages that ask for the same
 * value meanwhile must share that one load, or the first upload would leak. Written once here.
 */
export class ResidentMap<K, V> {
  private readonly values = new Map<K, V>();
  private readonly loading = new Map<K, Promise<V>>();

  /** `free` releases a value's GPU buffers when it is released or evicted. */
  constructor(private readonly free: (value: V) => void) {}

  /** The resident value, without loading it. */
  peek(key: K): V | undefined {
    return this.values.get(key);
  }

  /** The resident value, else the load already under way, else a new load (kept once it resolves). */
  get(key: K, load: () => Promise<V>): Promise<V> {
    const resident = this.values.get(key);
    if (resident !== undefined) return Promise.resolve(resident);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().then((value) => {
        this.values.set(key, value);
        return value;
      });
      this.loading.set(key, pending);
      pending.finally(() => this.loading.delete(key)).catch(() => undefined);
    }
    return pending;
  }

  /** Frees one value; it is loaded again when next asked for. */
  release(key: K): void {
    const value = this.values.get(key);
    if (value === undefined) return;
    this.values.delete(key);
    this.free(value);
  }

  releaseAll(): void {
    for (const key of [...this.values.keys()]) this.release(key);
  }

  keys(): K[] {
    return [...this.values.keys()];
  }

  entries(): IterableIterator<[K, V]> {
    return this.values.entries();
  }

  get size(): number {
    return this.values.size;
  }
}
