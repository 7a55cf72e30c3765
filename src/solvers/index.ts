import type { Gpu } from '../gpu/runtime';
import { isMethod, METHODS, type Method } from '../shared/methods';
import { keptCount, type Pattern } from '../shared/pattern';
import type { LayerProblem } from '../shared/problem';
import { healthDamping, layerHealth } from './health';
import { countNonzeros, validateProblem } from './layer';
import { METHOD_REGISTRY } from './registry';
import { refineOutput } from './swaps';
import type { SolveOptions, SolveResult } from './types';

export * from './types';
export { LayerProblemError } from './layer';
export { METHOD_REGISTRY, SELECTION_REGISTRY } from './registry';

/**
 * Prunes one layer with any method: the single entry point the CLI, the worker and the
 * whole-model pipeline share. Checks the problem and the pattern against its shape, then runs
 * the method's registry entry and reads the pruned weight back once.
 */
export async function solveLayer(gpu: Gpu, problem: LayerProblem, method: Method, pattern: Pattern, options: SolveOptions = {}): Promise<SolveResult> {
  validateProblem(problem);
  keptCount(pattern, problem.m, problem.n);
  // The gram's health before the solve, so every caller's outcome carries it (src/shared/health.ts).
  const health = await layerHealth(gpu, problem, healthDamping(method, options));
  return { ...(await runSolver(gpu, problem, method, pattern, options)), health };
}

/**
 * solveLayer after its checks: dispatch through the registry, read back, count. For callers that
 * have checked the problem themselves, and for a solver's own tests of inputs beyond the shared
 * contract (SparseGPT also prunes everything, N = 0 or M, and widths not a multiple of M).
 */
export async function runSolver(gpu: Gpu, problem: LayerProblem, method: Method, pattern: Pattern, options: SolveOptions = {}): Promise<SolveResult> {
  if (!isMethod(method)) throw new Error(`Unknown method "${method as string}". Choose one of ${METHODS.join(', ')}.`);
  const started = performance.now();
  const solved = await METHOD_REGISTRY[method].solve(gpu, problem, pattern, options);
  const out = await refineOutput(gpu, problem, pattern, solved, options).catch((e: unknown) => {
    solved.weight.dispose();
    throw e;
  });
  try {
    const weight = await gpu.read(out.weight);
    const { relError, relErrorBeforeRefit, iterations, history, pcg, refinement } = out;
    const result = { method, pattern, weight, relError, relErrorBeforeRefit, nnz: countNonzeros(weight), iterations, history, pcg, ms: performance.now() - started };
    return refinement ? { ...result, refinement } : result;
  } finally {
    out.weight.dispose();
  }
}
