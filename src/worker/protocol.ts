/**
 * Messages between the studio's UI thread and the engine worker. The UI never touches the GPU:
 * it posts requests and renders the events that come back. Every request carries an id; the
 * worker answers with exactly one `result` or `error` for it, and any number of `event`s before.
 * The data types are the engine session's (src/engine/types.ts), re-exported for the UI.
 */
import type * as E from '../engine/types';
import type { Method } from '../shared/methods';
import type { LayerOutcome, RunKind } from '../shared/outcome';

export type * from '../engine/types';

export type Request =
  | { type: 'init' }
  | { type: 'loadModel'; files: File[]; name?: string }
  | { type: 'loadDefaultModel' }
  | { type: 'pruneLayer'; layer: string; settings: E.PruneSettings; calibration: E.CalibrationSettings }
  | { type: 'compareLayer'; layer: string; settings: E.PruneSettings; calibration: E.CalibrationSettings }
  | { type: 'pruneModel'; settings: E.PruneSettings; calibration: E.CalibrationSettings }
  /** The OWL per-layer sparsities of the loaded model and calibration (the budget editor's preset); nothing is pruned. */
  | { type: 'owlBudget'; settings: E.PruneSettings; calibration: E.CalibrationSettings }
  | { type: 'pruneStructured'; settings: E.StructuredSettings; calibration: E.CalibrationSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' }
  | { type: 'layerView'; layer: string; method: Method; run: RunKind }
  | { type: 'evaluate'; text?: string; seqlen: number; maxTokens: number }
  | { type: 'generate'; prompt: string; tokens: number }
  /** `which`: the sparse whole-model run (default) or the structured one. */
  | { type: 'exportModel'; which?: 'sparse' | 'structured'; compact?: boolean; pack?: boolean }
  | { type: 'exportLayerProblem'; layer: string; calibration: E.CalibrationSettings }
  | { type: 'forgetPruned' }
  /** The loaded model's whole-model run stopped with blocks saved in this browser (a reload, a cancel), or null. */
  | { type: 'unfinishedModelRun' }
  | { type: 'continueModelRun' }
  | { type: 'discardModelRun' }
  /** The export streamed into a folder from showDirectoryPicker (the handle is structured-cloned to the worker). */
  | { type: 'exportModelToFolder'; which?: 'sparse' | 'structured'; folder: FileSystemDirectoryHandle; compact?: boolean; pack?: boolean }
  /** Bytes of the run's dense and compact exports, its parameters, and decode speed measured here (`tokens` 0: no speed). */
  | { type: 'sparsityPayoff'; which: 'sparse' | 'structured'; tokens: number };

/** What each request resolves to. */
export interface ResultOf {
  init: { adapter: E.AdapterSummary };
  loadModel: E.ModelSummary;
  loadDefaultModel: E.ModelSummary;
  pruneLayer: LayerOutcome;
  compareLayer: LayerOutcome[];
  pruneModel: E.ModelRunSummary;
  owlBudget: E.OwlBudget;
  pruneStructured: E.StructuredRunSummary;
  pause: { paused: boolean };
  resume: { paused: boolean };
  cancel: { cancelled: boolean };
  layerView: E.LayerView;
  evaluate: E.EvaluationResult;
  generate: E.GenerationResult;
  exportModel: E.ExportedFile[];
  exportLayerProblem: E.ExportedFile;
  forgetPruned: { forgotten: boolean };
  unfinishedModelRun: E.UnfinishedRunInfo | null;
  continueModelRun: E.ModelRunSummary;
  discardModelRun: { discarded: boolean };
  exportModelToFolder: E.WrittenFile[];
  sparsityPayoff: E.SparsityPayoff;
}

export type Response =
  | { id: number; kind: 'event'; event: E.EngineEvent }
  | { id: number; kind: 'result'; value: unknown }
  | { id: number; kind: 'error'; message: string; name: string };
