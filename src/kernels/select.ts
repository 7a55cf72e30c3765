import code from '../../shaders/select.wgsl?raw';
import { GpuTensor, type Binding, type Gpu, type Uniform } from '../gpu/runtime';

/** How topkMask selects: radix select (any length) or pairwise ranks (short segments, one dispatch). */
export type TopkMethod = 'auto' | 'radix' | 'rank';

export interface TopkMaskOptions {
  segments: number;
  segmentLength: number;
  /** Entries kept per segment; 0 and segmentLength are allowed. */
  keep: number;
  /** Default 'auto': 'rank' for segments of at most `rankMaxLength` entries, else 'radix'. */
  method?: TopkMethod;
  /** Longest segment 'auto' gives to the rank kernel (its cost grows with the length per entry). */
  rankMaxLength?: number;
  /**
   * Radix histograms in workgroup memory merged per tile of a segment ('shared', the default on
   * real GPUs) or atomics straight into the global histograms over tiles of the flat array
   * ('global', no barriers: the default on CPU rasterisers).
   */
  histogram?: 'shared' | 'global';
  /** Entries one histogram workgroup counts (a multiple of 256); default per adapter. */
  tileSize?: number;
  /**
   * How the bin holding the k-th entry is found after each histogram: one invocation per segment
   * walking the bins ('serial', barrier-free: the default on CPU rasterisers) or a workgroup scan
   * per segment ('parallel', the default on real GPUs).
   */
  pick?: 'serial' | 'parallel';
}

export interface NmMaskOptions {
  /** Total entries; a multiple of m. */
  count: number;
  n: number;
  m: number;
  /**
   * When given, the data is a row-major matrix with this many columns and each group is m
   * consecutive rows of one column (e.g. ALPS's B = (W∘d)ᵀ, inputs × outputs, whose N:M groups run
   * along the input axis). The row count must be a multiple of m. Default: groups are m
   * consecutive entries.
   */
  columns?: number;
}

export interface ApplyMaskOptions {
  count: number;
  /** The previous mask (u32); when given, changes are counted into counter[0] and support ← mask. */
  support?: GpuTensor;
  /** u32 counter the number of changed entries is added to (atomically; the caller clears it). */
  counter?: GpuTensor;
  /**
   * Sum the change count per workgroup before the global atomic (one barrier; the default on real
   * GPUs) or add per invocation (the default on CPU rasterisers).
   */
  reduce?: boolean;
}

const BINS = 256;
const STATE = 8;
const WG = 256;
/** The small per-segment kernels (init, pick) use 64-wide workgroups. */
const SMALL_WG = 64;
/**
 * Longest segment 'auto' ranks pairwise. The rank kernel does O(L) work per entry in one dispatch;
 * radix select does O(1) per entry per pass but ~16 dispatches and a 256-bin scan per segment and
 * pass. Measured on SwiftShader the two cross near L = 48; real GPUs hide the O(L) loop longer.
 */
const DEFAULT_RANK_MAX = 128;
const DEFAULT_RANK_MAX_CPU = 48;
/** Grid-stride kernels launch at most this many workgroups; each invocation loops over the rest. */
const MAX_STRIDE_GROUPS = 16384;

/**
 * CPU rasterisers (SwiftShader) pay for every workgroup started, and more for every barrier, so
 * there every pass runs as a few long workgroups: about two per core. On the 2-core machines we
 * measured, 4 workgroups beat 2, 8, 16 and 64 for a 512² pass by 1.2–2×.
 */
function cpuGroups(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2;
  return Math.max(4, 2 * cores);
}

function u(value: number): Uniform {
  return { u32: value };
}

interface Fields {
  count?: number;
  segLen?: number;
  keep?: number;
  segments?: number;
  tilesPerSeg?: number;
  tileSize?: number;
  shift?: number;
  phase?: number;
  value?: number;
}

function params(f: Fields): Uniform[] {
  return [
    u(f.count ?? 0), u(f.segLen ?? 0), u(f.keep ?? 0), u(f.segments ?? 0),
    u(f.tilesPerSeg ?? 0), u(f.tileSize ?? 0), u(f.shift ?? 0), u(f.phase ?? 0),
    u(f.value ?? 0), u(0), u(0), u(0),
  ];
}

/** Folds a workgroup count into x·y within the per-dimension limit; kernels linearise wid.x + wid.y·nx. */
function grid(gpu: Gpu, groups: number): [number, number] {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new Error(`select: ${groups} workgroups exceed a ${max}×${max} grid.`);
  return [Math.ceil(groups / y), y];
}

function strideGrid(gpu: Gpu, items: number): [number, number] {
  const cap = gpu.prefersRegisterTiles ? cpuGroups() : MAX_STRIDE_GROUPS;
  return grid(gpu, Math.min(Math.ceil(items / WG), cap));
}

function bufferOf(b: Binding): GPUBuffer {
  return b instanceof GpuTensor ? b.buffer : b;
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`select: ${name} must be a non-negative integer below 2^32, got ${value}.`);
  }
}

function fill(gpu: Gpu, mask: Binding, count: number, value: number): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'fill' },
    uniforms: params({ count, value }),
    bindings: [mask],
    workgroups: strideGrid(gpu, count),
  });
}

/**
 * mask[i] = 1 for exactly `keep` entries of each segment (the largest |scores|), else 0. Ties broken
 * deterministically: the lower index wins. Segments are contiguous runs of `segmentLength`
 * elements; segments=1 is a whole-matrix top-k. Recorded on the GPU only (no readback).
 */
export function topkMask(
  gpu: Gpu,
  scores: Binding,
  mask: GpuTensor,
  o: TopkMaskOptions,
): void {
  const { segments: S, segmentLength: L, keep } = o;
  checkCount('segments', S);
  checkCount('segmentLength', L);
  checkCount('keep', keep);
  if (keep > L) throw new RangeError(`topkMask: keep (${keep}) exceeds segmentLength (${L}).`);
  const count = S * L;
  // Kernels step indices past the end by up to a segment; 2^31 keeps that clear of u32 wrap-around.
  if (count >= 2 ** 31) throw new RangeError('topkMask: 2^31 entries or more.');
  if (count === 0) return;
  if (bufferOf(scores) === mask.buffer) throw new Error('topkMask: scores and mask must be different buffers.');
  if (keep === 0 || keep === L) {
    fill(gpu, mask, count, keep === 0 ? 0 : 1);
    return;
  }
  const method = o.method ?? 'auto';
  const useRank = method === 'rank' || (method === 'auto' && L <= (o.rankMaxLength ?? (gpu.prefersRegisterTiles ? DEFAULT_RANK_MAX_CPU : DEFAULT_RANK_MAX)));
  if (useRank) {
    gpu.dispatch({
      pipeline: { code, entryPoint: 'rank' },
      uniforms: params({ count, segLen: L, keep }),
      bindings: [scores, mask],
      workgroups: strideGrid(gpu, count),
    });
    return;
  }

  const hist = gpu.tensor([S * BINS], 'u32');
  const state = gpu.tensor([S * STATE], 'u32');
  gpu.dispatch({
    pipeline: { code, entryPoint: 'init' },
    uniforms: params({ count: S * BINS, keep }),
    bindings: [hist, state],
    workgroups: grid(gpu, Math.ceil((S * BINS) / SMALL_WG)),
  });
  const onCpu = gpu.prefersRegisterTiles;
  // Real GPUs: workgroup-memory histograms over tiles of 4096 (16 entries per invocation amortise
  // a tile's merge) and a parallel pick. CPU rasterisers: a few workgroups in all (cpuGroups); with
  // few segments each workgroup takes a big tile of one segment and counts in workgroup memory
  // (local atomics measured ~1.7× faster than global ones there, and a handful of barriers is
  // cheap); with many short segments, barrier-free tiles of the flat array into the global
  // histograms, so the workgroup count does not grow with the segments.
  const groups = cpuGroups();
  const shared = (o.histogram ?? (onCpu && S > groups ? 'global' : 'shared')) === 'shared';
  const parallelPick = (o.pick ?? (onCpu ? 'serial' : 'parallel')) === 'parallel';
  const roundTile = (n: number) => Math.max(WG, Math.ceil(n / WG) * WG);
  const tileSize =
    o.tileSize ??
    (!onCpu ? 4096 : shared ? roundTile(L / Math.max(1, Math.floor(groups / S))) : roundTile(count / groups));
  if (tileSize % WG !== 0 || tileSize <= 0) throw new RangeError('topkMask: tileSize must be a positive multiple of 256.');
  const tilesPerSeg = Math.ceil(L / tileSize);
  const histGrid = grid(gpu, shared ? S * tilesPerSeg : Math.ceil(count / tileSize));
  const pickGrid = grid(gpu, parallelPick ? S : Math.ceil(S / SMALL_WG));
  const pass = (phase: number, shift: number): void => {
    gpu.dispatch({
      pipeline: { code, entryPoint: shared ? 'histogram' : 'histogram_global', constants: { WG } },
      uniforms: params({ segLen: L, segments: S, tilesPerSeg, tileSize, shift, phase }),
      bindings: [scores, hist, state],
      workgroups: histGrid,
    });
    gpu.dispatch({
      pipeline: { code, entryPoint: parallelPick ? 'pick_parallel' : 'pick' },
      uniforms: params({ count: S, shift, phase }),
      bindings: [hist, state],
      workgroups: pickGrid,
    });
  };
  // Value digits of |x|'s bit pattern, most significant first: the keep-th largest key.
  for (const shift of [24, 16, 8, 0]) pass(0, shift);
  // Index digits among entries tied at that key; each pass is a no-op once a segment is done.
  const indexBits = 32 - Math.clz32(L - 1);
  for (let shift = 8 * (Math.ceil(indexBits / 8) - 1); shift >= 0; shift -= 8) pass(1, shift);
  gpu.dispatch({
    pipeline: { code, entryPoint: 'mask' },
    uniforms: params({ count, segLen: L }),
    bindings: [scores, state, mask],
    workgroups: strideGrid(gpu, count),
  });
  // Returning scratch to the pool now is safe: any later user's work is recorded after ours.
  hist.dispose();
  state.dispose();
}

/**
 * N:M: every group of M consecutive elements (groups never straddle rows because row length % M
 * == 0) keeps the N largest |scores|, ties to the lower index. With `columns`, groups run down the
 * columns of a row-major matrix instead (ties to the lower row).
 */
export function nmMask(gpu: Gpu, scores: Binding, mask: GpuTensor, o: NmMaskOptions): void {
  const { count, n, m } = o;
  checkCount('count', count);
  checkCount('n', n);
  checkCount('m', m);
  if (m === 0 || count % m !== 0) throw new RangeError(`nmMask: count (${count}) must be a multiple of m (${m}).`);
  if (n > m) throw new RangeError(`nmMask: n (${n}) exceeds m (${m}).`);
  const columns = o.columns ?? 0;
  checkCount('columns', columns);
  if (columns > 0 && (count % columns !== 0 || (count / columns) % m !== 0)) {
    throw new RangeError(`nmMask: ${count} entries in ${columns} columns do not form whole groups of ${m} rows.`);
  }
  if (count === 0) return;
  if (n === 0 || n === m) {
    fill(gpu, mask, count, n === 0 ? 0 : 1);
    return;
  }
  gpu.dispatch({
    pipeline: { code, entryPoint: 'nm' },
    uniforms: params({ count, keep: n, value: m, segLen: columns }),
    bindings: [scores, mask],
    workgroups: strideGrid(gpu, count / m),
  });
}

/**
 * out[i] = mask[i] ? values[i] : 0. When `support` is given (u32 buffer holding the mask of the
 * previous check) also adds to counter[0] (u32, atomic) the number of i with (mask[i] != support[i])
 * and then copies mask into support. `values` and `out` may be the same buffer.
 */
export function applyMask(gpu: Gpu, values: Binding, mask: Binding, out: Binding, o: ApplyMaskOptions): void {
  const { count, support, counter } = o;
  checkCount('count', count);
  if ((support === undefined) !== (counter === undefined)) {
    throw new Error('applyMask: support and counter go together.');
  }
  if (count === 0) return;
  const inPlace = bufferOf(values) === bufferOf(out);
  const tracked = support !== undefined && counter !== undefined;
  const entryPoint = `apply${tracked ? '_track' : ''}${inPlace ? '_inplace' : ''}`;
  const bindings: Binding[] = inPlace ? [mask, out] : [values, mask, out];
  if (tracked) bindings.push(support, counter);
  gpu.dispatch({
    pipeline: { code, entryPoint, constants: tracked ? { WG_REDUCE: (o.reduce ?? !gpu.prefersRegisterTiles) ? 1 : 0 } : undefined },
    uniforms: params({ count }),
    bindings,
    workgroups: strideGrid(gpu, count),
  });
}
