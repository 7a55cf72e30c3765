/**
 * The studio's engine session: one GPU device, one loaded model with its finished runs, one
 * calibration cache, and at most one GPU job at a time, which pause, resume and cancel act on.
 * The worker routes protocol messages here; nothing in this file knows about messages.
 */
import { CancelledError } from '../gpu/errors';
import { describeGpuFault, type GpuFault } from '../gpu/faults';
import type { Gpu } from '../gpu/runtime';
import { ModelFolderError } from '../model/loader';
import type { KvStore } from '../shared/kv';
import { METHODS, type Method } from '../shared/methods';
import type { LayerOutcome, RunKind } from '../shared/outcome';
import { DEFAULT_MODEL_FILES, type Assets } from './assets';
import { CalibrationCache } from './calibrationCache';
import { GpuLifecycle } from './gpuLifecycle';
import { JobControl } from './jobControl';
import { openLoadedModel, type LoadedModel } from './loadedModel';
import { EnginePersistence } from './persistence';
import { SessionResults } from './results';
import type { RunContext } from './runs/context';
import { evaluateVariants, generateVariants } from './runs/evaluate';
import { StudioCheckpoints } from './runs/checkpoints';
import { exportLayerProblem, exportRun, exportRunToFolder } from './runs/export';
import { sparsityPayoff } from './runs/payoff';
import { pruneLayerWith } from './runs/layer';
import { pruneStructuredModel, pruneWholeModel, type LongRunSupport } from './runs/model';
import { UnfinishedRun } from './runs/resume';
import { owlBudget } from './runs/budget';
import { viewLayer } from './runs/view';
import type { AdapterSummary, CalibrationSettings, Emit, EvaluationResult, ExportChoice, ExportedFile, GenerationResult, LayerView, ModelRunSummary, ModelSummary, OwlBudget, PruneSettings, SparsityPayoff, StructuredRunSummary, StructuredSettings, UnfinishedRunInfo, WrittenFile } from './types';

/** A GPU job was asked for while another runs, or a load while a job runs. */
export class BusyError extends Error {
  override name = 'BusyError';
}

/** A load that a later load request overtook: its model is dropped, the newer one wins. */
export class SupersededError extends Error {
  override name = 'SupersededError';
}

export interface EngineSessionOptions {
  /** Opens the GPU device (on first use). */
  openGpu: () => Promise<Gpu>;
  /** The bundled default model and texts. */
  assets: Assets;
  /** Where finished runs are kept across reloads. */
  kv: KvStore;
}

export class EngineSession {
  private readonly gpu: GpuLifecycle;
  private readonly calibration: CalibrationCache;
  private readonly results: SessionResults;
  private readonly assets: Assets;
  private readonly unfinished = new UnfinishedRun();
  /** Whole-model runs' finished blocks in the browser's storage (they survive a reload). */
  private readonly checkpoints: StudioCheckpoints;
  private readonly longRuns: LongRunSupport;
  private loaded: LoadedModel | null = null;
  private job: { kind: string; control: JobControl } | null = null;
  private loadGeneration = 0;
  /** Settles when the last job's work has: a cancelled job is answered at once, its GPU work ends at its next check. */
  private draining: Promise<void> = Promise.resolve();

  constructor(options: EngineSessionOptions) {
    this.assets = options.assets;
    this.calibration = new CalibrationCache(options.assets);
    this.gpu = new GpuLifecycle(options.openGpu, () => this.calibration.clear());
    this.results = new SessionResults(new EnginePersistence(options.kv));
    this.checkpoints = new StudioCheckpoints(options.kv);
    this.longRuns = { checkpoints: this.checkpoints, calibrationText: (cal) => (cal.text === undefined ? this.assets.text('calibration.txt') : Promise.resolve(cal.text)) };
  }

  async init(): Promise<{ adapter: AdapterSummary }> {
    return { adapter: await this.gpu.adapter() };
  }

  // ---------------------------------------------------------------- loading

  async load(files: File[], name?: string): Promise<ModelSummary> {
    this.refuseWhileRunning('Cancel the running job before loading another model.');
    const generation = ++this.loadGeneration;
    // A cancelled job may still be reading the current model's weights.
    await this.draining;
    // Open everything before replacing the current model, so a bad file keeps the previous one.
    const next = await openLoadedModel(files, name);
    if (generation !== this.loadGeneration) {
      await next.model.close();
      throw new SupersededError(`Loading ${next.summary.name} was replaced by a newer load.`);
    }
    const previous = this.loaded;
    this.loaded = next;
    void previous?.model.close().catch(() => undefined);
    this.calibration.clear();
    this.unfinished.clear();
    const restored = await this.results.restore(next.summary.fingerprint);
    next.summary.restoredPruned = restored.pruned;
    next.summary.restoredStructured = restored.structured;
    return next.summary;
  }

  async loadDefault(): Promise<ModelSummary> {
    this.refuseWhileRunning('Cancel the running job before loading another model.');
    const generation = ++this.loadGeneration;
    const files = await Promise.all(DEFAULT_MODEL_FILES.map((file) => this.assets.file(file)));
    if (generation !== this.loadGeneration) throw new SupersededError('Loading the default model was replaced by a newer load.');
    return this.load(files, 'default-model');
  }

  // ---------------------------------------------------------------- GPU jobs

  pruneLayer(layer: string, settings: PruneSettings, cal: CalibrationSettings, emit: Emit): Promise<LayerOutcome> {
    return this.run('pruneLayer', emit, async (ctx) => (await pruneLayerWith(ctx, layer, settings, cal, [settings.method]))[0]);
  }

  /** Every unstructured method on the same layer problem with the same settings. */
  compareLayer(layer: string, settings: PruneSettings, cal: CalibrationSettings, emit: Emit): Promise<LayerOutcome[]> {
    return this.run('compareLayer', emit, (ctx) => pruneLayerWith(ctx, layer, settings, cal, METHODS));
  }

  pruneModel(settings: PruneSettings, cal: CalibrationSettings, emit: Emit): Promise<ModelRunSummary> {
    return this.run('pruneModel', emit, (ctx) => pruneWholeModel(ctx, settings, cal, this.longRuns));
  }

  /** Continues the loaded model's unfinished whole-model run (saved in the browser) with its own settings. */
  async continueModelRun(emit: Emit): Promise<ModelRunSummary> {
    this.refuseWhileRunning(`A ${this.job?.kind} run is in progress; wait for it or cancel it first.`);
    const saved = await this.checkpoints.unfinishedSettings(this.requireModel().summary.fingerprint);
    if (!saved) throw new Error('There is no stopped whole-model run of this model to continue: run "Prune the whole model".');
    return this.pruneModel(saved.settings, saved.calibration, emit);
  }

  /** The loaded model's whole-model run stopped after some saved blocks (null when there is none). */
  unfinishedModelRun(): Promise<UnfinishedRunInfo | null> {
    return this.loaded ? this.checkpoints.unfinished(this.loaded.summary.fingerprint) : Promise.resolve(null);
  }

  async discardModelRun(): Promise<{ discarded: boolean }> {
    this.refuseWhileRunning('Cancel the running job before discarding the stopped run.');
    if (!this.loaded) return { discarded: false };
    await this.checkpoints.discard(this.loaded.summary.fingerprint);
    this.unfinished.clear();
    return { discarded: true };
  }

  /** OWL's per-layer sparsities for the loaded model and calibration (a dense pass; nothing is pruned). */
  owlBudget(settings: PruneSettings, cal: CalibrationSettings, emit: Emit): Promise<OwlBudget> {
    return this.run('owlBudget', emit, (ctx) => owlBudget(ctx, settings, cal));
  }

  pruneStructured(settings: StructuredSettings, cal: CalibrationSettings, emit: Emit): Promise<StructuredRunSummary> {
    return this.run('pruneStructured', emit, (ctx) => pruneStructuredModel(ctx, settings, cal));
  }

  evaluate(text: string | undefined, seqlen: number, maxTokens: number, emit: Emit): Promise<EvaluationResult> {
    return this.run('evaluate', emit, (ctx) => evaluateVariants(ctx, text, seqlen, maxTokens, () => this.assets.text('evaluation.txt')));
  }

  /** Bytes, parameters and measured decode speed of the run (the Evaluate tab's "what this sparsity buys here"). */
  sparsityPayoff(which: 'sparse' | 'structured', tokens: number, emit: Emit): Promise<SparsityPayoff> {
    return this.run('sparsityPayoff', emit, (ctx) => sparsityPayoff(ctx, which, tokens));
  }

  generate(prompt: string, tokens: number, emit: Emit): Promise<GenerationResult> {
    return this.run('generate', emit, (ctx) => generateVariants(ctx, prompt, tokens));
  }

  exportLayerProblem(layer: string, cal: CalibrationSettings, emit: Emit): Promise<ExportedFile> {
    return this.run('exportLayerProblem', emit, (ctx) => exportLayerProblem(ctx, layer, cal));
  }

  // ---------------------------------------------------------------- job control

  pause(): { paused: boolean } {
    this.job?.control.pause();
    return { paused: this.job?.control.paused ?? false };
  }

  resume(): { paused: boolean } {
    this.job?.control.resume();
    return { paused: false };
  }

  cancel(): { cancelled: boolean } {
    this.job?.control.cancel();
    return { cancelled: this.job !== null };
  }

  // ---------------------------------------------------------------- answered while a job runs

  /** Runs beside a job (the view's few dispatches join the job's queue); a GPU failure here drops the device like a job's would. */
  async layerView(layer: string, method: Method, run: RunKind): Promise<LayerView> {
    const loaded = this.requireModel();
    const gpu = await this.gpu.get();
    try {
      return await viewLayer(gpu, loaded, this.results, layer, method, run);
    } catch (error) {
      this.gpu.dropAfter(error);
      throw error;
    }
  }

  exportModel(which: 'sparse' | 'structured', choice?: ExportChoice): Promise<ExportedFile[]> {
    return exportRun(this.requireModel(), this.results, which, choice);
  }

  /** The export streamed into a folder the person picked; progress is one event per file. */
  exportModelToFolder(which: 'sparse' | 'structured', folder: FileSystemDirectoryHandle, emit: Emit, choice?: ExportChoice): Promise<WrittenFile[]> {
    const started = performance.now();
    return exportRunToFolder(this.requireModel(), this.results, which, folder, (i, n, name) =>
      emit({ type: 'progress', stage: 'exporting', layerIndex: i, layerCount: n, layer: name, elapsedMs: performance.now() - started }),
    choice);
  }

  async forgetRuns(): Promise<{ forgotten: boolean }> {
    this.unfinished.clear();
    await this.results.forget();
    return { forgotten: true };
  }

  /**
   * Test hook (src/gpu/faults.ts): arms a fault on the device, opening it if needed. Only the
   * worker's test message (src/worker/testHooks.ts) and the tests call it.
   */
  async armGpuFault(fault: GpuFault): Promise<{ armed: string; dispatches: number }> {
    this.refuseWhileRunning('A fault is armed between runs.');
    const gpu = await this.gpu.get();
    gpu.faults.arm(fault);
    // The device's dispatches so far: a test sizes its fault from a clean run's count.
    return { armed: describeGpuFault(fault), dispatches: gpu.dispatchCount };
  }

  // ---------------------------------------------------------------- plumbing

  private requireModel(): LoadedModel {
    if (!this.loaded) throw new ModelFolderError('No model is loaded. Load the default model or drop a model folder first.');
    return this.loaded;
  }

  private refuseWhileRunning(message: string): void {
    if (this.job) throw new BusyError(message);
  }

  /**
   * Runs one GPU job with its own job control; a cancelled job fails as CancelledError whatever the
   * solver threw. Cancel is answered at once, whatever the run is doing: a solve or a block's
   * forward pass on a big layer can take seconds between two checks on a slow GPU, so the job's
   * promise does not wait for it; its leftover GPU work stops at its next check and the next job
   * (or load) waits for that, so two jobs never share the device.
   */
  private async run<T>(kind: string, emit: Emit, body: (ctx: RunContext) => Promise<T>): Promise<T> {
    if (this.job) throw new BusyError(`A ${this.job.kind} run is in progress; wait for it or cancel it first.`);
    const control = new JobControl((paused) => emit({ type: 'paused', paused }));
    const job = { kind, control };
    this.job = job;
    try {
      await this.draining;
      const started = performance.now();
      const work = (async () => {
        const loaded = this.requireModel();
        const gpu = await this.gpu.get();
        return body({ gpu, loaded, job: control, emit, calibration: this.calibration, results: this.results, unfinished: this.unfinished, elapsed: () => performance.now() - started - control.pausedMs });
      })();
      this.draining = work.then(
        () => undefined,
        (error: unknown) => this.gpu.dropAfter(error),
      );
      const cancelled = new Promise<never>((_, reject) => control.signal.addEventListener('abort', () => reject(new CancelledError()), { once: true }));
      cancelled.catch(() => undefined);
      return await Promise.race([work, cancelled]);
    } catch (error) {
      this.gpu.dropAfter(error);
      if (control.cancelled) throw new CancelledError('The run was cancelled; the loaded model and earlier results are unchanged.');
      throw error;
    } finally {
      if (this.job === job) this.job = null;
    }
  }
}
