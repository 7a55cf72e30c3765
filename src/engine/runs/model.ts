/**
 * Whole-model runs: the sequential sparse run (every linear, block by block) and the structured
 * run (every block's MLP channels). Only a finished run replaces the session's pruned model.
 */
import { pruneModel, prunedWeightTable } from '../../pipeline/prune';
import { pruneMlpChannels } from '../../pipeline/structured';
import { calibrationRecord } from '../calibrationCache';
import { deviceUnusable } from '../gpuLifecycle';
import type { CalibrationSettings, ModelRunSummary, PruneSettings, StructuredRunSummary, StructuredSettings } from '../types';
import { progress, solverEvents, type RunContext } from './context';
import { runIdentity } from '../../pipeline/checkpoint';
import { RunProgress } from '../../shared/eta';
import { storageFailure, type RunCheckpoint, type StudioCheckpoints } from './checkpoints';
import { UnfinishedRun, withResumeNote, type FinishedLayers } from './resume';

/** What lets a whole-model run outlive the page: its checkpoints, and the calibration text they identify. */
export interface LongRunSupport {
  checkpoints: StudioCheckpoints;
  /** The calibration text itself (the bundled one when `cal.text` is undefined). */
  calibrationText(cal: CalibrationSettings): Promise<string>;
}

/** Opens this run's checkpoint; storage that refuses even to be read leaves the run without one. */
async function openRunCheckpoint(ctx: RunContext, long: LongRunSupport, settings: PruneSettings, cal: CalibrationSettings, windows: Uint32Array, done: FinishedLayers): Promise<RunCheckpoint | null> {
  const { model, summary } = ctx.loaded;
  const text = await long.calibrationText(cal);
  const calibration = { text: cal.text === undefined ? 'default' : 'custom', content: text, nsamples: cal.nsamples, seqlen: cal.seqlen, seed: cal.seed, windows };
  const run = await runIdentity(model, { method: settings.method, pattern: settings.pattern, profile: settings.profile, alps: settings.alps, calibration });
  try {
    const checkpoint = await long.checkpoints.open(summary.fingerprint, model, { run, settings, calibration: cal, done });
    if (checkpoint.damaged) ctx.emit({ type: 'checkpoint', blocksSaved: 0, blocks: model.arch.blocks.length, bytes: 0, restored: 0, failure: `The saved blocks of the stopped run could not be used (${checkpoint.damaged}); the run starts over.` });
    return checkpoint;
  } catch (error) {
    ctx.emit({ type: 'checkpoint', blocksSaved: 0, blocks: model.arch.blocks.length, bytes: 0, restored: 0, failure: storageFailure(error) });
    return null;
  }
}

/**
 * The sequential sparse run. Every finished block is checkpointed in the browser (checkpoints.ts),
 * so the same run started again — after a reload, a cancel or a lost device — continues after its
 * last saved block; a lost or exhausted GPU also keeps the finished layers of the block it stopped
 * in (resume.ts), so the run continues after its last finished layer on the fresh device.
 */
export async function pruneWholeModel(ctx: RunContext, settings: PruneSettings, cal: CalibrationSettings, long?: LongRunSupport): Promise<ModelRunSummary> {
  const { method, pattern } = settings;
  const { model } = ctx.loaded;
  const key = UnfinishedRun.key(settings, cal);
  const done = ctx.unfinished.take(key, prunedWeightTable(model));
  progress(ctx, { stage: 'calibrating' });
  const started = performance.now();
  let earlierMs = done.ms;
  const blockCount = model.arch.blocks.length;
  let checkpoint: RunCheckpoint | null = null;
  let result;
  try {
    const windows = await ctx.calibration.windows(ctx.loaded, cal);
    // A block checkpoint does not record the refinement, so a refined run is not checkpointed.
    if (long && !settings.refine) checkpoint = await openRunCheckpoint(ctx, long, settings, cal, windows, done);
    if (checkpoint?.restored) {
      earlierMs = checkpoint.restoredMs;
      // A continued run's bar names its saved blocks from the start, not only after its next block.
      ctx.emit({ type: 'checkpoint', blocksSaved: checkpoint.restored, blocks: blockCount, bytes: checkpoint.bytesWritten, restored: checkpoint.restored, failure: null });
    }
    // The resumed layers are shown again, as if this run had just finished them.
    for (const outcome of done.report) ctx.emit({ type: 'layerDone', result: outcome });
    const eta = new RunProgress(model.arch.blocks.flatMap((b) => b.linears.map((l) => [l.out, l.in] as const)), done.report.map((r) => r.shape), started, earlierMs);
    const blocksDone = () => model.arch.blocks.filter((b) => b.linears.every((l) => done.weights.has(l.weight))).length;
    const clock = () => {
      const s = eta.snapshot();
      return { earlierMs, layersDone: s.layersDone, layerCount: s.layerCount, blocksDone: blocksDone(), blockCount, etaMs: s.etaMs ?? undefined };
    };
    // The clock and the saved work before the first layer of this attempt (a continued run's go on from there).
    progress(ctx, { stage: 'calibrating', ...clock() });
    let current: { layer: string; layerIndex: number; layerCount: number } | null = null;
    // Pauses are left out of each layer's time and of the run's (the pipeline's clocks are wall clocks).
    let pausedAtLayerStart = 0;
    result = await pruneModel(ctx.gpu, model, {
      method,
      pattern,
      profile: settings.profile,
      alps: settings.alps,
      ...(settings.refine ? { refine: settings.refine } : {}),
      windows,
      seqlen: cal.seqlen,
      control: ctx.job,
      done,
      onProgress: (p) => {
        pausedAtLayerStart = ctx.job.pausedMs;
        eta.layerStarted();
        current = { layer: p.layer, layerIndex: p.layerIndex, layerCount: p.layerCount };
        progress(ctx, { stage: 'solving', ...current, method, ...clock() });
        ctx.emit({ type: 'start', layer: p.layer, method, run: 'model' });
      },
      onEvent: (layer, event) => solverEvents(ctx.emit, layer, method)(event),
      onLayer: (outcome) => {
        outcome.ms = Math.max(0, outcome.ms - (ctx.job.pausedMs - pausedAtLayerStart));
        eta.layerFinished(outcome.shape);
        ctx.emit({ type: 'layerDone', result: outcome });
        if (current) progress(ctx, { stage: 'solving', ...current, method, ...clock() });
        // A cancelled run (answered already, its leftover work still going) writes nothing more.
        if (!ctx.job.cancelled) void checkpoint?.saveTime(earlierMs + ctx.elapsed());
      },
      onBlockDone: checkpoint
        ? async (index) => {
            const saving = checkpoint!;
            if (saving.failure || ctx.job.cancelled) return;
            await saving.saveBlock(index, done, earlierMs + ctx.elapsed());
            ctx.emit({ type: 'checkpoint', blocksSaved: saving.failure ? index : index + 1, blocks: blockCount, bytes: saving.bytesWritten, restored: saving.restored, failure: saving.failure });
          }
        : undefined,
    });
  } catch (error) {
    if (!deviceUnusable(error) || ctx.job.cancelled || !done.report.length) throw error;
    ctx.unfinished.keep(key, { ...done, ms: earlierMs + performance.now() - started });
    const total = ctx.loaded.specs.size;
    throw withResumeNote(error as Error, done.report.length, total, done.report[done.report.length - 1].id);
  }
  result.ms = Math.max(0, result.ms - ctx.job.pausedMs) + earlierMs;
  // Cancelled after its last check: the cancel was already answered, the results stay as they were.
  ctx.job.check();
  ctx.results.setPruned({ model: result, settings });
  // Finished: nothing is left to continue.
  await checkpoint?.remove();
  return { report: result.report, settings, calibration: calibrationRecord(cal), ms: result.ms, finishedAt: Date.now() };
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
    heads: settings.heads,
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
  ctx.job.check();
  ctx.results.setStructured({ model: result, settings });
  const [field, after] = Object.entries(result.configPatch)[0] ?? ['intermediate_size', 0];
  return {
    settings,
    calibration: calibrationRecord(cal),
    report: result.report,
    ...(result.headReport.length ? { heads: result.headReport } : {}),
    parameters: result.parameters,
    width: { field, before: model.arch.config.intermediate, after },
    ms: Math.max(0, result.ms - ctx.job.pausedMs),
    finishedAt: Date.now(),
  };
}
