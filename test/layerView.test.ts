import { describe, expect, it } from 'vitest';
import { layerView } from '../src/engine/layerView';
import { cellGrid } from '../src/kernels/layerView';
import { testGpu } from './helpers/gpu';
import { rng } from './helpers/reference';

/**
 * The float64 CPU reference: the layer view as the worker computed it before the GPU did (max |W₀|
 * and kept fraction per cell, log₁₀ |W₀| histogram over shared bins, kept vs pruned).
 */
function layerViewRef(dense: Float32Array, pruned: Float32Array, m: number, n: number, maxCells: number, bins: number) {
  const cellRows = Math.ceil(m / maxCells);
  const cellCols = Math.ceil(n / maxCells);
  const rows = Math.ceil(m / cellRows);
  const cols = Math.ceil(n / cellCols);
  const magnitude = new Float64Array(rows * cols);
  const kept = new Float64Array(rows * cols);
  const count = new Float64Array(rows * cols);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const cell = Math.floor(i / cellRows) * cols + Math.floor(j / cellCols);
      const a = Math.abs(dense[i * n + j]);
      if (a > magnitude[cell]) magnitude[cell] = a;
      count[cell]++;
      if (pruned[i * n + j] !== 0) kept[cell]++;
      if (a > 0) {
        lo = Math.min(lo, Math.log10(a));
        hi = Math.max(hi, Math.log10(a));
      }
    }
  }
  const density = Float64Array.from(kept, (k, c) => k / count[c]);
  if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 0;
  }
  if (hi - lo < 1e-6) hi = lo + 1e-6;
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, b) => lo + b * width);
  const keptHist = new Array<number>(bins).fill(0);
  const prunedHist = new Array<number>(bins).fill(0);
  // Weights this close (in bins) to an edge may fall either side in f32: the GPU's log is f32.
  let nearEdge = 0;
  for (let i = 0; i < m * n; i++) {
    const a = Math.abs(dense[i]);
    if (a === 0) continue;
    const x = (Math.log10(a) - lo) / width;
    if (Math.abs(x - Math.round(x)) < 1e-4 && Math.round(x) > 0 && Math.round(x) < bins) nearEdge++;
    const b = Math.min(bins - 1, Math.floor(x));
    if (pruned[i] !== 0) keptHist[b]++;
    else prunedHist[b]++;
  }
  return { rows, cols, cellRows, cellCols, magnitude, density, edges, kept: keptHist, pruned: prunedHist, nearEdge };
}

/** Magnitudes over several decades, a share of exact zeros, and a random mask of about `keep`. */
function weights(count: number, seed: number, zeros = 0.05, keep = 0.5): { dense: Float32Array; pruned: Float32Array } {
  const r = rng(seed);
  const dense = Float32Array.from({ length: count }, () => (r() < zeros ? 0 : (r() < 0.5 ? -1 : 1) * 10 ** (-4 * r())));
  const pruned = Float32Array.from(dense, (w) => (r() < keep ? w : 0));
  return { dense, pruned };
}

function histogramDistance(got: number[], want: number[]): number {
  return got.reduce((s, g, b) => s + Math.abs(g - want[b]), 0);
}

async function check(dense: Float32Array, pruned: Float32Array, m: number, n: number, maxCells = 128, bins = 40, groups?: number) {
  const gpu = await testGpu();
  const got = await layerView(gpu, 'layer', 'magnitude', 'layer', dense, pruned, m, n, { maxCells, bins, groups });
  const want = layerViewRef(dense, pruned, m, n, maxCells, bins);
  expect([got.rows, got.cols, got.cellRows, got.cellCols]).toEqual([want.rows, want.cols, want.cellRows, want.cellCols]);
  expect(Array.from(got.magnitude)).toEqual(Array.from(want.magnitude));
  expect(Array.from(got.density)).toEqual(Array.from(Float32Array.from(want.density)));
  expect(got.histogram.edges.length).toBe(bins + 1);
  for (let b = 0; b <= bins; b++) expect(got.histogram.edges[b]).toBeCloseTo(want.edges[b], 12);
  // Every non-zero weight counted exactly once; per bin, only weights at an edge may move.
  const total = (h: number[]) => h.reduce((a, b) => a + b, 0);
  expect(total(got.histogram.kept)).toBe(total(want.kept));
  expect(total(got.histogram.pruned)).toBe(total(want.pruned));
  expect(histogramDistance(got.histogram.kept, want.kept) + histogramDistance(got.histogram.pruned, want.pruned)).toBeLessThanOrEqual(2 * want.nearEdge);
  return { got, want };
}

describe('layer view on the GPU against the float64 reference', () => {
  it('one row, one column and a single weight', async () => {
    for (const [m, n, seed] of [
      [1, 300, 1],
      [300, 1, 2],
      [1, 1, 3],
    ] as const) {
      const { dense, pruned } = weights(m * n, seed, m * n === 1 ? 0 : 0.05);
      await check(dense, pruned, m, n);
    }
  });

  it('shapes that are not multiples of the cell or the workgroup', async () => {
    for (const [m, n, maxCells, bins, seed] of [
      [129, 257, 128, 40, 4],
      [130, 70, 16, 7, 5],
      [65, 193, 9, 40, 6],
    ] as const) {
      const { dense, pruned } = weights(m * n, seed);
      const { got } = await check(dense, pruned, m, n, maxCells, bins);
      expect(got.rows).toBeLessThanOrEqual(maxCells);
      expect(got.cols).toBeLessThanOrEqual(maxCells);
    }
  });

  it('one histogram workgroup, and more workgroups than a CPU rasteriser gets (grid stride and merge)', async () => {
    const { dense, pruned } = weights(97 * 211, 9);
    await check(dense, pruned, 97, 211, 128, 40, 1);
    await check(dense, pruned, 97, 211, 128, 40, 300);
    await check(dense, pruned, 97, 211, 128, 1024, 5);
  });

  it('a down_proj-shaped 576 × 1536 layer: a 116 × 128 grid of 5 × 12 cells', async () => {
    const { dense, pruned } = weights(576 * 1536, 7, 0.01);
    const { got } = await check(dense, pruned, 576, 1536);
    expect([got.rows, got.cols, got.cellRows, got.cellCols]).toEqual([116, 128, 5, 12]);
  });

  it('all-zero weights, all pruned, and a single magnitude', async () => {
    const zeros = new Float32Array(37 * 41);
    const { got } = await check(zeros, zeros, 37, 41);
    expect(got.histogram.kept.concat(got.histogram.pruned).every((c) => c === 0)).toBe(true);
    expect(got.histogram.edges[0]).toBe(-1);
    const { dense } = weights(50 * 3, 8, 0.1);
    await check(dense, new Float32Array(dense.length), 50, 3);
    const constant = Float32Array.from({ length: 23 * 19 }, (_, i) => (i % 3 === 0 ? -0.25 : 0.25));
    const { got: flat } = await check(constant, constant, 23, 19);
    expect(flat.histogram.kept[0]).toBe(23 * 19);
  });

  it('refuses a shape that does not match the weights, and a bad grid', async () => {
    const gpu = await testGpu();
    await expect(layerView(gpu, 'x', 'magnitude', 'layer', new Float32Array(6), new Float32Array(6), 2, 4)).rejects.toThrow(/do not match the shape \[2, 4\]/);
    expect(() => cellGrid(0, 4, 128)).toThrow(/positive integer shape/);
  });
});
