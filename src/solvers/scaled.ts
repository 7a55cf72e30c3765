import type { GpuTensor } from '../gpu/runtime';
import { withScope, type GpuScope } from '../gpu/scope';
import { dampingOf, scaleGram, scaleWeight } from '../kernels/admm';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import type { LayerProblem } from '../shared/problem';

/**
 * The damped, diagonally scaled layer problem ALPS and SPAP work in (docs/algorithms.md, ALPS
 * preparation): λ = damping·mean(diag G), d = sqrt(diag G + λ) + 1e-8, Ĝ = D⁻¹(G + λI)D⁻¹ (unit
 * diagonal), B0 = W0∘d and the target Y = B0·Ĝ, all on the GPU in the [m, n] layout, owned by
 * the scope it was made in.
 */
export interface ScaledProblem {
  m: number;
  n: number;
  G: GpuTensor;
  W0: GpuTensor;
  Ghat: GpuTensor;
  d: GpuTensor;
  B0: GpuTensor;
  Y: GpuTensor;
  /** The damping added to diag G. */
  lambda: number;
  /** tr(W0 G W0ᵀ) with the undamped gram: the denominator of every relative error. */
  denominator: number;
}

export async function scaleProblem(scope: GpuScope, problem: LayerProblem, damping: number): Promise<ScaledProblem> {
  const { gpu } = scope;
  const { m, n } = problem;
  const G = scope.upload(problem.gram, [n, n]);
  const W0 = scope.upload(problem.weight, [m, n]);
  const Ghat = scope.tensor([n, n]);
  const d = scope.tensor([n]);
  const B0 = scope.tensor([m, n]);
  const Y = scope.tensor([m, n]);
  return withScope(gpu, async (scratch) => {
    const scalars = scratch.zeros([4]);
    const zero = scratch.zeros([m, n]);
    const partials = scratch.tensor([m]);
    const counter = scratch.zeros([1], 'u32');
    const stats = scratch.tensor([2]);
    dampingOf(gpu, n, G, scalars, damping);
    scaleGram(gpu, n, G, scalars, Ghat, d);
    scaleWeight(gpu, { m, n }, W0, d, B0);
    matmul(gpu, B0, Ghat, Y, { M: m, N: n, K: n });
    const [lambda] = await gpu.read(scalars, 1);
    // The objective of W = 0 is tr(W0 G W0ᵀ).
    objectiveRows(gpu, { m, n }, { X: zero, XG: zero, X0: B0, Y, d, partials }, 0, lambda);
    reduceSlots(gpu, m, 1, { partials, counter, stats });
    const [denominator] = await gpu.read(stats, 1);
    return { m, n, G, W0, Ghat, d, B0, Y, lambda, denominator };
  });
}

/** f / tr(W0 G W0ᵀ), clamped at 0 against f32 round-off. */
export function relativeTo(sp: ScaledProblem, f: number): number {
  return sp.denominator > 0 ? Math.max(f, 0) / sp.denominator : 0;
}
