/**
 * The OWL preset of the studio's budget editor: the dense pass over the calibration windows
 * (src/pipeline/owl.ts) and each linear's OWL sparsity at the exact overall budget, returned rather
 * than run, so the person can look at it and edit it before pruning.
 */
import { layerPatterns } from '../../pipeline/owl';
import { BudgetError, OWL_DEFAULTS } from '../../shared/budget';
import type { CalibrationSettings, OwlBudget, PruneSettings } from '../types';
import { progress, type RunContext } from './context';

export async function owlBudget(ctx: RunContext, settings: PruneSettings, cal: CalibrationSettings): Promise<OwlBudget> {
  const { pattern, method } = settings;
  if (pattern.kind !== 'unstructured') throw new BudgetError(`A ${pattern.n}:${pattern.m} pattern fixes every layer's count; choose Unstructured for the OWL budget.`);
  const owl = settings.profile?.kind === 'owl' ? settings.profile : { kind: 'owl' as const, ...OWL_DEFAULTS };
  progress(ctx, { stage: 'calibrating' });
  const windows = await ctx.calibration.windows(ctx.loaded, cal);
  const patterns = await layerPatterns(ctx.gpu, ctx.loaded.model, { method, pattern, profile: owl, windows, seqlen: cal.seqlen, control: ctx.job });
  const sparsities: Record<string, number> = {};
  for (const [id, p] of patterns) sparsities[id] = p.kind === 'unstructured' ? p.sparsity : pattern.sparsity;
  ctx.job.check();
  return { method, target: pattern.sparsity, m: owl.m, lambda: owl.lambda, sparsities };
}
