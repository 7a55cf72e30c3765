/**
 * Pruned weights kept at the dtype their checkpoint stores them in. A whole-model run holds every
 * finished layer until export; as float32 that is twice a BF16/F16 file (499 MiB at the SmolLM2-135M
 * shape), so a half-precision tensor is rounded once when it is set and kept as its 16-bit patterns.
 * `set` returns the rounded values: the run feeds exactly those to the next layers and blocks, so the
 * model it calibrates on is the model it exports, and a run resumed from a checkpoint (which stores
 * the same bits) computes the same weights as one that never stopped.
 */
import { bf16ToF32Array, f16ToF32Array, f32ToBf16Array, f32ToF16Array, type WritableDType } from './dtypes';

/** One tensor as kept: float32 values, or F16/BF16 bit patterns. */
export interface StoredWeight {
  dtype: WritableDType;
  data: Float32Array | Uint16Array;
}

/** The form IndexedDB stores (structured clone keeps typed arrays, not classes or functions). */
export type StoredWeights = [name: string, weight: StoredWeight][];

export function decodeStored(w: StoredWeight): Float32Array {
  if (w.dtype === 'F32') return w.data as Float32Array;
  return w.dtype === 'BF16' ? bf16ToF32Array(w.data as Uint16Array) : f16ToF32Array(w.data as Uint16Array);
}

function encodeStored(dtype: WritableDType, values: Float32Array): StoredWeight {
  if (dtype === 'F32') return { dtype, data: values };
  return { dtype, data: dtype === 'BF16' ? f32ToBf16Array(values) : f32ToF16Array(values) };
}

/**
 * A map from checkpoint tensor names to pruned weights that reads as float32 (`get` decodes a
 * fresh array for half-precision tensors) and stores each at `dtypeOf(name)`.
 */
export class WeightTable implements ReadonlyMap<string, Float32Array> {
  private readonly table = new Map<string, StoredWeight>();

  constructor(private readonly dtypeOf: (name: string) => WritableDType = () => 'F32') {}

  /** Keeps `values` at the tensor's dtype and returns the values as kept (rounded for F16/BF16). */
  set(name: string, values: Float32Array): Float32Array {
    const stored = encodeStored(this.dtypeOf(name), values);
    this.table.set(name, stored);
    return decodeStored(stored);
  }

  /** Keeps an already encoded tensor (a checkpoint's bits) as it is. */
  setStored(name: string, weight: StoredWeight): void {
    this.table.set(name, weight);
  }

  stored(name: string): StoredWeight | undefined {
    return this.table.get(name);
  }

  get(name: string): Float32Array | undefined {
    const w = this.table.get(name);
    return w && decodeStored(w);
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  delete(name: string): boolean {
    return this.table.delete(name);
  }

  clear(): void {
    this.table.clear();
  }

  get size(): number {
    return this.table.size;
  }

  /** Bytes of the kept values (what the run holds in memory for its finished layers). */
  get bytes(): number {
    let total = 0;
    for (const w of this.table.values()) total += w.data.byteLength;
    return total;
  }

  keys(): MapIterator<string> {
    return this.table.keys();
  }

  *entries(): MapIterator<[string, Float32Array]> {
    for (const [name, w] of this.table) yield [name, decodeStored(w)];
  }

  *values(): MapIterator<Float32Array> {
    for (const w of this.table.values()) yield decodeStored(w);
  }

  [Symbol.iterator](): MapIterator<[string, Float32Array]> {
    return this.entries();
  }

  forEach(callback: (value: Float32Array, key: string, map: ReadonlyMap<string, Float32Array>) => void): void {
    for (const [name, values] of this.entries()) callback(values, name, this);
  }

  /** For storage: the kept tensors as plain data. */
  toStored(): StoredWeights {
    return [...this.table];
  }

  static fromStored(entries: StoredWeights, dtypeOf?: (name: string) => WritableDType): WeightTable {
    const t = new WeightTable(dtypeOf);
    for (const [name, w] of entries) t.setStored(name, w);
    return t;
  }
}
