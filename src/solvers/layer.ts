import { CancelledError } from '../gpu/errors';
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import type { LayerProblem } from './types';

export class LayerProblemError extends Error {
  override name = 'LayerProblemError';
}

/** Rejects shapes and values no solver can work with, naming the problem. */
export function validateProblem(p: LayerProblem): void {
  const { m, n } = p;
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 1 || n < 1) {
    throw new LayerProblemError(`The layer must have at least one row and column, got ${m}×${n}.`);
  }
  if (p.weight.length !== m * n) throw new LayerProblemError(`The weight holds ${p.weight.length} values, expected ${m}×${n}.`);
  if (p.gram.length !== n * n) throw new LayerProblemError(`The gram holds ${p.gram.length} values, expected ${n}×${n}.`);
  const bad = (a: Float32Array) => a.findIndex((v) => !Number.isFinite(v));
  const bw = bad(p.weight);
  if (bw >= 0) throw new LayerProblemError(`The weight has a non-finite value (${p.weight[bw]}) at row ${Math.floor(bw / n)}, column ${bw % n}.`);
  const bg = bad(p.gram);
  if (bg >= 0) throw new LayerProblemError(`The gram has a non-finite value (${p.gram[bg]}) at (${Math.floor(bg / n)}, ${bg % n}).`);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    const g = p.gram[i * n + i];
    if (g < 0) throw new LayerProblemError(`The gram has a negative diagonal entry at ${i}; it is not XᵀX of any data.`);
    trace += g;
  }
  if (!(trace > 0)) throw new LayerProblemError('The gram is zero: the calibration data gave this layer no signal.');
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Number of nonzeros. */
export function countNonzeros(w: Float32Array): number {
  let nnz = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) nnz++;
  return nnz;
}

/**
 * The relative reconstruction error f(W)/tr(W0 G W0ᵀ) of a candidate W on the GPU, with the
 * gram as given (undamped). Used by the baselines; ALPS computes its own in the scaled problem.
 */
export async function relativeError(gpu: Gpu, m: number, n: number, W: GpuTensor, W0: GpuTensor, G: GpuTensor): Promise<number> {
  const WG = gpu.tensor([m, n]);
  const Y = gpu.tensor([m, n]);
  const zero = gpu.zeros([m, n]);
  const ones = gpu.upload(new Float32Array(n).fill(1));
  const partials = gpu.tensor([2 * m]);
  const counter = gpu.zeros([1], 'u32');
  const stats = gpu.tensor([3]);
  try {
    matmul(gpu, W, G, WG, { M: m, N: n, K: n });
    matmul(gpu, W0, G, Y, { M: m, N: n, K: n });
    const s = { m, n };
    objectiveRows(gpu, s, { X: W, XG: WG, X0: W0, Y, d: ones, partials }, 0, 0);
    objectiveRows(gpu, s, { X: zero, XG: zero, X0: W0, Y, d: ones, partials }, 1, 0);
    reduceSlots(gpu, m, 2, { partials, counter, stats });
    const [f, f0] = await gpu.read(stats, 2);
    return f0 > 0 ? Math.max(f, 0) / f0 : 0;
  } finally {
    for (const t of [WG, Y, zero, ones, partials, counter, stats]) t.dispose();
  }
}
