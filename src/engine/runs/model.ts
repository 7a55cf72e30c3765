/**
 * Whole-model runs: the sequential sparse run (every linear, block by block) and the structured
 * run (every block's MLP channels). Only a finished run replaces the session's pruned model.
 */
import { pruneModel } from '../../pipeline/prune';
import { pruneMlpChannels } from '../../pipeline/structured';
import { calibrationRecord } from '../calibrationCache';
import type { CalibrationSettings, ModelRunSummary, PruneSettings, StructuredRunSummary, StructuredSettings } from '../types';
import { progress, solverEvents, type RunContext } from './context';

export async function pruneWholeModel(ctx: RunContext, settings: PruneSettings, cal: CalibrationSettings): Promise<ModelRunSummary> {
  const { method, pattern } = settings;
  progress(ctx, { stage: 'calibrating' });
  const windows = await ctx.calibration.windows(ctx.loaded, cal);
  const result = await pruneModel(ctx.gpu, ctx.loaded.model, {
    method,
    pattern,
    alps: settings.alps,
    windows,
    seqlen: cal.seqlen,
    control: ctx.job,
    onProgress: (p) => {
      progress(ctx, { stage: 'solving', layer: p.layer, method, layerIndex: p.layerIndex, layerCount: p.layerCount });
      ctx.emit({ type: 'start', layer: p.layer, method, run: 'model' });
    },
    onEvent: (layer, event) => solverEvents(ctx.emit, layer, method)(event),
    onLayer: (outcome) => ctx.emit({ type: 'layerDone', result: outcome }),
  });
  ctx.results.setPruned({ model: result, settings });
  return { report: result.report, settings, calibration: calibrationRecord(cal), ms: result.ms };
}

export async function pruneStructuredModel(ctx: RunContext, settings: StructuredSettings, cal: CalibrationSettings): Promise<StructuredRunSummary> {
  const { model } = ctx.loaded;
  progress(ctx, { stage: 'calibrating' });
  const windows = await ctx.calibration.windows(ctx.loaded, cal);
  const blocks = model.arch.blocks;
  let current = 0;
  const result = await pruneMlpChannels(ctx.gpu, model, {
    selection: settings.selection,
    fraction: settings.fraction,
    spap: settings.spap,
    windows,
    seqlen: cal.seqlen,
    control: ctx.job,
    onProgress: (p) => {
      current = p.block;
      const down = blocks[p.block].linears.find((l) => l.site === 'mlp_mid');
      progress(ctx, { stage: 'solving', layer: p.layer, layerIndex: p.block, layerCount: p.blocks });
      ctx.emit({ type: 'blockStart', block: p.block, blocks: p.blocks, layer: p.layer, channels: down?.in ?? 0, selection: settings.selection });
    },
    onStep: (layer, step) => ctx.emit({ type: 'spapStep', block: current, layer, data: step }),
    onBlock: (report) => ctx.emit({ type: 'blockDone', report }),
  });
  ctx.results.setStructured({ model: result, settings });
  const [field, after] = Object.entries(result.configPatch)[0] ?? ['intermediate_size', 0];
  return {
    settings,
    calibration: calibrationRecord(cal),
    report: result.report,
    parameters: result.parameters,
    width: { field, before: model.arch.config.intermediate, after },
    ms: result.ms,
    finishedAt: Date.now(),
  };
}
