/**
 * What the engine session is asked for and answers with: settings in, summaries and outcomes out.
 * Pure data (structured-cloneable), so the worker protocol carries them as they are and the UI
 * renders them; presentation (names, labels, colours) is the UI's.
 */
import type { SparsityProfile } from '../shared/budget';
import type { BlockChannelReport, BlockHeadReport } from '../shared/channels';
import type { AlpsOptions, ChannelSelection, Method, SpapOptions } from '../shared/methods';
import type { LayerOutcome, RunKind } from '../shared/outcome';
import type { Pattern } from '../shared/pattern';
import type { AlpsIteration, PcgStep, SpapStep, SupportFrame, SwapRound } from '../shared/telemetry';
import type { RefineOptions } from '../solvers/types';

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
  /** Short role name: q, k, v, qkv, o, gate, up, gate_up, fc, down. */
  role: string;
  /** [out, in] in nn.Linear layout. */
  shape: [number, number];
  /** A fused linear (one stored matrix, pruned as one): its parts stacked along the outputs, e.g. q|k|v or gate|up; null otherwise. */
  parts: { name: string; rows: number }[] | null;
  /** The block's attention is a sliding window of this many tokens; null: global (causal over the whole window). */
  slidingWindow: number | null;
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
  /** Attention: key/value groups per block and query heads per group; whether this family can lose whole groups (structured runs). */
  kvGroups?: number;
  queriesPerGroup?: number;
  headsRemovable?: boolean;
}

export interface CalibrationSettings {
  /** Text to sample windows from; undefined = the bundled default calibration.txt. */
  text?: string;
  nsamples: number;
  seqlen: number;
  seed: number;
}

/** The calibration a finished run used, without the (possibly large) text itself. */
export type CalibrationRecord = Omit<CalibrationSettings, 'text'> & { textSource: 'default' | 'custom' };

export interface PruneSettings {
  method: Method;
  pattern: Pattern;
  alps: AlpsOptions;
  /** Whole-model runs: how each layer's sparsity spreads around the target (absent: uniform; src/shared/budget.ts). */
  profile?: SparsityProfile;
  /** Swap moves after the method, then a refit on the final support (absent: none; src/solvers/swaps.ts). */
  refine?: RefineOptions;
}

/** The OWL preset of the studio's budget editor: every linear's sparsity (by layer id) at the exact overall count of `target`. */
export interface OwlBudget {
  method: Method;
  target: number;
  m: number;
  lambda: number;
  sparsities: Record<string, number>;
}

/** Structured pruning: remove this fraction of every block's MLP channels, chosen by `selection`. */
export interface StructuredSettings {
  selection: ChannelSelection;
  fraction: number;
  /** Fraction of every block's attention key/value groups to remove too (whole groups; default none). */
  heads?: number;
  /** Penalty schedule of the SPAP selection (the baselines ignore it). */
  spap: Partial<SpapOptions>;
}

/** A finished structured (MLP-channel) run, as the UI keeps and shows it; the weights stay in the engine. */
export interface StructuredRunSummary {
  settings: StructuredSettings;
  calibration: CalibrationRecord;
  /** One entry per block: kept/removed channel indices, refit error, the penalty path. */
  report: BlockChannelReport[];
  /** Per block, the attention key/value groups kept and removed (absent or empty when none were). */
  heads?: BlockHeadReport[];
  parameters: { before: number; after: number };
  /** MLP width before and after (the config field that changes). */
  width: { field: string; before: number; after: number };
  ms: number;
  finishedAt: number;
}

/** A whole-model sparse run whose finished blocks are saved in this browser (a reload or a cancel stopped it), to continue or discard. */
export interface UnfinishedRunInfo {
  blocksDone: number;
  blocks: number;
  layersDone: number;
  layerCount: number;
  settings: PruneSettings;
  calibration: CalibrationRecord;
  /** Wall time of the run so far. */
  ms: number;
  /** When it was last saved (ms since epoch). */
  savedAt: number;
}

export interface ModelRunSummary {
  report: LayerOutcome[];
  settings: PruneSettings;
  calibration: CalibrationRecord;
  ms: number;
  /** When it finished (ms since epoch); absent in results stored before it was recorded. */
  finishedAt?: number;
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

/** The models an evaluation can run: the dense one and each finished run's. */
export type Variant = 'dense' | 'sparse' | 'structured';

export interface EvaluationResult {
  /** Perplexity of the dense model. */
  dense: number;
  /** Perplexity with the whole-model run's pruned weights; null when there is none. */
  pruned: number | null;
  tokens: number;
  windows: number;
  seqlen: number;
  textSource: 'default' | 'custom';
  /** The settings of the pruned model that was evaluated (the UI names it). */
  prunedSettings: PruneSettings | null;
  /** Perplexity of the structured (MLP channels removed) model; null or absent when there is none. */
  structured?: number | null;
  structuredSettings?: StructuredSettings | null;
  finishedAt: number;
}

export interface GenerationResult {
  prompt: string;
  tokens: number;
  dense: string;
  pruned: string | null;
  /** The structured model's continuation; null or absent when there is none. */
  structured?: string | null;
  /** How each continuation was decoded: new tokens per second, and (pruned) the kernels its linears used. */
  decoding?: Partial<Record<Variant, DecodingSummary>>;
  finishedAt: number;
}

export interface DecodingSummary {
  tokensPerSecond: number;
  kernels: 'dense' | 'sparse';
  /** Linears per kernel the per-layer race chose (sparse kernels only), e.g. { dense: 20, nm: 5, csr: 3 }. */
  kernelCounts?: Record<string, number>;
}

export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

/** A file the export streamed into a picked folder. */
export interface WrittenFile {
  name: string;
  size: number;
}

export type Stage = 'calibrating' | 'solving' | 'evaluating' | 'generating' | 'exporting';

export type EngineEvent =
  | {
      type: 'progress';
      stage: Stage;
      layerIndex?: number;
      layerCount?: number;
      layer?: string;
      method?: Method;
      /** Evaluation and generation: the model being run. */
      variant?: Variant;
      elapsedMs: number;
      /** Whole-model runs: time earlier attempts of the same run took (a continued run), added to elapsedMs for its clock. */
      earlierMs?: number;
      /** Whole-model runs: layers and blocks finished so far (a continued run's included). */
      layersDone?: number;
      blocksDone?: number;
      blockCount?: number;
      /** Whole-model runs: estimated time left (ms) from the layers finished so far; absent until one finished. */
      etaMs?: number;
    }
  | { type: 'start'; layer: string; method: Method; run: RunKind }
  | { type: 'iteration'; layer: string; method: Method; data: AlpsIteration }
  | { type: 'pcg'; layer: string; method: Method; data: PcgStep }
  | { type: 'phase'; layer: string; method: Method; phase: string }
  /** One round of swap moves of the refinement after the method. */
  | { type: 'swaps'; layer: string; method: Method; data: SwapRound }
  | { type: 'layerDone'; result: LayerOutcome }
  /** Structured run: a block's channel selection starts (its penalty steps follow). */
  | { type: 'blockStart'; block: number; blocks: number; layer: string; channels: number; selection: ChannelSelection }
  | { type: 'spapStep'; block: number; layer: string; data: SpapStep }
  | { type: 'blockDone'; report: BlockChannelReport }
  | { type: 'paused'; paused: boolean }
  /** Whole-model runs: a finished block was saved in the browser (`bytes` in all), or saving stopped (`failure`, one line). */
  | { type: 'checkpoint'; blocksSaved: number; blocks: number; bytes: number; restored: number; failure: string | null }
  /** Single-layer ALPS runs: the support at a ρ update, downsampled (src/solvers/supportFrames.ts). */
  | { type: 'supportFrame'; layer: string; method: Method; data: SupportFrame };

export type Emit = (event: EngineEvent) => void;

/**
 * What the sparsity buys on this machine (the Evaluate tab's panel): the bytes of the exports as
 * they would be written, the parameters, and decode speed measured here with the dense and the
 * sparse kernels (for a structured run: the original and the smaller dense model, dense kernels).
 */
export interface SparsityPayoff {
  which: 'sparse' | 'structured';
  /** Bytes of the weight files (safetensors and index) and of every file of the download. */
  dense: { weights: number; download: number };
  /** The compact export (sparse runs only; null when no weight is sparse enough to store compact). */
  compact: { weights: number; download: number; format: string; compressed: number; linears: number } | null;
  /** The compact export packed (`*.safetensors.pack`, byte planes deflated; sparse runs only). */
  packed: { weights: number; download: number } | null;
  /** All parameters and the non-zero ones (structured: before and after the cut, all non-zero). */
  parameters: { total: number; nonzero: number; before?: number };
  speed: SpeedComparison | null;
  finishedAt: number;
}

/** How an export is written: sparse weights compact (values plus a bitmask), weight files packed. */
export interface ExportChoice {
  compact?: boolean;
  pack?: boolean;
}

export interface SpeedComparison {
  /** The two measured generations: sparse run, dense vs sparse kernels; structured run, original vs smaller model. */
  baseline: { label: string; tokensPerSecond: number };
  candidate: { label: string; tokensPerSecond: number };
  tokens: number;
  /** Greedy tokens equal between the two (always compared; for a structured run they differ by design). */
  sameTokens: boolean;
  timing: 'gpu-timestamps' | 'wall-clock';
  /** How many linears chose each decode kernel in the sparse generation. */
  kernels: Record<string, number>;
  adapter: string;
}
