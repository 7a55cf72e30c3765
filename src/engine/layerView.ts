/**
 * Downsampled pictures of one layer for the layer view: max |W| and the kept fraction per cell of
 * a grid of at most `maxCells` per side (a 4096×4096 layer would not fit a canvas pixel per
 * weight), and a histogram of log10 |W| for kept vs pruned weights over shared bins.
 */
import type { Method } from '../shared/methods';
import type { RunKind } from '../shared/outcome';
import type { LayerView } from './types';

export function layerView(
  id: string,
  method: Method,
  run: RunKind,
  dense: Float32Array,
  pruned: Float32Array,
  m: number,
  n: number,
  maxCells = 128,
  bins = 40,
): LayerView {
  if (dense.length !== m * n || pruned.length !== m * n) throw new Error(`Layer ${id}: weights do not match the shape [${m}, ${n}].`);
  const cellRows = Math.ceil(m / maxCells);
  const cellCols = Math.ceil(n / maxCells);
  const rows = Math.ceil(m / cellRows);
  const cols = Math.ceil(n / cellCols);
  const magnitude = new Float32Array(rows * cols);
  const kept = new Float32Array(rows * cols);
  const count = new Float32Array(rows * cols);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < m; i++) {
    const r = Math.floor(i / cellRows);
    for (let j = 0; j < n; j++) {
      const cell = r * cols + Math.floor(j / cellCols);
      const a = Math.abs(dense[i * n + j]);
      if (a > magnitude[cell]) magnitude[cell] = a;
      count[cell]++;
      if (pruned[i * n + j] !== 0) kept[cell]++;
      if (a > 0) {
        const l = Math.log10(a);
        if (l < lo) lo = l;
        if (l > hi) hi = l;
      }
    }
  }
  const density = new Float32Array(rows * cols);
  for (let c = 0; c < density.length; c++) density[c] = count[c] > 0 ? kept[c] / count[c] : 0;

  // Shared bins over log10 |W| of the dense weights (exact zeros have no logarithm: left out).
  if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 0;
  }
  if (hi - lo < 1e-6) hi = lo + 1e-6;
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, b) => lo + b * width);
  const keptHist = new Array<number>(bins).fill(0);
  const prunedHist = new Array<number>(bins).fill(0);
  for (let i = 0; i < m * n; i++) {
    const a = Math.abs(dense[i]);
    if (a === 0) continue;
    const b = Math.min(bins - 1, Math.floor((Math.log10(a) - lo) / width));
    if (pruned[i] !== 0) keptHist[b]++;
    else prunedHist[b]++;
  }
  return { id, method, run, shape: [m, n], rows, cols, cellRows, cellCols, magnitude, density, histogram: { edges, kept: keptHist, pruned: prunedHist } };
}
