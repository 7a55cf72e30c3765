/**
 * A layer's numerical health (src/shared/health.ts) for the problem a solver is about to get: the
 * O(n) parts from the host copy of the gram in float64, the condition estimate of the damped,
 * scaled Ĝ on the GPU (power iteration for λ_max, inverse iteration through the solvers' Cholesky
 * factor for λ_min — or, for methods that never factor Ĝ, shifted power iteration; shaders/health.wgsl), read back as 2·HEALTH_POWER_STEPS floats and one flag.
 * Cost: one Cholesky (n³/3) and 3·HEALTH_POWER_STEPS matrix–vector products in two dispatches,
 * next to a solve's many n×n products. ALPS factors Ĝ + ρI, never Ĝ itself, so there is nothing of its to reuse.
 */
import type { Gpu } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
import { dampingOf, scaleGram } from '../kernels/admm';
import { inverseCholeskyUpper } from '../kernels/cholesky';
import { powerIteration } from '../kernels/health';
import { dampingLambda, diagonalHealth, HEALTH_POWER_STEPS, powerStart, type LayerHealth } from '../shared/health';
import { DEFAULT_ALPS, DEFAULT_SPARSEGPT, type Method } from '../shared/methods';
import type { LayerProblem } from '../shared/problem';
import type { SolveOptions } from './types';

/**
 * The damping a method applies before it factors the gram (as alps.ts and sparsegpt.ts read their
 * options); Wanda and magnitude never factor it, so their estimate uses SparseGPT's default.
 */
export function healthDamping(method: Method, options: SolveOptions): { fraction: number; factored: boolean } {
  if (method === 'alps') return { fraction: options.alps?.damping ?? DEFAULT_ALPS.damping, factored: true };
  if (method === 'sparsegpt') return { fraction: options.sparsegpt?.damping ?? options.alps?.damping ?? DEFAULT_SPARSEGPT.damping, factored: true };
  return { fraction: DEFAULT_SPARSEGPT.damping, factored: false };
}

export async function layerHealth(gpu: Gpu, problem: LayerProblem, damping: { fraction: number; factored: boolean }): Promise<LayerHealth> {
  const { n, gram } = problem;
  const rows = problem.rows ?? null;
  const host = {
    n,
    ...diagonalHealth(gram, n),
    rows,
    rankDeficient: rows === null ? null : rows < n,
    damping: { fraction: damping.fraction, lambda: dampingLambda(gram, n, damping.fraction), factored: damping.factored },
  };
  const steps = HEALTH_POWER_STEPS;
  const { stats, failed } = await withScope(gpu, async (scope) => {
    const G = scope.upload(gram, [n, n]);
    const scalars = scope.zeros([4]);
    const Ghat = scope.tensor([n, n]);
    const d = scope.tensor([n]);
    dampingOf(gpu, n, G, scalars, damping.fraction);
    scaleGram(gpu, n, G, scalars, Ghat, d);
    scope.release(G);
    const start = Float32Array.from(powerStart(n));
    const x = scope.upload(start);
    const y = scope.tensor([n]);
    const t = scope.tensor([n]);
    const slots = scope.zeros([2 * steps]);
    powerIteration(gpu, { A: Ghat, x, y, t, stats: slots }, { n, steps, slot: 0, inverse: false });
    gpu.write(x, start);
    if (!damping.factored) {
      // Magnitude and Wanda never factor Ĝ: shifted power iteration, products only (LayerHealth.condition).
      powerIteration(gpu, { A: Ghat, x, y, t, stats: slots }, { n, steps, slot: steps, inverse: false, shiftSlot: steps - 1 });
      return { stats: await gpu.read(slots, 2 * steps), failed: null };
    }
    // The factor of Ĝ itself (this destroys Ghat, done with above), with the solvers' pivot tolerance.
    const U = scope.tensor([n, n]);
    const flag = scope.zeros([1], 'u32');
    inverseCholeskyUpper(gpu, Ghat, U, { n, flag });
    powerIteration(gpu, { A: U, x, y, t, stats: slots }, { n, steps, slot: steps, inverse: true });
    const values = await gpu.read(slots, 2 * steps);
    const [bad] = await gpu.readU32(flag, 1);
    return { stats: values, failed: bad !== 0 };
  });
  const lambdaMax = stats[steps - 1];
  const last = stats[2 * steps - 1];
  if (failed === null) {
    // σ − λ_min from the shifted run; f32 leaves λ_min unresolved below ~1e-7·σ (then no estimate).
    const lambdaMin = Number.isFinite(last) && lambdaMax - last > 1e-7 * lambdaMax ? lambdaMax - last : null;
    return { ...host, condition: { lambdaMax, lambdaMin, estimate: lambdaMin === null ? null : lambdaMax / lambdaMin, steps, by: 'shifted-power' }, factorises: null };
  }
  const factorises = !failed && Number.isFinite(last) && last > 0;
  const lambdaMin = factorises ? 1 / last : null;
  return {
    ...host,
    condition: { lambdaMax, lambdaMin, estimate: lambdaMin === null ? null : lambdaMax / lambdaMin, steps, by: 'inverse-iteration' },
    factorises,
  };
}
