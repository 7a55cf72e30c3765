import file from '../../shaders/select.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections, type ScalarType, type StorageDecl, type WorkgroupSize } from '../gpu/kernel';
import { GpuTensor, type Binding, type Gpu } from '../gpu/runtime';

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

const wgsl = wgslSections(file);
const scoresIn = { type: 'f32' } as const;
const maskOut = { type: 'u32', access: 'read_write' } as const;
const u32ReadWrite = { type: 'u32', access: 'read_write' } as const;
/** Digit of one radix pass: bits [shift, shift + 8) of the key (phase 0) or of the index (phase 1). */
const digit = { shift: 'u32', phase: 'u32' } as const;

/** A kernel of this family without variants: one section of shaders/select.wgsl. */
function selectKernel<U extends Record<string, ScalarType>, B extends Record<string, StorageDecl>>(
  name: string,
  section: string,
  uniforms: U,
  bindings: B,
  workgroupSize: WorkgroupSize = [WG],
) {
  return defineKernel({ name, uniforms, bindings, workgroupSize, source: () => wgsl.section(section) });
}

const initKernel = selectKernel('topk_init', 'init', { bins: 'u32', keep: 'u32' }, { hist: u32ReadWrite, state: u32ReadWrite }, [SMALL_WG]);
const histogramBindings = { scores: scoresIn, hist: { type: 'atomic<u32>', access: 'read_write' }, state: { type: 'u32' } } as const;
/** A workgroup per tile of one segment, counted in workgroup memory. */
const histogramTilesKernel = selectKernel(
  'topk_histogram_tiles',
  'histogram_tiles',
  { segLen: 'u32', segments: 'u32', tilesPerSeg: 'u32', tileSize: 'u32', ...digit },
  histogramBindings,
);
/** A workgroup per tile of the flat array, straight into the global histograms. */
const histogramFlatKernel = selectKernel(
  'topk_histogram_flat',
  'histogram_flat',
  { segLen: 'u32', segments: 'u32', tileSize: 'u32', ...digit },
  histogramBindings,
);
const pickUniforms = { segments: 'u32', ...digit } as const;
const pickBindings = { hist: u32ReadWrite, state: u32ReadWrite };
/** An invocation per segment walks the bins. */
const pickKernel = selectKernel('topk_pick', 'pick', pickUniforms, pickBindings, [SMALL_WG]);
/** A workgroup per segment scans the bins, an invocation per bin. */
const pickScanKernel = selectKernel('topk_pick_scan', 'pick_scan', pickUniforms, pickBindings, [BINS]);
const maskKernel = selectKernel('topk_mask', 'mask', { count: 'u32', segLen: 'u32' }, { scores: scoresIn, state: { type: 'u32' }, mask: maskOut });
const rankKernel = selectKernel('topk_rank', 'rank', { count: 'u32', segLen: 'u32', keep: 'u32' }, { scores: scoresIn, mask: maskOut });
const nmKernel = selectKernel('nm_mask', 'nm', { groups: 'u32', n: 'u32', m: 'u32', columns: 'u32' }, { scores: scoresIn, mask: maskOut });
const fillKernel = selectKernel('fill_mask', 'fill', { count: 'u32', value: 'u32' }, { mask: maskOut });

/** The parts of shaders/select.wgsl's `apply` that touch variant-only bindings. */
const STORE_COPY = 'fn storeMasked(i: u32, keep: bool) { out[i] = select(0.0, values[i], keep); }\n';
const STORE_IN_PLACE = 'fn storeMasked(i: u32, keep: bool) { if (!keep) { out[i] = 0.0; } }\n';
const TRACK = `fn trackSupport(i: u32, keep: bool) -> u32 {
  let changed = select(0u, 1u, keep != (support[i] != 0u));
  support[i] = select(0u, 1u, keep);
  return changed;
}
fn addToCounter(n: u32) { atomicAdd(&counter[0], n); }
`;
const UNTRACKED = 'fn trackSupport(i: u32, keep: bool) -> u32 { return 0u; }\nfn addToCounter(n: u32) {}\n';

/**
 * Variants: `copy` reads values into a separate out (in place, the one buffer is bound once, as
 * out); `track` counts support changes; `reduce` sums them per workgroup first.
 */
const applyKernel = defineKernel({
  name: 'apply_mask',
  uniforms: { count: 'u32' },
  bindings: {
    values: { type: 'f32', when: 'copy' },
    mask: { type: 'u32' },
    out: { type: 'f32', access: 'read_write' },
    support: { type: 'u32', access: 'read_write', when: 'track' },
    counter: { type: 'atomic<u32>', access: 'read_write', when: 'track' },
  },
  workgroupSize: [WG],
  source: (f: { copy: boolean; track: boolean; reduce: boolean }) =>
    wgslConsts({ REDUCE: f.track && f.reduce }) +
    (f.copy ? STORE_COPY : STORE_IN_PLACE) +
    (f.track ? TRACK : UNTRACKED) +
    wgsl.section('apply'),
});

/** Workgroups of a grid-stride kernel over `items`: capped, each invocation loops over the rest. */
function strideGroups(gpu: Gpu, items: number): number {
  const cap = gpu.prefersRegisterTiles ? cpuGroups() : MAX_STRIDE_GROUPS;
  return Math.min(Math.ceil(items / WG), cap);
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
  fillKernel.run(gpu, { uniforms: { count, value }, bindings: { mask }, groups: strideGroups(gpu, count) });
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
    rankKernel.run(gpu, { uniforms: { count, segLen: L, keep }, bindings: { scores, mask }, groups: strideGroups(gpu, count) });
    return;
  }

  const hist = gpu.tensor([S * BINS], 'u32');
  const state = gpu.tensor([S * STATE], 'u32');
  initKernel.run(gpu, { uniforms: { bins: S * BINS, keep }, bindings: { hist, state }, threads: S * BINS });
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
  const pass = (phase: number, shift: number): void => {
    if (shared) {
      histogramTilesKernel.run(gpu, {
        uniforms: { segLen: L, segments: S, tilesPerSeg, tileSize, shift, phase },
        bindings: { scores, hist, state },
        groups: S * tilesPerSeg,
      });
    } else {
      histogramFlatKernel.run(gpu, {
        uniforms: { segLen: L, segments: S, tileSize, shift, phase },
        bindings: { scores, hist, state },
        groups: Math.ceil(count / tileSize),
      });
    }
    const pick = { uniforms: { segments: S, shift, phase }, bindings: { hist, state } };
    if (parallelPick) pickScanKernel.run(gpu, { ...pick, groups: S });
    else pickKernel.run(gpu, { ...pick, threads: S });
  };
  // Value digits of |x|'s bit pattern, most significant first: the keep-th largest key.
  for (const shift of [24, 16, 8, 0]) pass(0, shift);
  // Index digits among entries tied at that key; each pass is a no-op once a segment is done.
  const indexBits = 32 - Math.clz32(L - 1);
  for (let shift = 8 * (Math.ceil(indexBits / 8) - 1); shift >= 0; shift -= 8) pass(1, shift);
  maskKernel.run(gpu, { uniforms: { count, segLen: L }, bindings: { scores, state, mask }, groups: strideGroups(gpu, count) });
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
  nmKernel.run(gpu, { uniforms: { groups: count / m, n, m, columns }, bindings: { scores, mask }, groups: strideGroups(gpu, count / m) });
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
  const flags = { copy: !inPlace, track: tracked, reduce: tracked && (o.reduce ?? !gpu.prefersRegisterTiles) };
  applyKernel.run(gpu, {
    flags,
    uniforms: { count },
    bindings: { values: inPlace ? undefined : values, mask, out, support, counter },
    groups: strideGroups(gpu, count),
  });
}
