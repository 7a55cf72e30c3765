/**
 * Messages between the studio's UI thread and the engine worker. The UI never touches the GPU:
 * it posts requests and renders the events that come back. Every request carries an id; the
 * worker answers with exactly one `result` or `error` for it, and any number of `event`s before.
 */
import type { AlpsIteration, AlpsOptions, Method, Pattern, PcgStep } from '../solvers/types';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  swiftshader: boolean;
}

export interface LinearSummary {
  /** Stable id, e.g. "model.layers.0.self_attn.q_proj". */
  id: string;
  block: number;
  /** Short role name: q, k, v, o, gate, up, down (or the architecture's names). */
  role: string;
  /** [out, in] in nn.Linear layout. */
  shape: [number, number];
}

export interface ModelSummary {
  name: string;
  architecture: string;
  parameters: number;
  dtype: string;
  vocabSize: number;
  contextLength: number;
  blocks: number;
  linears: LinearSummary[];
}

export interface CalibrationSettings {
  /** Text to sample windows from; undefined = the bundled default. */
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

/** A layer's outcome, as the per-layer table shows it. */
export interface LayerResult {
  id: string;
  method: Method;
  pattern: string;
  shape: [number, number];
  sparsity: number;
  relError: number;
  relErrorBeforeRefit: number;
  iterations: number;
  ms: number;
  history: AlpsIteration[];
  pcg: PcgStep[];
}

/** Downsampled views of a layer for the heatmaps and the histogram. */
export interface LayerView {
  id: string;
  rows: number;
  cols: number;
  /** Max |W| per cell of a rows×cols grid over the dense weight. */
  magnitude: Float32Array;
  /** Fraction of kept weights per cell (1 = all kept). */
  density: Float32Array;
  /** Histogram of log10 |W| for kept and pruned weights over shared bin edges. */
  histogram: { edges: number[]; kept: number[]; pruned: number[] };
}

export type Request =
  | { type: 'init' }
  | { type: 'loadModel'; files: File[] }
  | { type: 'loadDefaultModel' }
  | { type: 'pruneLayer'; layer: string; settings: PruneSettings; calibration: CalibrationSettings }
  | { type: 'compareLayer'; layer: string; settings: PruneSettings; calibration: CalibrationSettings }
  | { type: 'pruneModel'; settings: PruneSettings; calibration: CalibrationSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' }
  | { type: 'layerView'; layer: string; method?: Method }
  | { type: 'evaluate'; text?: string; seqlen: number }
  | { type: 'generate'; prompt: string; tokens: number }
  | { type: 'exportModel' }
  | { type: 'exportLayerProblem'; layer: string; calibration: CalibrationSettings };

export type EngineEvent =
  | { type: 'progress'; stage: string; layerIndex?: number; layerCount?: number; layer?: string; iteration?: number; elapsedMs: number }
  | { type: 'iteration'; layer: string; method: Method; data: AlpsIteration }
  | { type: 'pcg'; layer: string; method: Method; data: PcgStep }
  | { type: 'layerDone'; result: LayerResult }
  | { type: 'paused'; paused: boolean };

export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

export type Response =
  | { id: number; kind: 'event'; event: EngineEvent }
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; message: string; name: string };
