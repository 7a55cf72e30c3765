/**
 * Downsampled pictures of one layer for the layer view: max |W| and the kept fraction per cell of
 * a grid of at most `maxCells` per side (a 4096×4096 layer would not fit a canvas pixel per
 * weight), and a histogram of log10 |W| for kept vs pruned weights over shared bins. The GPU
 * reduces the weights (src/kernels/layerView.ts); only the grid and the bins come back.
 */
import type { Gpu } from '../gpu/runtime';
import { layerPicture, type LayerPictureOptions } from '../kernels/layerView';
import type { Method } from '../shared/methods';
import type { RunKind } from '../shared/outcome';
import type { LayerView } from './types';

export async function layerView(
  gpu: Gpu,
  id: string,
  method: Method,
  run: RunKind,
  dense: Float32Array,
  pruned: Float32Array,
  m: number,
  n: number,
  options: LayerPictureOptions = {},
): Promise<LayerView> {
  const bins = options.bins ?? 40;
  if (dense.length !== m * n || pruned.length !== m * n) throw new Error(`Layer ${id}: weights do not match the shape [${m}, ${n}].`);
  // Refused before anything is allocated: a failed allocation would cost the device (and a running job).
  const limit = gpu.limits.maxStorageBufferBindingSize;
  if (m * n * 4 > limit) throw new Error(`Layer ${id} (${m} × ${n}) is larger than this GPU binds at once (${Math.floor(limit / 2 ** 20)} MiB), so its heatmaps cannot be drawn here.`);
  const denseGpu = gpu.upload(dense);
  const prunedGpu = gpu.upload(pruned);
  try {
    const picture = await layerPicture(gpu, denseGpu, prunedGpu, m, n, { ...options, bins });
    const { rows, cols, cellRows, cellCols } = picture;
    const density = new Float32Array(rows * cols);
    for (let c = 0; c < density.length; c++) {
      const r0 = Math.floor(c / cols) * cellRows;
      const c0 = (c % cols) * cellCols;
      const size = (Math.min(m, r0 + cellRows) - r0) * (Math.min(n, c0 + cellCols) - c0);
      density[c] = picture.kept[c] / size;
    }
    // Bin edges in float64 from the exact f32 extremes (a layer of zeros gets [-1, 0], no counts).
    const lo = picture.top > 0 ? Math.log10(picture.least) : -1;
    let hi = picture.top > 0 ? Math.log10(picture.top) : 0;
    if (hi - lo < 1e-6) hi = lo + 1e-6;
    const width = (hi - lo) / bins;
    const edges = Array.from({ length: bins + 1 }, (_, b) => lo + b * width);
    return {
      id,
      method,
      run,
      shape: [m, n],
      rows,
      cols,
      cellRows,
      cellCols,
      magnitude: picture.magnitude,
      density,
      histogram: { edges, kept: Array.from(picture.keptBins), pruned: Array.from(picture.prunedBins) },
    };
  } finally {
    denseGpu.dispose();
    prunedGpu.dispose();
  }
}
