/**
 * The kernel of each linear's decode products, chosen by measurement: at first use every candidate
 * (the dense product of the weight as held, its N:M form when every group fits 2:4 or 4:8, its CSR
 * and bitmask forms) is timed at the decode shape on this adapter and the fastest kept, so a layer
 * whose sparsity does not pay stays dense. Choices and sparse forms are cached per runner and
 * rebuilt when the linear's weight is replaced. The chosen kernel's time per linear is also what
 * `msPerLayerType` reports. Sparse forms are built on the CPU from the weight's values; their values
 * stay in the weight's 16-bit format when the checkpoint holds it (exact), else f32.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { freeSparse, sparseProduct, uploadSparse, type SparseWeight } from '../kernels/sparse';
import type { DecodeKernel, KernelMode } from '../shared/generation';
import type { LinearProduct } from './block';
import type { ModelRunner } from './forward';
import { weightProduct } from './gpuWeights';
import { encodeSparse, fitsNM } from './sparseWeights';
import type { Linear } from './tensors';

/** Sparse kernels serve products of at most this many rows (decode steps); a prompt's pass stays dense. */
export const SPARSE_MAX_ROWS = 4;
/** How much faster than the dense product a sparse kernel must measure to be chosen. */
export const SPARSE_MARGIN = 0.05;
const NM_PATTERNS = [
  { n: 2, m: 4 },
  { n: 4, m: 8 },
] as const;

interface Entry {
  /** The override array the choice was made for (null: the checkpoint's weight). */
  source: Float32Array | null;
  kernel: DecodeKernel;
  sparse: SparseWeight | null;
  /** Time of one product at the decode shape with the chosen kernel, ms. */
  ms: number;
  role: string;
}

export interface KernelMeasurement {
  linear: string;
  rows: number;
  cols: number;
  density: number;
  /** ms per product of each candidate timed. */
  ms: Partial<Record<DecodeKernel, number>>;
  chosen: DecodeKernel;
}

/**
 * ms of one call of `record`: the least of `reps` separately timed calls (GPU timestamps where the
 * adapter has them, else wall time around a sync), so that load from other processes inflates
 * the measurement as little as it can.
 */
export async function timeProducts(gpu: Gpu, record: () => void, reps: number): Promise<{ ms: number; timing: 'gpu-timestamps' | 'wall-clock' }> {
  record();
  await gpu.sync();
  let best = Infinity;
  let timing: 'gpu-timestamps' | 'wall-clock' = 'wall-clock';
  for (let r = 0; r < reps; r++) {
    if (gpu.hasTimestamps) {
      gpu.startTiming();
      record();
      const ms = await gpu.stopTiming();
      if (ms !== null) {
        best = Math.min(best, ms);
        timing = 'gpu-timestamps';
        continue;
      }
    }
    const t0 = performance.now();
    record();
    await gpu.sync();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, timing };
}

const caches = new WeakMap<ModelRunner, Map<string, Entry>>();

export class DecodeLinears {
  private readonly entries: Map<string, Entry>;
  readonly measurements: KernelMeasurement[] = [];
  timing: 'gpu-timestamps' | 'wall-clock' = 'wall-clock';

  constructor(
    readonly runner: ModelRunner,
    readonly mode: KernelMode,
    /** Kernels allowed in the race (tests, benchmarks); dense stays the fallback of a linear none of them takes. */
    private readonly allowed: readonly DecodeKernel[] = ['dense', 'nm', 'csr', 'bitmask'],
    /** Products timed per candidate. */
    private readonly reps = 5,
    /** Kernels already chosen by an earlier race (by `<block>.<linear>`): the only candidate of those linears. */
    private readonly given?: Readonly<Record<string, DecodeKernel>>,
  ) {
    let map = caches.get(runner);
    if (!map) caches.set(runner, (map = new Map()));
    this.entries = map;
  }

  private key(layer: number, name: string): string {
    return `${this.prefix}${layer}.${name}`;
  }

  private get prefix(): string {
    return `${this.mode}:${this.allowed.join(',')}|`;
  }

  private overrideOf(layer: number, name: string): Float32Array | null {
    const spec = this.runner.arch.blocks[layer].linears.find((l) => l.name === name)!;
    return this.runner.linearOverrides().get(spec.weight)?.weight ?? null;
  }

  /** Times the candidates of every linear of block `layer` not chosen yet (or whose weight changed). */
  async prepare(layer: number): Promise<void> {
    const gpu = this.runner.gpu;
    const w = await this.runner.store.block(layer);
    for (const lin of w.linears.values()) {
      const key = this.key(layer, lin.spec.name);
      const source = this.overrideOf(layer, lin.spec.name);
      const old = this.entries.get(key);
      if (old && old.source === source) continue;
      if (old?.sparse) freeSparse(old.sparse);
      this.entries.delete(key);
      const { rows, cols } = lin.w;
      let candidates: { kernel: DecodeKernel; sparse: SparseWeight | null }[] = [{ kernel: 'dense', sparse: null }];
      let density = 1;
      const given = this.given?.[`${layer}.${lin.spec.name}`];
      if (this.mode === 'sparse' && given !== 'dense') {
        const values = await this.runner.getLinear(layer, lin.spec.name);
        let nnz = 0;
        for (let i = 0; i < values.length; i++) if (values[i] !== 0) nnz++;
        density = nnz / values.length;
        const format = lin.w.format;
        const allowed = (kernel: DecodeKernel) => this.allowed.includes(kernel) && (given === undefined || kernel === given);
        const nm = NM_PATTERNS.find((p) => fitsNM(values, rows, cols, p.n, p.m));
        if (nm && allowed('nm')) candidates.push({ kernel: 'nm', sparse: uploadSparse(gpu, encodeSparse('nm', values, rows, cols, { ...nm, values: format })) });
        for (const kind of ['csr', 'bitmask'] as const) {
          if (allowed(kind)) candidates.push({ kernel: kind, sparse: uploadSparse(gpu, encodeSparse(kind, values, rows, cols, { values: format })) });
        }
        // With a given sparse kernel, dense stays only as the fallback of a form that cannot be built.
        const raced = candidates.filter((c) => (c.kernel === 'dense' ? this.allowed.includes('dense') && (given === undefined || candidates.length === 1) : c.sparse !== null));
        for (const c of candidates) if (!raced.includes(c) && c.sparse) freeSparse(c.sparse);
        candidates = raced.length > 0 ? raced : [{ kernel: 'dense', sparse: null }];
      }
      const ms: Partial<Record<DecodeKernel, number>> = {};
      let best = 0;
      const times: number[] = [];
      const X = gpu.zeros([1, cols]);
      const Y = gpu.tensor([1, rows]);
      try {
        for (let i = 0; i < candidates.length; i++) {
          const c = candidates[i];
          // A form too large for one binding stays out of the race.
          if (c.kernel !== 'dense' && !c.sparse) {
            times.push(Infinity);
            continue;
          }
          const t = await timeProducts(gpu, () => this.record(c.sparse, lin, X, Y, { rows: 1, ldc: rows }), this.reps);
          this.timing = t.timing;
          times.push(t.ms);
          ms[c.kernel] = t.ms;
          // The dense product is the fallback: a sparse kernel must beat it clearly, not by timing noise.
          const bar = candidates[best].kernel === 'dense' ? times[best] * (1 - SPARSE_MARGIN) : times[best];
          if (t.ms < bar) best = i;
        }
      } finally {
        X.dispose();
        Y.dispose();
      }
      for (let i = 0; i < candidates.length; i++) if (i !== best && candidates[i].sparse) freeSparse(candidates[i].sparse!);
      const chosen = candidates[best];
      this.entries.set(key, { source, kernel: chosen.kernel, sparse: chosen.sparse, ms: times[best], role: lin.spec.role });
      this.measurements.push({ linear: `${layer}.${lin.spec.name}`, rows, cols, density, ms, chosen: chosen.kernel });
    }
  }

  private record(sparse: SparseWeight | null, lin: Linear, X: GpuTensor, Y: GpuTensor, o: Parameters<LinearProduct>[4]): void {
    if (sparse && o.rows <= SPARSE_MAX_ROWS) sparseProduct(this.runner.gpu, X, sparse, Y, o);
    else weightProduct(this.runner.gpu, X, lin.w, Y, o);
  }

  /** The product hook for runBlock: each linear through its chosen kernel (prepare() first). */
  readonly product: LinearProduct = (layer, lin, X, Y, o) => {
    const e = this.entries.get(this.key(layer, lin.spec.name));
    this.record(e?.sparse ?? null, lin, X, Y, o);
  };

  /** The chosen kernel of every linear prepared, by `<block>.<linear>`. */
  choices(): Record<string, DecodeKernel> {
    const out: Record<string, DecodeKernel> = {};
    const prefix = this.prefix;
    for (const [key, e] of this.entries) if (key.startsWith(prefix)) out[key.slice(prefix.length)] = e.kernel;
    return out;
  }

  /** Per role and candidate kernel, the measured time of one decode product summed over the blocks, ms. */
  candidateMs(): Record<string, Partial<Record<DecodeKernel, number>>> {
    const out: Record<string, Partial<Record<DecodeKernel, number>>> = {};
    for (const m of this.measurements) {
      const role = this.entries.get(this.prefix + m.linear)?.role ?? m.linear;
      const row = (out[role] ??= {});
      for (const [k, ms] of Object.entries(m.ms) as [DecodeKernel, number][]) row[k] = (row[k] ?? 0) + ms;
    }
    return out;
  }

  /** Per role, the chosen kernels' time of one decode product summed over the blocks, ms. */
  msPerRole(): Record<string, number> {
    const out: Record<string, number> = {};
    const prefix = this.prefix;
    for (const [key, e] of this.entries) if (key.startsWith(prefix)) out[e.role] = (out[e.role] ?? 0) + e.ms;
    return out;
  }
}

/** Frees the sparse forms cached for a runner (e.g. before it is disposed). */
export function releaseDecodeLinears(runner: ModelRunner): void {
  const map = caches.get(runner);
  if (!map) return;
  for (const e of map.values()) if (e.sparse) freeSparse(e.sparse);
  caches.delete(runner);
}
