/**
 * The KV cache of incremental decoding: per block, the k|v rows (2·kvCols wide, k first) of every
 * position decoded so far, for a fixed capacity chosen at the start (prompt + new tokens). Blocks
 * whose attention lost key/value heads to a structured run get their own width.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';

export class KvCache {
  private readonly rows: (GpuTensor | null)[];
  /** Positions held (the next token's position). */
  length = 0;

  constructor(
    private readonly gpu: Gpu,
    layers: number,
    readonly capacity: number,
  ) {
    this.rows = new Array<GpuTensor | null>(layers).fill(null);
  }

  /** Block `layer`'s cache, allocated on first use for `kvCols` key (and as many value) columns. */
  layer(layer: number, kvCols: number): GpuTensor {
    let t = this.rows[layer];
    if (t && t.size !== this.capacity * 2 * kvCols) throw new Error(`KV cache: block ${layer} changed its key/value width during decoding.`);
    if (!t) {
      t = this.gpu.tensor([this.capacity, 2 * kvCols]);
      this.rows[layer] = t;
    }
    return t;
  }

  dispose(): void {
    for (const t of this.rows) t?.dispose();
    this.rows.fill(null);
  }
}
