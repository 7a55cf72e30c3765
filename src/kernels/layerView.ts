import file from '../../shaders/layerview.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

/** How the m × n weight is cut into cells: at most `maxCells` per side, each cellRows × cellCols weights. */
export interface CellGrid {
  rows: number;
  cols: number;
  cellRows: number;
  cellCols: number;
}

export function cellGrid(m: number, n: number, maxCells: number): CellGrid {
  if (!(Number.isInteger(m) && Number.isInteger(n) && m > 0 && n > 0)) throw new RangeError(`A layer view needs a positive integer shape, got [${m}, ${n}].`);
  if (!(Number.isInteger(maxCells) && maxCells > 0)) throw new RangeError(`maxCells must be a positive integer, got ${maxCells}.`);
  const cellRows = Math.ceil(m / maxCells);
  const cellCols = Math.ceil(n / maxCells);
  return { rows: Math.ceil(m / cellRows), cols: Math.ceil(n / cellCols), cellRows, cellCols };
}

/** What the GPU hands back: the grid, the magnitude range and the histogram counts; nothing of size m·n. */
export interface LayerPicture extends CellGrid {
  /** Max |W₀| per cell. */
  magnitude: Float32Array;
  /** Non-zero entries of the pruned weight per cell. */
  kept: Uint32Array;
  /** Smallest non-zero and largest |W₀| (0, 0 when W₀ is all zero). */
  least: number;
  top: number;
  /** Counts per bin of log₁₀ |W₀| between log₁₀ least and log₁₀ top, for kept and pruned weights. */
  keptBins: Uint32Array;
  prunedBins: Uint32Array;
}

/** The most histogram bins one workgroup counts in workgroup memory (2 × this many u32). */
export const MAX_BINS = 1024;
const WG = 64;
/** Grid-stride histogram: at most this many workgroups, each invocation looping over the rest. */
const MAX_GROUPS = 1024;
/** CPU rasterisers pay per workgroup and per barrier: a few long workgroups, about two per core. */
const CPU_GROUPS = 8;
/** Key of +inf: the range's "no non-zero weight yet". */
const NO_MIN = 0x7f800000;

const wgsl = wgslSections(file);
const weightIn = { type: 'f32' } as const;
const rangeDecl = { type: 'atomic<u32>', access: 'read_write' } as const;

const cellsKernel = defineKernel({
  name: 'view_cells',
  uniforms: { m: 'u32', n: 'u32', rows: 'u32', cols: 'u32', cellRows: 'u32', cellCols: 'u32' },
  bindings: { dense: weightIn, pruned: weightIn, magnitude: { type: 'f32', access: 'read_write' }, kept: { type: 'u32', access: 'read_write' }, range: rangeDecl },
  workgroupSize: [WG],
  source: () => wgsl.section('view_cells'),
});

const histogramKernel = defineKernel({
  name: 'view_histogram',
  uniforms: { m: 'u32', n: 'u32', stride: 'u32' },
  bindings: { dense: weightIn, pruned: weightIn, range: { type: 'u32' }, hist: { type: 'atomic<u32>', access: 'read_write' } },
  workgroupSize: [WG],
  source: (flags: { bins: number }) => wgslConsts({ BINS: flags.bins }) + wgsl.section('view_histogram'),
});

/**
 * The layer view's grid and histogram of an m × n dense weight and its pruned version (both f32,
 * row-major, on the GPU). Records three small buffers' worth of work and reads back only those.
 */
export interface LayerPictureOptions {
  /** Cells per side at most (default 128). */
  maxCells?: number;
  /** Histogram bins (default 40, at most MAX_BINS). */
  bins?: number;
  /** Workgroups of the histogram pass (default per adapter: a few on CPU rasterisers). */
  groups?: number;
}

export async function layerPicture(gpu: Gpu, dense: Binding, pruned: Binding, m: number, n: number, options: LayerPictureOptions = {}): Promise<LayerPicture> {
  const { maxCells = 128, bins = 40 } = options;
  if (!(Number.isInteger(bins) && bins > 0 && bins <= MAX_BINS)) throw new RangeError(`bins must be an integer in [1, ${MAX_BINS}], got ${bins}.`);
  const grid = cellGrid(m, n, maxCells);
  const cells = grid.rows * grid.cols;
  const magnitude = gpu.tensor([cells]);
  const kept = gpu.tensor([cells], 'u32');
  const range = gpu.upload(new Uint32Array([NO_MIN, 0]));
  const hist = gpu.zeros([2 * bins], 'u32');
  try {
    cellsKernel.run(gpu, { uniforms: { m, n, ...grid }, bindings: { dense, pruned, magnitude, kept, range }, threads: cells });
    const groups = Math.max(1, Math.min(Math.ceil((m * n) / WG), options.groups ?? (gpu.isSwiftShader ? CPU_GROUPS : MAX_GROUPS)));
    histogramKernel.run(gpu, { flags: { bins }, uniforms: { m, n, stride: groups * WG }, bindings: { dense, pruned, range, hist }, groups });
    const [mag, keptCounts, bounds, counts] = [await gpu.read(magnitude), await gpu.readU32(kept), await gpu.readRaw(range), await gpu.readU32(hist)];
    const [least, top] = new Float32Array(bounds);
    const none = new Uint32Array(bounds)[0] === NO_MIN;
    return { ...grid, magnitude: mag, kept: keptCounts, least: none ? 0 : least, top: none ? 0 : top, keptBins: counts.slice(0, bins), prunedBins: counts.slice(bins) };
  } finally {
    for (const t of [magnitude, kept, range, hist]) t.dispose();
  }
}

const maskCellsKernel = defineKernel({
  name: 'view_mask_cells',
  uniforms: { m: 'u32', n: 'u32', rows: 'u32', cols: 'u32', cellRows: 'u32', cellCols: 'u32' },
  bindings: { mask: { type: 'u32' }, kept: { type: 'u32', access: 'read_write' } },
  workgroupSize: [WG],
  source: () => wgsl.section('view_mask_cells'),
});

/**
 * Records the count of non-zero entries of an m × n u32 mask per cell of `grid` into `kept`
 * (u32, grid.rows × grid.cols). Only records: the caller reads `kept` back when it needs it.
 */
export function maskCells(gpu: Gpu, mask: Binding, m: number, n: number, grid: CellGrid, kept: Binding): void {
  maskCellsKernel.run(gpu, { uniforms: { m, n, ...grid }, bindings: { mask, kept }, threads: grid.rows * grid.cols });
}
