/**
 * The sparse run's decode kernels, raced once per pruned model: the Evaluate tab's continuation and
 * the payoff measurement decode the same weights on the same adapter, so after the first race each
 * later generation builds and times only the kernel chosen per linear (at 135M on a CPU rasteriser
 * the race alone took 80–100 s a click).
 */
import type { GenerationReport } from '../../pipeline/generate';
import type { DecodeKernel, KernelMode } from '../../shared/generation';
import type { RunContext } from './context';

const raced = new WeakMap<object, Readonly<Record<string, DecodeKernel>>>();

/**
 * For a generation of the sparse run's model with `kernels`: the choice an earlier race made for
 * these weights (generate's kernelChoice option), and `keep`, which stores this generation's race
 * when there was none (a complete one only: every linear of the blocks named).
 */
export function kernelReuse(ctx: RunContext, kernels: KernelMode): { kernelChoice?: Readonly<Record<string, DecodeKernel>>; keep: (report: GenerationReport) => void } {
  const weights = kernels === 'sparse' ? ctx.results.pruned?.model.weights : undefined;
  const known = weights ? raced.get(weights) : undefined;
  const linears = ctx.loaded.model.arch.blocks.reduce((n, b) => n + b.linears.length, 0);
  return {
    kernelChoice: known,
    keep: (report) => {
      if (weights && !known && Object.keys(report.kernelChoice).length === linears) raced.set(weights, { ...report.kernelChoice });
    },
  };
}
