/**
 * Local search after any method (docs/algorithms.md, "Local search"; the swap moves of SparseSwaps,
 * arXiv 2512.10922): per output row, prune one kept weight and restore one pruned weight at its
 * re-optimised value when that lowers the layer objective, for a budget of rounds or time, then
 * refit on the final support with the PCG of ALPS. Every row keeps its kept count, so the layer's
 * count and N:M validity are those of the method's result.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { withScope, type GpuScope } from '../gpu/scope';
import { scaleWeight, unscaleWeight } from '../kernels/admm';
import { matmul } from '../kernels/matmul';
import { reduceSlots } from '../kernels/objective';
import { swapApply, swapBest, swapError } from '../kernels/swaps';
import { checkpoint } from '../shared/control';
import { DEFAULT_ALPS } from '../shared/methods';
import type { Pattern } from '../shared/pattern';
import type { LayerProblem } from '../shared/problem';
import type { SwapRound } from '../shared/telemetry';
import { relativeError } from './layer';
import { pcgRefit } from './pcgRefit';
import { scaleProblem, type ScaledProblem } from './scaled';
import type { RefineOptions, RefineReport, SolveOptions, SolverOutput } from './types';

/** Rounds between exact recomputations of the residual (the rank-2 updates accumulate f32 round-off). */
const RESYNC_EVERY = 8;

/**
 * Gains below this relative size are within the f32 disagreement of two ways of measuring the
 * objective (ALPS measures it in the scaled problem): the method's result is kept unchanged then.
 */
const MIN_RELATIVE_GAIN = 1e-6;

/** The method's output with its weight replaced by the refined one (the old weight is disposed). */
export async function refineOutput(gpu: Gpu, problem: LayerProblem, pattern: Pattern, out: SolverOutput, options: SolveOptions): Promise<SolverOutput> {
  if (!options.refine) return out;
  const { weight, report } = await refineBySwaps(gpu, problem, pattern, out.weight, options.refine, options);
  if (!(report.relError < report.relErrorBefore * (1 - MIN_RELATIVE_GAIN))) {
    weight.dispose();
    const unchanged = { ...report, relErrorBefore: out.relError, relErrorAfterSwaps: out.relError, relError: out.relError, swaps: 0, refit: false };
    return { ...out, refinement: unchanged };
  }
  out.weight.dispose();
  return { ...out, weight, relError: report.relError, refinement: report };
}

/** Swap rounds on a copy of `start` ([m, n], pruned entries exactly 0); the caller owns the result. */
export async function refineBySwaps(
  gpu: Gpu,
  problem: LayerProblem,
  pattern: Pattern,
  start: GpuTensor,
  o: RefineOptions,
  options: SolveOptions = {},
): Promise<{ weight: GpuTensor; report: RefineReport }> {
  if (!Number.isInteger(o.swaps) || o.swaps < 0) throw new Error(`The swap budget must be a whole number of rounds ≥ 0, got ${o.swaps}.`);
  const started = performance.now();
  const emit = options.onEvent ?? (() => {});
  const { m, n } = problem;
  const s = { m, n };
  return withScope(gpu, async (scope) => {
    emit({ type: 'phase', phase: 'swaps' });
    const sp = await scaleProblem(scope, problem, options.alps?.damping ?? DEFAULT_ALPS.damping);
    const { G, W0 } = sp;
    const W = scope.tensor([m, n]);
    gpu.copy(start, W, m * n * 4);
    const relErrorBefore = await relativeError(gpu, m, n, W, W0, G);

    const E = scope.tensor([m, n]);
    const R = scope.tensor([m, n]);
    const support = scope.tensor([m, n], 'u32');
    const moveIndex = scope.tensor([2 * m], 'u32');
    const moveValue = scope.tensor([3 * m]);
    const partials = scope.tensor([2 * m]);
    const counter = scope.zeros([1], 'u32');
    const stats = scope.tensor([3]);
    // R = (W − W0)·G, recomputed exactly; also the support W ≠ 0.
    const resync = () => {
      swapError(gpu, m * n, { W, W0, E, support });
      matmul(gpu, E, G, R, { M: m, N: n, K: n });
    };
    const groupSize = pattern.kind === 'nm' ? pattern.m : undefined;

    const history: SwapRound[] = [];
    let f = relErrorBefore * sp.denominator;
    let swaps = 0;
    let rounds = 0;
    resync();
    for (let round = 1; round <= o.swaps; round++) {
      if (o.ms !== undefined && performance.now() - started >= o.ms) break;
      await checkpoint(options.control);
      if (round > 1 && (round - 1) % RESYNC_EVERY === 0) resync();
      swapBest(gpu, s, { W, R, G, moveIndex, moveValue, partials }, { groupSize });
      swapApply(gpu, s, { W, R, G, moveIndex, moveValue });
      reduceSlots(gpu, m, 2, { partials, counter, stats });
      const [delta, made] = await gpu.read(stats, 2);
      if (made === 0) break;
      rounds = round;
      swaps += made;
      f += delta;
      const entry = { round, swaps, relError: sp.denominator > 0 ? Math.max(f, 0) / sp.denominator : 0 };
      history.push(entry);
      emit({ type: 'swaps', data: entry });
    }
    resync();
    let relErrorAfterSwaps = await relativeError(gpu, m, n, W, W0, G);
    // Every accepted move lowers f in exact arithmetic; should f32 round-off have undone that, the
    // method's weight is returned unchanged.
    if (relErrorAfterSwaps > relErrorBefore) {
      gpu.copy(start, W, m * n * 4);
      swapError(gpu, m * n, { W, W0, E, support });
      relErrorAfterSwaps = relErrorBefore;
      swaps = 0;
    }
    let weight = W;
    let relError = relErrorAfterSwaps;
    let refit = false;
    if (o.refit !== false) {
      emit({ type: 'phase', phase: 'refit' });
      const fitted = await refitOnSupport(scope, sp, W, support, options);
      const fittedError = await relativeError(gpu, m, n, fitted, W0, G);
      // The refit solves the damped problem; it is kept only when it lowers the undamped objective.
      if (fittedError < relError) {
        weight = fitted;
        relError = fittedError;
        refit = true;
      }
    }
    const report: RefineReport = { relErrorBefore, relErrorAfterSwaps, relError, swaps, rounds, refit, ms: performance.now() - started, history };
    return { weight: scope.detach(weight), report };
  });
}

/** PCG on the fixed support in the scaled problem (docs/algorithms.md, ALPS "PCG refit"), from W. */
async function refitOnSupport(scope: GpuScope, sp: ScaledProblem, W: GpuTensor, support: GpuTensor, options: SolveOptions): Promise<GpuTensor> {
  const { gpu } = scope;
  const { m, n, Ghat, d, Y } = sp;
  const s = { m, n };
  const steps = options.alps?.pcgSteps ?? DEFAULT_ALPS.pcgSteps;
  const tol = options.alps?.pcgTol ?? DEFAULT_ALPS.pcgTol;
  const X = scope.tensor([m, n]);
  const XG = scope.tensor([m, n]);
  const R = scope.tensor([m, n]);
  const P = scope.tensor([m, n]);
  const AP = scope.tensor([m, n]);
  const state = scope.tensor([4 * m]);
  const partials = scope.zeros([2 * m]);
  const counter = scope.zeros([1], 'u32');
  const stats = scope.tensor([3]);
  scaleWeight(gpu, s, W, d, X);
  matmul(gpu, X, Ghat, XG, { M: m, N: n, K: n });
  await pcgRefit(gpu, s, { mask: support, Ghat, Y, X, XG, R, P, AP, state, partials, counter, stats }, { steps, tol, control: options.control });
  const out = scope.tensor([m, n]);
  unscaleWeight(gpu, s, X, d, out);
  return out;
}
