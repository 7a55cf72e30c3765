/**
 * What the buttons do: each action sends one request to the engine, routes its events into the
 * stores and turns failures into banners. Components stay free of engine plumbing.
 */
import type { EngineEvent, Request, ResultOf } from '../worker/protocol';
import { engine, EngineError } from './engineClient';
import { saveBytes, saveText } from './download';
import { channelReportCsv, reportCsv, reportJson } from './report';
import { useDownloads } from './stores/downloads';
import { useLongRun } from './stores/longRun';
import { live } from './stores/live';
import { supportFrames } from './stores/frames';
import { forgetStoredResults, persistResults, restoreResults, useResults } from './stores/results';
import { useSession, type JobKind } from './stores/session';
import { calibrationSettings, pruneSettings, settingsToQuery, structuredSettings, syncSettingsToUrl, useSettings } from './stores/settings';
import { shortLayer } from './format';
import { METHODS, methodLabel } from '../shared/methods';
import { modelChanged, runEnding, runFinished, runStarted } from './run/arc';
import { layerName, pruneRunLabel } from './labels';

/** Failures that leave the device unusable: the engine keeps a whole-model run's finished layers and continues them next time. */
const GPU_FAILURES = new Set(['GpuDeviceLostError', 'GpuOutOfMemoryError', 'GpuValidationError']);

const LOAD_ERRORS = new Set(['ModelFolderError', 'SafetensorsError', 'ConfigError', 'CheckpointError', 'TokenizerError', 'SyntaxError', 'RangeError']);

/** A failure as a banner: a title that says what kind of problem it is, and the engine's message. */
export function reportError(error: unknown, context: 'load' | 'run'): void {
  const session = useSession.getState();
  const name = error instanceof EngineError ? error.kind : error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CancelledError') {
    session.addBanner('info', 'Run cancelled', message);
    return;
  }
  let title = 'The run failed';
  if (name === 'GpuUnavailableError') title = 'WebGPU is not available';
  else if (name === 'GpuDeviceLostError') title = 'The GPU device was lost';
  else if (name === 'GpuOutOfMemoryError') title = 'Out of GPU memory';
  else if (name === 'GpuValidationError') title = 'GPU error';
  else if (name === 'CalibrationError') title = 'Calibration text problem';
  else if (name === 'BusyError') title = 'Busy';
  else if (context === 'load' || LOAD_ERRORS.has(name)) title = 'Could not load the model';
  const keep = context === 'load' && session.model ? ` The previously loaded model (${session.model.name}) is still loaded.` : '';
  const sentence = /[.!?]$/.test(message.trim()) ? message.trim() : `${message.trim()}.`;
  session.addBanner('error', title, `${sentence}${keep}`);
}

function handleEvent(kind: JobKind, event: EngineEvent): void {
  const session = useSession.getState();
  switch (event.type) {
    case 'progress':
      session.updateJob({
        progress: {
          stage: event.stage, layerIndex: event.layerIndex, layerCount: event.layerCount, layer: event.layer, method: event.method, variant: event.variant,
          earlierMs: event.earlierMs, layersDone: event.layersDone, blocksDone: event.blocksDone, blockCount: event.blockCount, etaMs: event.etaMs, at: Date.now(),
        },
      });
      break;
    case 'checkpoint':
      useLongRun.getState().setSaved({ blocks: event.blocksSaved, of: event.blocks, bytes: event.bytes });
      if (event.failure) session.addBanner('error', 'Checkpoints off', event.failure);
      break;
    case 'start':
      live.start(event.layer, event.method, event.run);
      break;
    case 'iteration':
      live.iteration(event.data);
      break;
    case 'pcg':
      live.pcg(event.data);
      break;
    case 'swaps':
      live.swaps(event.data);
      break;
    case 'phase':
      live.phase(event.phase);
      break;
    case 'layerDone':
      if (kind === 'pruneModel') useResults.getState().addPartial(event.result);
      else useResults.getState().addLayerRun(event.result);
      break;
    case 'blockStart':
      live.startBlock(event.layer, { index: event.block, blocks: event.blocks, channels: event.channels, selection: event.selection });
      break;
    case 'spapStep':
      live.spapStep(event.data);
      break;
    case 'blockDone':
      useResults.getState().addBlock(event.report);
      break;
    case 'paused':
      session.updateJob({ paused: event.paused });
      break;
    case 'supportFrame':
      supportFrames.add(event.layer, event.method, event.data);
      break;
  }
}

/** Runs one GPU job: one at a time, events routed, errors bannered. Resolves to null on failure. */
export async function runJob<T extends Request>(kind: JobKind, label: string, request: T, onFailure?: (name: string) => void): Promise<ResultOf[T['type']] | null> {
  const session = useSession.getState();
  if (session.job) {
    session.addBanner('info', 'Busy', `${session.job.label} is still running; wait for it or cancel it.`);
    return null;
  }
  session.startJob(kind, label);
  runStarted();
  try {
    const result = await engine().request(request, (event) => handleEvent(kind, event));
    runEnding(null);
    return result;
  } catch (error) {
    runEnding(error instanceof EngineError ? error.kind : error instanceof Error ? error.name : 'Error');
    reportError(error, 'run');
    onFailure?.(error instanceof EngineError ? error.kind : 'Error');
    return null;
  } finally {
    live.flushNow();
    supportFrames.flushNow();
    useSession.getState().endJob();
  }
}

function chosenLayer(): string | null {
  const model = useSession.getState().model;
  if (!model) return null;
  const wanted = useSettings.getState().layer;
  return model.linears.some((l) => l.id === wanted) ? wanted : (model.linears[0]?.id ?? null);
}

/** SPAP chooses whole MLP channels block by block, so it has no single-layer run. */
function refuseStructured(action: string): boolean {
  if (useSettings.getState().method !== 'spap') return false;
  useSession.getState().addBanner('info', 'SPAP runs on the whole model', `${action} needs one of the unstructured methods; SPAP removes MLP channels block by block with “Prune the whole model”.`);
  return true;
}

function requireModel(): boolean {
  if (useSession.getState().model) return true;
  useSession.getState().addBanner('error', 'No model loaded', 'Load the default model or drop a model folder first.');
  return false;
}

// ---------------------------------------------------------------- start-up and loading

async function afterLoad(summary: ResultOf['loadModel']): Promise<void> {
  useSession.getState().setModel(summary);
  modelChanged();
  useDownloads.getState().setModelFiles([]);
  const settings = useSettings.getState();
  if (!summary.linears.some((l) => l.id === settings.layer)) settings.set({ layer: summary.linears[0]?.id ?? null });
  if (settings.evalSeqlen > summary.contextLength) settings.set({ evalSeqlen: summary.contextLength });
  if (settings.seqlen > summary.contextLength) settings.set({ seqlen: summary.contextLength });
  const restored = await restoreResults(summary.fingerprint);
  if (!restored) return;
  useSession.getState().addBanner('info', 'Results restored', `Finished results for ${summary.name} from an earlier session were restored from this browser's storage.`);
  if (useResults.getState().modelRun && !summary.restoredPruned) {
    // The report came back but the engine's copy of the weights did not (storage was refused or cleared).
    useSession.getState().addBanner('info', 'Pruned weights not kept', 'The last whole-model run\'s report is shown, but its weights were not kept in this browser: run it again to evaluate or download the pruned model.');
  }
  if (useResults.getState().structuredRun && !summary.restoredStructured) {
    useSession.getState().addBanner('info', 'Structured model not kept', 'The last SPAP run\'s report is shown, but its weights were not kept in this browser: run it again to evaluate or download the smaller model.');
  }
}

/** Only the latest load counts: picking files while the default model loads replaces it. */
let loadSeq = 0;

async function loadWith(label: string, request: Request & { type: 'loadModel' | 'loadDefaultModel' }): Promise<void> {
  const session = useSession.getState();
  if (session.job) {
    session.addBanner('info', 'Busy', 'Cancel the running job before loading another model.');
    return;
  }
  const seq = ++loadSeq;
  session.setLoading(label);
  try {
    const summary = await engine().request(request);
    if (seq === loadSeq) await afterLoad(summary);
  } catch (error) {
    if (seq === loadSeq && !(error instanceof EngineError && error.kind === 'SupersededError')) reportError(error, 'load');
  } finally {
    if (seq === loadSeq) useSession.getState().setLoading(null);
  }
}

export function loadDefaultModel(): Promise<void> {
  return loadWith('the default model', { type: 'loadDefaultModel' });
}

export function loadModelFiles(files: File[], folder: string | null): Promise<void> {
  return loadWith(folder ?? `${files.length} files`, { type: 'loadModel', files, name: folder ?? undefined });
}

let started = false;

/** Page start: URL and storage sync, the GPU check, and the default model on a first visit. */
export function startStudio(): void {
  if (started) return;
  started = true;
  syncSettingsToUrl();
  persistResults();
  const session = useSession.getState();
  engine()
    .request({ type: 'init' })
    .then(({ adapter }) => session.setGpu({ state: 'ready', adapter }))
    .catch((error: unknown) => session.setGpu({ state: 'unavailable', message: error instanceof Error ? error.message : String(error) }));
  void loadDefaultModel();
}

// ---------------------------------------------------------------- runs

export async function pruneLayer(): Promise<void> {
  if (!requireModel() || refuseStructured('Pruning one layer')) return;
  const layer = chosenLayer();
  if (!layer) return;
  const s = useSettings.getState();
  if (s.method === 'spap') return;
  useSession.getState().setTab('live');
  const settings = pruneSettings(s, s.method);
  const result = await runJob('pruneLayer', `Pruning ${layerName(layer)} with ${pruneRunLabel(settings)}`, {
    type: 'pruneLayer',
    layer,
    settings,
    calibration: calibrationSettings(s),
  });
  if (result) useResults.getState().select({ layer: result.id, method: result.method, run: 'layer' });
  if (result) runFinished({ outcome: result });
}

export async function compareLayer(): Promise<void> {
  if (!requireModel() || refuseStructured('Comparing methods on one layer')) return;
  const layer = chosenLayer();
  if (!layer) return;
  const s = useSettings.getState();
  if (s.method === 'spap') return;
  // "With swap refinement": each method runs once with the refinement; its outcome keeps the method's
  // own error (before any swap) beside the refined one, so Compare draws both from the same mask.
  const settings = pruneSettings({ ...s, refine: s.compareRefine === 'both' ? 'swaps' : 'off' }, s.method);
  useSession.getState().setTab('compare');
  useResults.getState().setCompare(null);
  const results = await runJob('compareLayer', `Comparing ${METHODS.length} methods on ${layerName(layer)}`, {
    type: 'compareLayer',
    layer,
    settings,
    calibration: calibrationSettings(s),
  });
  if (results?.length) {
    const first = results[0];
    useResults.getState().setCompare({ layer, pattern: first.pattern, targetSparsity: first.targetSparsity, results });
    runFinished();
  }
}

export async function pruneWholeModel(): Promise<void> {
  if (!requireModel()) return;
  const s = useSettings.getState();
  if (s.method === 'spap') return pruneStructured();
  useResults.getState().resetPartial();
  useSession.getState().setTab('live');
  let stoppedByGpu = false;
  const model = useSession.getState().model!;
  const run = await runJob(
    'pruneModel',
    `Pruning the whole model (${model.blocks} blocks, ${model.linears.length} layers) with ${pruneRunLabel(pruneSettings(s, s.method))}`,
    { type: 'pruneModel', settings: pruneSettings(s, s.method), calibration: calibrationSettings(s) },
    (name) => (stoppedByGpu = GPU_FAILURES.has(name)),
  );
  if (run) {
    useResults.getState().setModelRun(run);
    runFinished();
    // A new pruned model invalidates prepared downloads and the previous evaluation.
    useDownloads.getState().setModelFiles([]);
  } else if (!stoppedByGpu) {
    // A stopped run's finished layers stay shown: the engine continues after them when run again.
    useResults.getState().resetPartial();
  }
}

/** SPAP (or a baseline selection) on every block's MLP channels: the structured whole-model run. */
async function pruneStructured(): Promise<void> {
  const s = useSettings.getState();
  const settings = structuredSettings(s);
  useResults.getState().resetBlocks();
  useSession.getState().setTab('live');
  const run = await runJob('pruneStructured', `Removing ${Math.round(settings.fraction * 100)}% of MLP channels (${methodLabel(settings.selection)})`, {
    type: 'pruneStructured',
    settings,
    calibration: calibrationSettings(s),
  });
  if (run) {
    useResults.getState().setStructuredRun(run);
    runFinished();
    useDownloads.getState().setStructuredFiles([]);
  } else {
    useResults.getState().resetBlocks();
  }
}

export async function evaluate(): Promise<void> {
  if (!requireModel()) return;
  const s = useSettings.getState();
  const result = await runJob('evaluate', 'Measuring perplexity', {
    type: 'evaluate',
    text: s.evalSource === 'custom' && s.evalText.trim() ? s.evalText : undefined,
    seqlen: s.evalSeqlen,
    maxTokens: s.evalMaxTokens,
  });
  if (result) useResults.getState().setEvaluation(result);
}

export async function generate(): Promise<void> {
  if (!requireModel()) return;
  const s = useSettings.getState();
  const result = await runJob('generate', 'Generating text', { type: 'generate', prompt: s.prompt, tokens: s.genTokens });
  if (result) useResults.getState().setGeneration(result);
}

export async function pause(): Promise<void> {
  const { paused } = await engine().request({ type: 'pause' });
  useSession.getState().updateJob({ paused });
}

export async function resume(): Promise<void> {
  const { paused } = await engine().request({ type: 'resume' });
  useSession.getState().updateJob({ paused });
}

export async function cancel(): Promise<void> {
  useSession.getState().updateJob({ cancelling: true });
  await engine().request({ type: 'cancel' });
}

// ---------------------------------------------------------------- keeping and sharing

export async function prepareModelDownload(which: 'sparse' | 'structured' = 'sparse'): Promise<void> {
  if (!requireModel()) return;
  const label = which === 'structured' ? 'Writing the structured (smaller) model' : 'Writing the pruned model';
  const files = await runJob('exportModel', label, { type: 'exportModel', which });
  if (!files) return;
  const prepared = files.map((f) => ({ name: f.name, size: f.bytes.byteLength, url: URL.createObjectURL(new Blob([f.bytes as Uint8Array<ArrayBuffer>])) }));
  if (which === 'structured') useDownloads.getState().setStructuredFiles(prepared);
  else useDownloads.getState().setModelFiles(prepared);
}

export function downloadReport(format: 'json' | 'csv'): void {
  const model = useSession.getState().model;
  if (!model) return;
  const results = useResults.getState();
  const base = `${model.name}-prune-report`;
  if (format === 'json') saveText(reportJson(model, results, settingsToQuery(useSettings.getState())), `${base}.json`, 'application/json');
  else saveText(reportCsv(results), `${base}.csv`, 'text/csv');
}

/** The structured run's per-block channel report (one row per block). */
export function downloadChannelReport(): void {
  const model = useSession.getState().model;
  const run = useResults.getState().structuredRun;
  if (!model || !run) return;
  saveText(channelReportCsv(run), `${model.name}-channel-report.csv`, 'text/csv');
}

export async function exportLayerProblem(layer: string): Promise<void> {
  if (!requireModel()) return;
  const s = useSettings.getState();
  const file = await runJob('exportLayerProblem', `Exporting the problem of ${shortLayer(layer)}`, { type: 'exportLayerProblem', layer, calibration: calibrationSettings(s) });
  if (file) saveBytes(file.bytes, file.name);
}

export async function clearResults(): Promise<void> {
  const { model, job } = useSession.getState();
  if (!model || job) return;
  useResults.getState().clear();
  useDownloads.getState().setModelFiles([]);
  useDownloads.getState().setStructuredFiles([]);
  await forgetStoredResults(model.fingerprint);
  await engine().request({ type: 'forgetPruned' });
  // The engine's storage of the model went too, a stopped run's saved blocks with it.
  useLongRun.getState().setUnfinished(null);
}
