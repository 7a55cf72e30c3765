/**
 * Whole-model runs: the sequential sparse run (every linear, block by block) and the structured
 * run (every block's MLP channels). Only a finished run replaces the session's pruned model.
 */
import { pruneModel } from '../../pipeline/prune';
import { pruneMlpChannels } from '../../pipeline/structured';
import { calibrationRecord } from '../calibrationCache';
import { deviceUnusable } from '../gpuLifecycle';
import type { CalibrationSettings, ModelRunSummary, PruneSettings, StructuredRunSummary, StructuredSettings } from '../types';
import { progress, solverEvents, type RunContext } from './context';
import { UnfinishedRun, withResumeNote } from './resume';

/**
 * The sequential sparse run. When a lost or exhausted GPU stops it, its finished layers are kept
 * (resume.ts), and the same run asked for again continues after them on the fresh device.
 */
export async function pruneWholeModel(ctx: RunContext, settings: PruneSettings, cal: CalibrationSettings): Promise<ModelRunSummary> {
  const { method, pattern } = settings;
  const key = UnfinishedRun.key(settings, cal);
  const done = ctx.unfinished.take(key);
  // The resumed layers are shown again, as if this run had just finished them.
  for (const outcome of done.report) ctx.emit({ type: 'layerDone', result: outcome });
  progress(ctx, { stage: 'calibrating' });
  const started = performance.now();
  let result;
  try {
    const windows = await ctx.calibration.windows(ctx.loaded, cal);
    result = await pruneModel(ctx.gpu, ctx.loaded.model, {
      method,
      pattern,
      alps: settings.alps,
      windows,
      seqlen: cal.seqlen,
      control: ctx.job,
      done,
      onProgress: (p) => {
        progress(ctx, { stage: 'solving', layer: p.layer, method, layerIndex: p.layerIndex, layerCount: p.layerCount });
        ctx.emit({ type: 'start', layer: p.layer, method, run: 'model' });
      },
      onEvent: (layer, event) => solverEvents(ctx.emit, layer, method)(event),
      onLayer: (outcome) => ctx.emit({ type: 'layerDone', result: outcome }),
    });
  } catch (error) {
    if (!deviceUnusable(error) || ctx.job.cancelled || !done.report.length) throw error;
    ctx.unfinished.keep(key, { ...done, ms: done.ms + performance.now() - started });
    const total = ctx.loaded.specs.size;
    throw withResumeNote(error as Error, done.report.length, total, done.report[done.report.length - 1].id);
  }
  result.ms += done.ms;
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
