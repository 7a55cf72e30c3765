import type { Gpu, GpuTensor } from '../gpu/runtime';
import { dampingOf, scaleGram, scaleWeight } from '../kernels/admm';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import type { LayerProblem } from './types';

/**
 * The damped, diagonally scaled layer problem ALPS and SPAP work in (ALGORITHMS.md, ALPS
 * preparation): λ = damping·mean(diag G), d = sqrt(diag G + λ) + 1e-8, Ĝ = D⁻¹(G + λI)D⁻¹ (unit
 * diagonal), B0 = W0∘d and the target Y = B0·Ĝ, all on the GPU in the [m, n] layout.
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
  dispose(): void;
}

export async function scaleProblem(gpu: Gpu, problem: LayerProblem, damping: number): Promise<ScaledProblem> {
  const { m, n } = problem;
  const G = gpu.upload(problem.gram, [n, n]);
  const W0 = gpu.upload(problem.weight, [m, n]);
  const Ghat = gpu.tensor([n, n]);
  const d = gpu.tensor([n]);
  const B0 = gpu.tensor([m, n]);
  const Y = gpu.tensor([m, n]);
  const scratch = [gpu.zeros([4]), gpu.zeros([m, n]), gpu.tensor([m]), gpu.zeros([1], 'u32'), gpu.tensor([2])];
  const [scalars, zero, partials, counter, stats] = scratch;
  const owned = [G, W0, Ghat, d, B0, Y];
  try {
    dampingOf(gpu, n, G, scalars, damping);
    scaleGram(gpu, n, G, scalars, Ghat, d);
    scaleWeight(gpu, { m, n }, W0, d, B0);
    matmul(gpu, B0, Ghat, Y, { M: m, N: n, K: n });
    const [lambda] = await gpu.read(scalars, 1);
    // The objective of W = 0 is tr(W0 G W0ᵀ).
    objectiveRows(gpu, { m, n }, { X: zero, XG: zero, X0: B0, Y, d, partials }, 0, lambda);
    reduceSlots(gpu, m, 1, { partials, counter, stats });
    const [denominator] = await gpu.read(stats, 1);
    return { m, n, G, W0, Ghat, d, B0, Y, lambda, denominator, dispose: () => owned.forEach((t) => t.dispose()) };
  } catch (error) {
    owned.forEach((t) => t.dispose());
    throw error;
  } finally {
    scratch.forEach((t) => t.dispose());
  }
}

/** f / tr(W0 G W0ᵀ), clamped at 0 against f32 round-off. */
export function relativeTo(sp: ScaledProblem, f: number): number {
  return sp.denominator > 0 ? Math.max(f, 0) / sp.denominator : 0;
}
