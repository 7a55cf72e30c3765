/**
 * Messages between the studio's UI thread and the engine worker. The UI never touches the GPU:
 * it posts requests and renders the events that come back. Every request carries an id; the
 * worker answers with exactly one `result` or `error` for it, and any number of `event`s before.
 */
import type { LayerReport } from '../pipeline/prune';
import type { BlockChannelReport } from '../pipeline/structured';
import type { ChannelSelection, SpapOptions, SpapStep } from '../solvers/spap';
import type { AlpsIteration, AlpsOptions, Method, Pattern, PcgStep } from '../solvers/types';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  swiftshader: boolean;
}

export interface LinearSummary {
  /** Stable id: the module path, e.g. "model.layers.0.self_attn.q_proj" (its weight is `${id}.weight`). */
  id: string;
  block: number;
  /** Short role name: q, k, v, qkv, o, gate, up, fc, down. */
  role: string;
  /** [out, in] in nn.Linear layout. */
  shape: [number, number];
}

export interface ModelSummary {
  name: string;
  /** Identifies the checkpoint (name, file sizes, config) so stored results are matched to it. */
  fingerprint: string;
  /** model_type from config.json (llama, mistral, qwen2, gpt2, opt). */
  architecture: string;
  parameters: number;
  /** Stored dtypes of the weights, e.g. "F32" or "BF16, F32". */
  dtype: string;
  vocabSize: number;
  contextLength: number;
  hidden: number;
  blocks: number;
  linears: LinearSummary[];
  files: string[];
  hasTokenizer: boolean;
  /** True when a pruned model from an earlier session was restored from this browser's storage. */
  restoredPruned: boolean;
  /** Likewise for the structured (MLP-channel) model. */
  restoredStructured: boolean;
}

export interface CalibrationSettings {
  /** Text to sample windows from; undefined = the bundled default calibration.txt. */
  text?: string;
  nsamples: number;
  seqlen: number;
  seed: number;
}

export interface PruneSettings {
  method: Method;
  pattern: Pattern;
  alps: AlpsOptions;
}

/** Structured pruning: remove this fraction of every block's MLP channels, chosen by `selection`. */
export interface StructuredSettings {
  selection: ChannelSelection;
  fraction: number;
  /** Penalty schedule of the SPAP selection (the baselines ignore it). */
  spap: Partial<SpapOptions>;
}

/** A finished structured (MLP-channel) run, as the UI keeps and shows it; the weights stay in the engine. */
export interface StructuredRunSummary {
  settings: StructuredSettings;
  calibration: Omit<CalibrationSettings, 'text'> & { textSource: string };
  /** One entry per block: kept/removed channel indices, refit error, the penalty path. */
  report: BlockChannelReport[];
  parameters: { before: number; after: number };
  /** MLP width before and after (the config field that changes). */
  width: { field: string; before: number; after: number };
  ms: number;
  finishedAt: number;
}

/** Which kind of run produced a result: one layer on its own (dense inputs) or the sequential whole-model run. */
export type RunKind = 'layer' | 'model';

/** A layer's outcome, as the per-layer table shows it: the pipeline's report plus how it was run. */
export interface LayerResult extends Omit<LayerReport, 'block' | 'name'> {
  run: RunKind;
  /** Requested unstructured sparsity (N:M patterns: 1 − N/M). */
  targetSparsity: number;
  /** When the result was finished (ms since epoch). */
  finishedAt: number;
}

/** Downsampled views of a layer for the heatmaps and the histogram. */
export interface LayerView {
  id: string;
  method: Method;
  run: RunKind;
  /** Full weight shape. */
  shape: [number, number];
  /** Grid size and how many weight rows/cols each cell covers. */
  rows: number;
  cols: number;
  cellRows: number;
  cellCols: number;
  /** Max |W| per cell of a rows×cols grid over the dense weight. */
  magnitude: Float32Array;
  /** Fraction of kept weights per cell (1 = all kept). */
  density: Float32Array;
  /** Histogram of log10 |W| (dense values) for kept and pruned weights over shared bin edges. */
  histogram: { edges: number[]; kept: number[]; pruned: number[] };
}

export interface EvaluationResult {
  /** Perplexity of the dense model. */
  dense: number;
  /** Perplexity with the whole-model run's pruned weights; null when there is none. */
  pruned: number | null;
  tokens: number;
  windows: number;
  seqlen: number;
  textSource: string;
  /** Describes the pruned model that was evaluated (method, pattern). */
  prunedLabel: string | null;
  /** Perplexity of the structured (MLP channels removed) model; null or absent when there is none. */
  structured?: number | null;
  structuredLabel?: string | null;
  finishedAt: number;
}

export interface GenerationResult {
  prompt: string;
  tokens: number;
  dense: string;
  pruned: string | null;
  /** The structured model's continuation; null or absent when there is none. */
  structured?: string | null;
  finishedAt: number;
}

export interface ModelRunSummary {
  report: LayerResult[];
  settings: PruneSettings;
  calibration: Omit<CalibrationSettings, 'text'> & { textSource: string };
  ms: number;
}

export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

export type Request =
  | { type: 'init' }
  | { type: 'loadModel'; files: File[]; name?: string }
  | { type: 'loadDefaultModel' }
  | { type: 'pruneLayer'; layer: string; settings: PruneSettings; calibration: CalibrationSettings }
  | { type: 'compareLayer'; layer: string; settings: PruneSettings; calibration: CalibrationSettings }
  | { type: 'pruneModel'; settings: PruneSettings; calibration: CalibrationSettings }
  | { type: 'pruneStructured'; settings: StructuredSettings; calibration: CalibrationSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' }
  | { type: 'layerView'; layer: string; method: Method; run: RunKind }
  | { type: 'evaluate'; text?: string; seqlen: number; maxTokens: number }
  | { type: 'generate'; prompt: string; tokens: number }
  /** `which`: the sparse whole-model run (default) or the structured one. */
  | { type: 'exportModel'; which?: 'sparse' | 'structured' }
  | { type: 'exportLayerProblem'; layer: string; calibration: CalibrationSettings }
  | { type: 'forgetPruned' };

/** What each request resolves to. */
export interface ResultOf {
  init: { adapter: AdapterSummary };
  loadModel: ModelSummary;
  loadDefaultModel: ModelSummary;
  pruneLayer: LayerResult;
  compareLayer: LayerResult[];
  pruneModel: ModelRunSummary;
  pruneStructured: StructuredRunSummary;
  pause: { paused: boolean };
  resume: { paused: boolean };
  cancel: { cancelled: boolean };
  layerView: LayerView;
  evaluate: EvaluationResult;
  generate: GenerationResult;
  exportModel: ExportedFile[];
  exportLayerProblem: ExportedFile;
  forgetPruned: { forgotten: boolean };
}

export type EngineEvent =
  | {
      type: 'progress';
      stage: 'calibrating' | 'solving' | 'evaluating' | 'generating' | 'exporting';
      layerIndex?: number;
      layerCount?: number;
      layer?: string;
      method?: Method;
      elapsedMs: number;
    }
  | { type: 'start'; layer: string; method: Method; run: RunKind }
  | { type: 'iteration'; layer: string; method: Method; data: AlpsIteration }
  | { type: 'pcg'; layer: string; method: Method; data: PcgStep }
  | { type: 'phase'; layer: string; method: Method; phase: string }
  | { type: 'layerDone'; result: LayerResult }
  /** Structured run: a block's channel selection starts (its penalty steps follow). */
  | { type: 'blockStart'; block: number; blocks: number; layer: string; channels: number; selection: ChannelSelection }
  | { type: 'spapStep'; block: number; layer: string; data: SpapStep }
  | { type: 'blockDone'; report: BlockChannelReport }
  | { type: 'paused'; paused: boolean };

export type Response =
  | { id: number; kind: 'event'; event: EngineEvent }
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; message: string; name: string };

/** Requests that run GPU work; only one of them runs at a time. */
export const LONG_REQUESTS: ReadonlySet<Request['type']> = new Set(['pruneLayer', 'compareLayer', 'pruneModel', 'pruneStructured', 'evaluate', 'generate', 'exportLayerProblem']);
