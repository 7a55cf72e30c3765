import type { Gpu, GpuTensor } from '../gpu/runtime';
import { alps } from './alps';
import { countNonzeros, relativeError, validateProblem } from './layer';
import { magnitude } from './magnitude';
import { keptCount } from './projection';
import { sparsegptOnGpu } from './sparsegpt';
import { wanda } from './wanda';
import type { LayerProblem, Method, Pattern, SolveOptions, SolveResult } from './types';

export * from './types';
export { describePattern, keptCount, PatternError } from './projection';
export { LayerProblemError } from './layer';

/**
 * Prunes one layer with any method: the single entry point the CLI, the worker and the
 * whole-model pipeline share. Returns the pruned weight (read back once) and its error.
 */
export async function solveLayer(gpu: Gpu, problem: LayerProblem, method: Method, pattern: Pattern, options: SolveOptions = {}): Promise<SolveResult> {
  validateProblem(problem);
  keptCount(pattern, problem.m, problem.n);
  const { m, n } = problem;
  const started = performance.now();
  const base = { method, pattern, history: [] as SolveResult['history'], pcg: [] as SolveResult['pcg'], iterations: 1 };
  let pruned: GpuTensor;
  let relError: number;
  let relErrorBeforeRefit: number;
  if (method === 'alps') {
    const out = await alps(gpu, problem, pattern, options);
    pruned = out.weight;
    relError = out.relError;
    relErrorBeforeRefit = out.relErrorBeforeRefit;
    Object.assign(base, { history: out.history, pcg: out.pcg, iterations: out.iterations });
  } else {
    const W0 = gpu.upload(problem.weight, [m, n]);
    const G = gpu.upload(problem.gram, [n, n]);
    try {
      if (method === 'magnitude') pruned = magnitude(gpu, W0, m, n, pattern);
      else if (method === 'wanda') pruned = wanda(gpu, W0, G, m, n, pattern);
      else if (method === 'sparsegpt') {
        pruned = gpu.tensor([m, n]);
        gpu.copy(W0, pruned, m * n * 4);
        await sparsegptOnGpu(gpu, { weight: pruned, gram: G, m, n }, pattern, { damping: options.alps?.damping });
      }
      else throw new Error(`Unknown method "${method as string}". Choose one of alps, sparsegpt, wanda, magnitude.`);
      relError = await relativeError(gpu, m, n, pruned, W0, G);
      relErrorBeforeRefit = relError;
    } finally {
      W0.dispose();
      G.dispose();
    }
  }
  try {
    const weight = await gpu.read(pruned);
    return { ...base, weight, relError, relErrorBeforeRefit, nnz: countNonzeros(weight), ms: performance.now() - started };
  } finally {
    pruned.dispose();
  }
}
