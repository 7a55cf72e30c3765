/// <reference lib="webworker" />
/**
 * The studio's engine: owns the GPU device, the loaded model and every pruned weight, and answers
 * the UI's requests (protocol.ts). One GPU job runs at a time; pause, resume, cancel, layer views
 * and exports are answered while it runs.
 */
import { writeLayerProblem } from '../formats/layerProblem';
import { openGpu } from '../gpu/device';
import { CancelledError, GpuDeviceLostError, GpuOutOfMemoryError, GpuValidationError } from '../gpu/errors';
import type { Gpu } from '../gpu/runtime';
import type { LinearSpec } from '../model/architectures';
import { fromStored } from '../model/architectures';
import { ModelRunner } from '../model/forward';
import { filesFolder, ModelFolderError, openModel, type OpenedModel } from '../model/loader';
import { perplexityOfTokens } from '../model/perplexity';
import { calibrationWindows } from '../pipeline/calibration';
import { exportModel, exportPrunedModel } from '../pipeline/export';
import { applyPrunedWeights, generateGreedy } from '../pipeline/generate';
import { denseLayerProblem, layerId, pruneModel, type LayerReport, type PrunedModel } from '../pipeline/prune';
import { applyStructured, pruneMlpChannels, structuredEdits, type StructuredModel } from '../pipeline/structured';
import { describePattern, METHODS, solveLayer } from '../solvers';
import type { LayerProblem, Method, Pattern, SolverEvent } from '../solvers/types';
import { openKv } from './kv';
import { layerView } from './layerView';
import type {
  AdapterSummary,
  CalibrationSettings,
  EngineEvent,
  EvaluationResult,
  ExportedFile,
  GenerationResult,
  LayerResult,
  LinearSummary,
  ModelRunSummary,
  ModelSummary,
  PruneSettings,
  Request,
  Response as EngineResponse,
  ResultOf,
  RunKind,
  StructuredRunSummary,
  StructuredSettings,
} from './protocol';
import { LONG_REQUESTS } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const DEFAULT_MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const assetUrl = (file: string) => new URL(`${import.meta.env.BASE_URL}default-model/${file}`, self.location.origin).href;

interface Loaded {
  model: OpenedModel;
  summary: ModelSummary;
  specs: Map<string, { block: number; spec: LinearSpec }>;
}

interface PrunedState {
  model: PrunedModel;
  settings: PruneSettings;
}

/** What IndexedDB keeps of a whole-model run, so that evaluation and download work after a reload. */
interface StoredPruned {
  model: PrunedModel;
  settings: PruneSettings;
}

/** The last structured (MLP-channel) run: its smaller linears, kept beside the sparse run so both can be evaluated. */
interface StructuredState {
  model: StructuredModel;
  settings: StructuredSettings;
}

const kv = openKv('prune-studio-engine');

let gpu: Gpu | null = null;
let adapter: AdapterSummary | null = null;
let loaded: Loaded | null = null;
let pruned: PrunedState | null = null;
let structured: StructuredState | null = null;
/** Pruned weights of finished single-layer runs, `${layer}|${method}` → [out, in]. */
const layerWeights = new Map<string, Float32Array>();
let calibrationCache: { key: string; windows: Uint32Array; problems: Map<string, LayerProblem> } | null = null;
const textCache = new Map<string, string>();

let running: { type: Request['type']; abort: AbortController; emit: (e: EngineEvent) => void } | null = null;
let paused = false;
let releasePause: (() => void) | null = null;
let pausePromise: Promise<void> = Promise.resolve();

/** Awaited by the solvers between iterations and by the pipeline between layers. */
const gate = (): Promise<void> => (paused ? pausePromise : Promise.resolve());

function setPaused(value: boolean): void {
  if (value === paused) return;
  paused = value;
  if (value) pausePromise = new Promise((resolve) => (releasePause = resolve));
  else {
    releasePause?.();
    releasePause = null;
  }
  running?.emit({ type: 'paused', paused: value });
}

async function getGpu(): Promise<Gpu> {
  if (gpu) return gpu;
  gpu = await openGpu(navigator.gpu);
  adapter = {
    vendor: gpu.adapter.vendor,
    architecture: gpu.adapter.architecture,
    description: gpu.adapter.description,
    swiftshader: gpu.isSwiftShader,
  };
  return gpu;
}

/** After a device loss or a GPU error the device is unusable: drop it so the next run opens a new one. */
function dropGpuAfter(error: unknown): void {
  if (error instanceof GpuDeviceLostError || error instanceof GpuOutOfMemoryError || error instanceof GpuValidationError) {
    try {
      gpu?.destroy();
    } catch {
      // Already lost.
    }
    gpu = null;
    calibrationCache = null;
  }
}

function requireModel(): Loaded {
  if (!loaded) throw new ModelFolderError('No model is loaded. Load the default model or drop a model folder first.');
  return loaded;
}

async function fetchAsset(file: string): Promise<Response> {
  const response = await fetch(assetUrl(file));
  // Dev and preview servers answer unknown paths with index.html: that is a missing file too.
  const html = (response.headers.get('content-type') ?? '').includes('text/html');
  if (!response.ok || html) {
    throw new ModelFolderError(`The bundled default model is not available: ${file} is missing from /default-model/ (HTTP ${response.status}${html ? ', got a web page' : ''}). Drop a model folder instead.`);
  }
  return response;
}

async function defaultText(file: 'calibration.txt' | 'evaluation.txt'): Promise<string> {
  let text = textCache.get(file);
  if (text === undefined) {
    text = await (await fetchAsset(file)).text();
    textCache.set(file, text);
  }
  return text;
}

/** A load that a later load request overtook: its model is dropped, the newer one wins. */
class SupersededError extends Error {
  override name = 'SupersededError';
}

let loadGeneration = 0;

async function load(files: File[], name?: string): Promise<ModelSummary> {
  const generation = ++loadGeneration;
  if (files.length === 0) throw new ModelFolderError('No files were given. Drop a model folder or pick its files.');
  const folder = filesFolder(files, name);
  // Open everything before replacing the current model, so a bad file keeps the previous one.
  const model = await openModel(folder);
  const specs = new Map<string, { block: number; spec: LinearSpec }>();
  const linears: LinearSummary[] = [];
  for (const block of model.arch.blocks) {
    for (const spec of block.linears) {
      const id = layerId(spec);
      specs.set(id, { block: block.index, spec });
      linears.push({ id, block: block.index, role: spec.role, shape: [spec.out, spec.in] });
    }
  }
  let parameters = 0;
  for (const shape of model.weights.shapes.values()) parameters += shape.reduce((a, b) => a * b, 1);
  const dtypes = new Set<string>();
  for (const info of model.file.tensors.values()) dtypes.add(info.dtype);
  const sizes = files
    .map((f) => `${f.name}:${f.size}`)
    .sort()
    .join(',');
  const c = model.config;
  const summary: ModelSummary = {
    name: folder.name,
    fingerprint: `${folder.name}|${c.modelType}|${c.hidden}x${c.layers}|${sizes}`,
    architecture: c.modelType,
    parameters,
    dtype: [...dtypes].sort().join(', '),
    vocabSize: c.vocab,
    contextLength: c.maxPositions,
    hidden: c.hidden,
    blocks: c.layers,
    linears,
    files: folder.files().sort(),
    hasTokenizer: model.tokenizer !== null,
    restoredPruned: false,
    restoredStructured: false,
  };
  if (generation !== loadGeneration) {
    await model.close();
    throw new SupersededError(`Loading ${folder.name} was replaced by a newer load.`);
  }
  const previous = loaded;
  loaded = { model, summary, specs };
  void previous?.model.close().catch(() => undefined);
  pruned = null;
  structured = null;
  layerWeights.clear();
  calibrationCache = null;
  try {
    const stored = await kv.get<StoredPruned>(`${summary.fingerprint}|model`);
    if (stored) {
      pruned = stored;
      summary.restoredPruned = true;
    }
  } catch {
    // Storage unavailable: start without restored results.
  }
  try {
    const stored = await kv.get<StructuredState>(`${summary.fingerprint}|structured`);
    if (stored) {
      structured = stored;
      summary.restoredStructured = true;
    }
  } catch {
    // As above.
  }
  return summary;
}

async function loadDefault(): Promise<ModelSummary> {
  const generation = ++loadGeneration;
  const files = await Promise.all(
    DEFAULT_MODEL_FILES.map(async (name) => {
      const blob = await (await fetchAsset(name)).blob();
      return new File([blob], name);
    }),
  );
  if (generation !== loadGeneration) throw new SupersededError('Loading the default model was replaced by a newer load.');
  return load(files, 'default-model');
}

function patternSparsity(pattern: Pattern): number {
  return pattern.kind === 'unstructured' ? pattern.sparsity : 1 - pattern.n / pattern.m;
}

function hashText(text: string): string {
  // FNV-1a over the text: only to key the calibration cache, not for security.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${text.length}:${(h >>> 0).toString(16)}`;
}

async function windowsFor(cal: CalibrationSettings): Promise<{ key: string; windows: Uint32Array; problems: Map<string, LayerProblem> }> {
  const { model } = requireModel();
  if (!model.tokenizer) throw new ModelFolderError('This model folder has no tokenizer.json, which calibration needs to tokenize text.');
  const key = `${cal.text === undefined ? 'default' : hashText(cal.text)}|${cal.nsamples}|${cal.seqlen}|${cal.seed}`;
  if (calibrationCache?.key === key) return calibrationCache;
  const text = cal.text ?? (await defaultText('calibration.txt'));
  const windows = calibrationWindows(model.tokenizer, text, { nsamples: cal.nsamples, seqlen: cal.seqlen, seed: cal.seed });
  calibrationCache = { key, windows, problems: new Map() };
  return calibrationCache;
}

async function problemFor(g: Gpu, layer: string, cal: CalibrationSettings): Promise<LayerProblem> {
  const { model, specs } = requireModel();
  if (!specs.has(layer)) throw new ModelFolderError(`The model has no linear layer named ${layer}.`);
  const cache = await windowsFor(cal);
  let problem = cache.problems.get(layer);
  if (!problem) {
    problem = await denseLayerProblem(g, model, layer, cache.windows, cal.seqlen);
    cache.problems.set(layer, problem);
  }
  return problem;
}

function forward(layer: string, method: Method, emit: (e: EngineEvent) => void) {
  return (event: SolverEvent) => {
    if (event.type === 'iteration') emit({ type: 'iteration', layer, method, data: event.data });
    else if (event.type === 'pcg') emit({ type: 'pcg', layer, method, data: event.data });
    else emit({ type: 'phase', layer, method, phase: event.phase });
  };
}

function countZeros(w: Float32Array): number {
  let z = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) z++;
  return z;
}

async function solveOne(g: Gpu, problem: LayerProblem, layer: string, settings: PruneSettings, method: Method, emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<LayerResult> {
  emit({ type: 'start', layer, method, run: 'layer' });
  const out = await solveLayer(g, problem, method, settings.pattern, { alps: settings.alps, signal, gate, onEvent: forward(layer, method, emit) });
  layerWeights.set(`${layer}|${method}`, out.weight);
  const result: LayerResult = {
    id: layer,
    run: 'layer',
    method,
    pattern: describePattern(settings.pattern),
    targetSparsity: patternSparsity(settings.pattern),
    shape: [problem.m, problem.n],
    sparsity: countZeros(out.weight) / out.weight.length,
    relError: out.relError,
    relErrorBeforeRefit: out.relErrorBeforeRefit,
    iterations: out.iterations,
    ms: out.ms,
    history: out.history,
    pcg: out.pcg,
    finishedAt: Date.now(),
  };
  emit({ type: 'layerDone', result });
  void kv.put(`${requireModel().summary.fingerprint}|layer|${layer}|${method}`, out.weight).catch(() => undefined);
  return result;
}

async function pruneLayerRequest(layer: string, settings: PruneSettings, cal: CalibrationSettings, methods: readonly Method[], emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<LayerResult[]> {
  const started = performance.now();
  const g = await getGpu();
  emit({ type: 'progress', stage: 'calibrating', layer, elapsedMs: 0 });
  const problem = await problemFor(g, layer, cal);
  const results: LayerResult[] = [];
  for (const [i, method] of methods.entries()) {
    await gate();
    if (signal.aborted) throw new CancelledError();
    emit({ type: 'progress', stage: 'solving', layer, method, layerIndex: i, layerCount: methods.length, elapsedMs: performance.now() - started });
    results.push(await solveOne(g, problem, layer, { ...settings, method }, method, emit, signal));
  }
  return results;
}

function fromReport(r: LayerReport, pattern: Pattern): LayerResult {
  return {
    id: r.id,
    run: 'model',
    method: r.method,
    pattern: r.pattern,
    targetSparsity: patternSparsity(pattern),
    shape: r.shape,
    sparsity: r.sparsity,
    relError: r.relError,
    relErrorBeforeRefit: r.relErrorBeforeRefit,
    iterations: r.iterations,
    ms: r.ms,
    history: r.history,
    pcg: r.pcg,
    finishedAt: Date.now(),
  };
}

async function pruneModelRequest(settings: PruneSettings, cal: CalibrationSettings, emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<ModelRunSummary> {
  const { model, summary } = requireModel();
  const started = performance.now();
  const g = await getGpu();
  emit({ type: 'progress', stage: 'calibrating', elapsedMs: 0 });
  const { windows } = await windowsFor(cal);
  const result = await pruneModel(g, model, {
    method: settings.method,
    pattern: settings.pattern,
    alps: settings.alps,
    windows,
    seqlen: cal.seqlen,
    signal,
    gate,
    onProgress: (p) => {
      emit({ type: 'progress', stage: 'solving', layer: p.layer, method: settings.method, layerIndex: p.layerIndex, layerCount: p.layerCount, elapsedMs: performance.now() - started });
      emit({ type: 'start', layer: p.layer, method: settings.method, run: 'model' });
    },
    onEvent: (layer, event) => forward(layer, settings.method, emit)(event),
    onLayer: (report) => emit({ type: 'layerDone', result: fromReport(report, settings.pattern) }),
  });
  // Only a finished run replaces the pruned model: a cancelled or failed one leaves it as it was.
  pruned = { model: result, settings };
  void kv.put(`${summary.fingerprint}|model`, { model: result, settings } satisfies StoredPruned).catch(() => undefined);
  return {
    report: result.report.map((r) => fromReport(r, settings.pattern)),
    settings,
    calibration: { nsamples: cal.nsamples, seqlen: cal.seqlen, seed: cal.seed, textSource: cal.text === undefined ? 'default' : 'custom' },
    ms: result.ms,
  };
}

async function pruneStructuredRequest(settings: StructuredSettings, cal: CalibrationSettings, emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<StructuredRunSummary> {
  const { model, summary } = requireModel();
  const started = performance.now();
  const g = await getGpu();
  emit({ type: 'progress', stage: 'calibrating', elapsedMs: 0 });
  const { windows } = await windowsFor(cal);
  const blocks = model.arch.blocks;
  let current = 0;
  const result = await pruneMlpChannels(g, model, {
    selection: settings.selection,
    fraction: settings.fraction,
    spap: settings.spap,
    windows,
    seqlen: cal.seqlen,
    signal,
    gate,
    onProgress: (p) => {
      current = p.block;
      const down = blocks[p.block].linears.find((l) => l.site === 'mlp_mid');
      emit({ type: 'progress', stage: 'solving', layer: p.layer, layerIndex: p.block, layerCount: p.blocks, elapsedMs: performance.now() - started });
      emit({ type: 'blockStart', block: p.block, blocks: p.blocks, layer: p.layer, channels: down?.in ?? 0, selection: settings.selection });
    },
    onStep: (layer, step) => emit({ type: 'spapStep', block: current, layer, data: step }),
    onBlock: (report) => emit({ type: 'blockDone', report }),
  });
  // As for the sparse run: only a finished run replaces the structured model.
  structured = { model: result, settings };
  void kv.put(`${summary.fingerprint}|structured`, structured satisfies StructuredState).catch(() => undefined);
  const [field, after] = Object.entries(result.configPatch)[0] ?? ['intermediate_size', 0];
  return {
    settings,
    calibration: { nsamples: cal.nsamples, seqlen: cal.seqlen, seed: cal.seed, textSource: cal.text === undefined ? 'default' : 'custom' },
    report: result.report,
    parameters: result.parameters,
    width: { field, before: model.arch.config.intermediate, after },
    ms: result.ms,
    finishedAt: Date.now(),
  };
}

type Variant = 'dense' | 'sparse' | 'structured';

/** A runner with the chosen run's weights in place: the dense model, the sparse run's, or the structured run's smaller MLPs. */
function runnerFor(g: Gpu, variant: Variant): ModelRunner {
  const { model } = requireModel();
  const runner = new ModelRunner(g, model.arch, model.weights);
  if (variant === 'sparse' && pruned) applyPrunedWeights(runner, model, pruned.model.weights);
  if (variant === 'structured' && structured) applyStructured(runner, model, structured.model);
  return runner;
}

/** The variants there is something to evaluate for: always the dense model, then each finished run. */
function variants(): Variant[] {
  return ['dense', ...(pruned ? (['sparse'] as const) : []), ...(structured ? (['structured'] as const) : [])];
}

const VARIANT_NAME: Record<Variant, string> = { dense: 'dense model', sparse: 'pruned model', structured: 'structured model' };

function prunedLabel(): string | null {
  if (!pruned) return null;
  const p = pruned.settings.pattern;
  const pattern = p.kind === 'unstructured' ? `${Math.round(p.sparsity * 100)}% unstructured` : `${p.n}:${p.m}`;
  return `${pruned.settings.method}, ${pattern}`;
}

const SELECTION_NAME: Record<string, string> = { spap: 'SPAP', 'weight-norm': 'weight norm', 'activation-norm': 'activation-weighted norm' };

function structuredLabel(): string | null {
  if (!structured) return null;
  const { selection, fraction } = structured.settings;
  return `${SELECTION_NAME[selection] ?? selection}, ${Math.round(fraction * 100)}% of MLP channels removed`;
}

async function evaluateRequest(text: string | undefined, seqlen: number, maxTokens: number, emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<EvaluationResult> {
  const { model } = requireModel();
  if (!model.tokenizer) throw new ModelFolderError('This model folder has no tokenizer.json, which evaluation needs to tokenize text.');
  const started = performance.now();
  const g = await getGpu();
  const body = text ?? (await defaultText('evaluation.txt'));
  const ids = model.tokenizer.encode(body);
  const maxWindows = Math.max(1, Math.floor(maxTokens / seqlen));
  const todo = variants();
  const values = new Map<Variant, number>();
  let windows = 0;
  for (const [i, variant] of todo.entries()) {
    const runner = runnerFor(g, variant);
    try {
      const r = await perplexityOfTokens(runner, ids, {
        seqlen,
        maxWindows,
        signal,
        onProgress: (done, total) =>
          emit({ type: 'progress', stage: 'evaluating', layer: VARIANT_NAME[variant], layerIndex: i * total + done, layerCount: total * todo.length, elapsedMs: performance.now() - started }),
      });
      values.set(variant, r.perplexity);
      windows = r.windows;
    } finally {
      runner.dispose();
    }
    await gate();
  }
  return {
    dense: values.get('dense')!,
    pruned: values.get('sparse') ?? null,
    tokens: windows * seqlen,
    windows,
    seqlen,
    textSource: text === undefined ? 'evaluation.txt (bundled)' : 'custom text',
    prunedLabel: prunedLabel(),
    structured: values.get('structured') ?? null,
    structuredLabel: structuredLabel(),
    finishedAt: Date.now(),
  };
}

async function generateRequest(prompt: string, tokens: number, emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<GenerationResult> {
  const { model } = requireModel();
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new ModelFolderError('This model folder has no tokenizer.json, which generation needs.');
  const started = performance.now();
  const g = await getGpu();
  const promptIds = tokenizer.encode(prompt);
  const texts = new Map<Variant, string>();
  for (const variant of variants()) {
    emit({ type: 'progress', stage: 'generating', layer: VARIANT_NAME[variant], elapsedMs: performance.now() - started });
    const runner = runnerFor(g, variant);
    try {
      const ids = await generateGreedy(runner, promptIds, tokens, { signal, eos: model.config.eosTokenId ?? undefined });
      texts.set(variant, tokenizer.decode(ids));
    } finally {
      runner.dispose();
    }
    await gate();
  }
  return { prompt, tokens, dense: texts.get('dense')!, pruned: texts.get('sparse') ?? null, structured: texts.get('structured') ?? null, finishedAt: Date.now() };
}

async function layerViewRequest(layer: string, method: Method, run: RunKind) {
  const { model, specs, summary } = requireModel();
  const entry = specs.get(layer);
  if (!entry) throw new ModelFolderError(`The model has no linear layer named ${layer}.`);
  const { spec } = entry;
  let weight: Float32Array | undefined;
  if (run === 'model') {
    if (pruned && pruned.model.method === method) weight = pruned.model.weights.get(spec.weight);
  } else {
    const key = `${layer}|${method}`;
    weight = layerWeights.get(key);
    if (!weight) {
      weight = await kv.get<Float32Array>(`${summary.fingerprint}|layer|${layer}|${method}`).catch(() => undefined);
      if (weight) layerWeights.set(key, weight);
    }
  }
  if (!weight) throw new Error(`The pruned weights of ${layer} (${method}, ${run === 'model' ? 'whole-model run' : 'layer run'}) are no longer in this browser; run it again to see them.`);
  const dense = fromStored(spec, await model.weights.readF32(spec.weight));
  return layerView(layer, method, run, dense, weight, spec.out, spec.in);
}

async function exportModelRequest(which: 'sparse' | 'structured'): Promise<ExportedFile[]> {
  const { model } = requireModel();
  if (which === 'structured') {
    if (!structured) throw new Error('There is no structured model yet: choose SPAP and run "Prune the whole model" first.');
    // The smaller gate/up/down tensors and config.json's MLP width, with the channel report.
    return exportModel(model, structuredEdits(structured.model));
  }
  if (!pruned) throw new Error('There is no pruned model yet: run "Prune the whole model" first.');
  return exportPrunedModel(model, pruned.model);
}

async function exportLayerProblemRequest(layer: string, cal: CalibrationSettings): Promise<ExportedFile> {
  const g = await getGpu();
  const problem = await problemFor(g, layer, cal);
  const bytes = writeLayerProblem({ ...problem, meta: { ...problem.meta, model: requireModel().summary.name, layer } });
  return { name: `${layer}.problem.safetensors`, bytes };
}

async function dispatch(req: Request, emit: (e: EngineEvent) => void, signal: AbortSignal): Promise<ResultOf[Request['type']]> {
  switch (req.type) {
    case 'init':
      await getGpu();
      return { adapter: adapter! };
    case 'loadModel':
      return load(req.files, req.name);
    case 'loadDefaultModel':
      return loadDefault();
    case 'pruneLayer':
      return (await pruneLayerRequest(req.layer, req.settings, req.calibration, [req.settings.method], emit, signal))[0];
    case 'compareLayer':
      return pruneLayerRequest(req.layer, req.settings, req.calibration, METHODS, emit, signal);
    case 'pruneModel':
      return pruneModelRequest(req.settings, req.calibration, emit, signal);
    case 'pruneStructured':
      return pruneStructuredRequest(req.settings, req.calibration, emit, signal);
    case 'pause':
      setPaused(running !== null);
      return { paused };
    case 'resume':
      setPaused(false);
      return { paused };
    case 'cancel': {
      const had = running !== null;
      running?.abort.abort();
      // A paused run must wake up to notice the cancellation.
      setPaused(false);
      return { cancelled: had };
    }
    case 'layerView':
      return layerViewRequest(req.layer, req.method, req.run);
    case 'evaluate':
      return evaluateRequest(req.text, req.seqlen, req.maxTokens, emit, signal);
    case 'generate':
      return generateRequest(req.prompt, req.tokens, emit, signal);
    case 'exportModel':
      return exportModelRequest(req.which ?? 'sparse');
    case 'exportLayerProblem':
      return exportLayerProblemRequest(req.layer, req.calibration);
    case 'forgetPruned': {
      const fp = loaded?.summary.fingerprint;
      pruned = null;
      structured = null;
      layerWeights.clear();
      if (fp) await kv.deletePrefix(`${fp}|`).catch(() => undefined);
      return { forgotten: true };
    }
  }
}

function post(message: EngineResponse, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function transferables(value: unknown): Transferable[] {
  // Exported files can be large: move their buffers instead of copying them.
  const files = Array.isArray(value) ? value : [value];
  return files.flatMap((f) => (f && typeof f === 'object' && 'bytes' in f && (f as ExportedFile).bytes instanceof Uint8Array ? [(f as ExportedFile).bytes.buffer as ArrayBuffer] : []));
}

async function handle(id: number, req: Request): Promise<void> {
  const emit = (event: EngineEvent) => post({ id, kind: 'event', event });
  const long = LONG_REQUESTS.has(req.type);
  if (long && running) {
    post({ id, kind: 'error', name: 'BusyError', message: `A ${running.type} run is in progress; wait for it or cancel it first.` });
    return;
  }
  if ((req.type === 'loadModel' || req.type === 'loadDefaultModel') && running) {
    post({ id, kind: 'error', name: 'BusyError', message: 'Cancel the running job before loading another model.' });
    return;
  }
  const abort = new AbortController();
  if (long) {
    running = { type: req.type, abort, emit };
    setPaused(false);
  }
  try {
    const value = await dispatch(req, emit, abort.signal);
    post({ id, kind: 'result', value }, req.type === 'exportModel' || req.type === 'exportLayerProblem' ? transferables(value) : []);
  } catch (error) {
    dropGpuAfter(error);
    const e = error instanceof Error ? error : new Error(String(error));
    // A run cancelled by the person arrives as CancelledError whatever the solver threw on abort.
    const name = abort.signal.aborted ? 'CancelledError' : e.name;
    const message = abort.signal.aborted ? 'The run was cancelled; the loaded model and earlier results are unchanged.' : e.message;
    post({ id, kind: 'error', name, message });
  } finally {
    if (long) {
      running = null;
      setPaused(false);
    }
  }
}

self.onmessage = (message: MessageEvent<{ id: number; request: Request }>) => {
  void handle(message.data.id, message.data.request);
};
