/**
 * Single-layer runs: one or several methods on one layer's dense problem (the blocks before it run
 * dense), each outcome reported as it finishes and its pruned weight kept for the layer view.
 */
import { layerOutcome } from '../../pipeline/outcome';
import { solveLayer } from '../../solvers';
import type { Method } from '../../shared/methods';
import type { LayerOutcome } from '../../shared/outcome';
import { linearOf } from '../loadedModel';
import type { CalibrationSettings, PruneSettings } from '../types';
import { progress, solverEvents, type RunContext } from './context';

export async function pruneLayerWith(ctx: RunContext, layer: string, settings: PruneSettings, cal: CalibrationSettings, methods: readonly Method[]): Promise<LayerOutcome[]> {
  const { block, spec } = linearOf(ctx.loaded, layer);
  progress(ctx, { stage: 'calibrating', layer });
  const problem = await ctx.calibration.problem(ctx.gpu, ctx.loaded, layer, cal);
  const outcomes: LayerOutcome[] = [];
  for (const [i, method] of methods.entries()) {
    await ctx.job.between();
    progress(ctx, { stage: 'solving', layer, method, layerIndex: i, layerCount: methods.length });
    ctx.emit({ type: 'start', layer, method, run: 'layer' });
    const pausedBefore = ctx.job.pausedMs;
    const out = await solveLayer(ctx.gpu, problem, method, settings.pattern, {
      alps: settings.alps,
      control: ctx.job,
      onEvent: solverEvents(ctx.emit, layer, method),
      // The studio draws the support as ADMM settles it; whole-model and CLI runs never ask.
      supportFrames: { onFrame: (data) => ctx.emit({ type: 'supportFrame', layer, method, data }) },
      ...(settings.refine ? { refine: settings.refine } : {}),
    });
    ctx.results.setLayerWeight(layer, method, out.weight);
    // A layer's time is its working time: a pause during the solve does not count.
    const outcome = layerOutcome({ id: layer, block, name: spec.name, shape: [spec.out, spec.in] }, { ...out, ms: Math.max(0, out.ms - (ctx.job.pausedMs - pausedBefore)) }, settings.pattern, 'layer');
    ctx.emit({ type: 'layerDone', result: outcome });
    outcomes.push(outcome);
  }
  return outcomes;
}
