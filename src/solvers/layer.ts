import type { Gpu, GpuTensor } from '../gpu/runtime';
import { withScope, type GpuScope } from '../gpu/scope';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import type { Pattern } from '../shared/pattern';
import type { LayerProblem } from '../shared/problem';
import type { SolveOptions, SolverOutput } from './types';

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

/** Number of nonzeros. */
export function countNonzeros(w: Float32Array): number {
  let nnz = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) nnz++;
  return nnz;
}

/**
 * The relative reconstruction error f(W)/tr(W0 G W0ᵀ) of a candidate W on the GPU, with the
 * gram as given (undamped). Used by the one-shot methods; ALPS computes its own in the scaled problem.
 */
export async function relativeError(gpu: Gpu, m: number, n: number, W: GpuTensor, W0: GpuTensor, G: GpuTensor): Promise<number> {
  return withScope(gpu, async (scope) => {
    const WG = scope.tensor([m, n]);
    const Y = scope.tensor([m, n]);
    const zero = scope.zeros([m, n]);
    const ones = scope.upload(new Float32Array(n).fill(1));
    const partials = scope.tensor([2 * m]);
    const counter = scope.zeros([1], 'u32');
    const stats = scope.tensor([3]);
    matmul(gpu, W, G, WG, { M: m, N: n, K: n });
    matmul(gpu, W0, G, Y, { M: m, N: n, K: n });
    const s = { m, n };
    objectiveRows(gpu, s, { X: W, XG: WG, X0: W0, Y, d: ones, partials }, 0, 0);
    objectiveRows(gpu, s, { X: zero, XG: zero, X0: W0, Y, d: ones, partials }, 1, 0);
    reduceSlots(gpu, m, 2, { partials, counter, stats });
    const [f, f0] = await gpu.read(stats, 2);
    return f0 > 0 ? Math.max(f, 0) / f0 : 0;
  });
}

/** W0 [m, n] and G [n, n] uploaded for a one-shot method. */
export interface UploadedLayer {
  W0: GpuTensor;
  G: GpuTensor;
  m: number;
  n: number;
}

/** A one-shot method: one pass over W0 that returns the pruned weight, kept in `scope`. */
export type OneShotPrune = (scope: GpuScope, layer: UploadedLayer, pattern: Pattern, options: SolveOptions) => GpuTensor | Promise<GpuTensor>;

/**
 * Wraps a one-shot method (SparseGPT, Wanda, magnitude) as a solve: uploads W0 and G, prunes,
 * measures the relative error with the undamped gram, and hands the pruned weight to the caller.
 */
export function oneShot(prune: OneShotPrune) {
  return (gpu: Gpu, problem: LayerProblem, pattern: Pattern, options: SolveOptions): Promise<SolverOutput> =>
    withScope(gpu, async (scope) => {
      const { m, n } = problem;
      const W0 = scope.upload(problem.weight, [m, n]);
      const G = scope.upload(problem.gram, [n, n]);
      const weight = scope.keep(await prune(scope, { W0, G, m, n }, pattern, options));
      const relError = await relativeError(gpu, m, n, weight, W0, G);
      return { weight: scope.detach(weight), relError, relErrorBeforeRefit: relError, iterations: 1, history: [], pcg: [] };
    });
}
