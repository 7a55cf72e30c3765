/**
 * Finished results of the loaded model: single-layer runs, the whole-model run, the latest method
 * comparison, evaluation and generation. Kept in IndexedDB per model fingerprint, so they survive
 * a reload (the engine keeps the matching pruned weights in its own store).
 */
import { create } from 'zustand';
import type { Method } from '../../shared/methods';
import type { BlockChannelReport } from '../../shared/channels';
import type { LayerOutcome, RunKind } from '../../shared/outcome';
import type { EvaluationResult, GenerationResult, ModelRunSummary, StructuredRunSummary } from '../../worker/protocol';
import { openKv } from '../../shared/kv';

export interface Comparison {
  layer: string;
  pattern: string;
  targetSparsity: number;
  results: LayerOutcome[];
}

export interface Selection {
  layer: string;
  method: Method;
  run: RunKind;
}

/**
 * A whole-model run as the history keeps it once a newer one replaced it: what ran, how well, and
 * the perplexity measured while its weights were the pruned model (the engine keeps only the latest).
 */
export interface ModelRunRecord {
  settings: ModelRunSummary['settings'];
  calibration: ModelRunSummary['calibration'];
  layers: number;
  meanError: number;
  ms: number;
  finishedAt: number;
  /** Perplexity of its pruned model and of the dense one, when it was measured; null when not. */
  perplexity: { pruned: number; dense: number } | null;
}

/** Mean relative error over a run's layers. */
export function meanError(report: readonly LayerOutcome[]): number {
  return report.reduce((a, r) => a + r.relError, 0) / Math.max(1, report.length);
}

/** The evaluation measured `run`'s weights when it finished after it (older stored runs carry no time: then it counts as theirs). */
export function measuredAfter(result: { finishedAt: number } | null, run: { finishedAt?: number } | null): boolean {
  return result !== null && run !== null && result.finishedAt >= (run.finishedAt ?? 0);
}

function recordOf(run: ModelRunSummary, evaluation: EvaluationResult | null): ModelRunRecord {
  const measured = evaluation && evaluation.pruned !== null && measuredAfter(evaluation, run) ? { pruned: evaluation.pruned, dense: evaluation.dense } : null;
  return { settings: run.settings, calibration: run.calibration, layers: run.report.length, meanError: meanError(run.report), ms: run.ms, finishedAt: run.finishedAt ?? 0, perplexity: measured };
}

export interface ResultsData {
  layerRuns: LayerOutcome[];
  modelRun: ModelRunSummary | null;
  /** The last structured (MLP-channel) run, kept beside the sparse one. */
  structuredRun: StructuredRunSummary | null;
  /** Recent structured runs (reports only, newest last), so selections and fractions can be compared. */
  structuredHistory: StructuredRunSummary[];
  compare: Comparison | null;
  /** Earlier whole-model runs the current one replaced, oldest first (summaries only). */
  modelHistory: ModelRunRecord[];
  evaluation: EvaluationResult | null;
  generation: GenerationResult | null;
}

interface ResultsStore extends ResultsData {
  /** Layers finished so far by the whole-model run in progress (its per-layer chart builds from these). */
  modelRunPartial: LayerOutcome[];
  /** Blocks finished so far by the structured run in progress. */
  structuredPartial: BlockChannelReport[];
  selected: Selection | null;
  /** The fingerprint the results belong to; null until a model is loaded. */
  fingerprint: string | null;
  addLayerRun(result: LayerOutcome): void;
  addPartial(result: LayerOutcome): void;
  resetPartial(): void;
  setModelRun(run: ModelRunSummary): void;
  addBlock(report: BlockChannelReport): void;
  resetBlocks(): void;
  setStructuredRun(run: StructuredRunSummary): void;
  setCompare(compare: Comparison | null): void;
  setEvaluation(evaluation: EvaluationResult): void;
  setGeneration(generation: GenerationResult): void;
  select(selection: Selection | null): void;
  clear(): void;
}

/** Structured runs kept for comparison. */
const HISTORY = 8;

const EMPTY: ResultsData = { layerRuns: [], modelRun: null, structuredRun: null, structuredHistory: [], compare: null, modelHistory: [], evaluation: null, generation: null };

export const useResults = create<ResultsStore>((set) => ({
  ...EMPTY,
  modelRunPartial: [],
  structuredPartial: [],
  selected: null,
  fingerprint: null,
  addLayerRun: (result) =>
    set((s) => ({
      // One entry per layer and method: a newer run of the same pair replaces the older one.
      layerRuns: [...s.layerRuns.filter((r) => !(r.id === result.id && r.method === result.method)), result],
    })),
  addPartial: (result) => set((s) => ({ modelRunPartial: [...s.modelRunPartial, result] })),
  resetPartial: () => set({ modelRunPartial: [] }),
  // The run it replaces goes to the history, with its perplexity if it was measured: never silently dropped.
  setModelRun: (modelRun) => set((s) => ({ modelRun, modelRunPartial: [], modelHistory: s.modelRun ? [...s.modelHistory, recordOf(s.modelRun, s.evaluation)].slice(-HISTORY) : s.modelHistory })),
  addBlock: (report) => set((s) => ({ structuredPartial: [...s.structuredPartial, report] })),
  resetBlocks: () => set({ structuredPartial: [] }),
  setStructuredRun: (structuredRun) => set((s) => ({ structuredRun, structuredPartial: [], structuredHistory: [...s.structuredHistory, structuredRun].slice(-HISTORY) })),
  setCompare: (compare) => set({ compare }),
  setEvaluation: (evaluation) => set({ evaluation }),
  setGeneration: (generation) => set({ generation }),
  select: (selected) => set({ selected }),
  clear: () => set({ ...EMPTY, modelRunPartial: [], structuredPartial: [], selected: null }),
}));

// ---------------------------------------------------------------- persistence

const kv = openKv('prune-studio-ui');
const key = (fingerprint: string) => `results|${fingerprint}`;

/** Loads the stored results of a model (or empties the store when there are none). */
export async function restoreResults(fingerprint: string): Promise<boolean> {
  let stored: ResultsData | undefined;
  try {
    stored = await kv.get<ResultsData>(key(fingerprint));
  } catch {
    stored = undefined;
  }
  useResults.setState({ ...EMPTY, ...(stored ?? {}), modelRunPartial: [], structuredPartial: [], selected: null, fingerprint });
  return stored !== undefined;
}

let saveTimer: ReturnType<typeof setTimeout> | null = null;

/** Saves the results whenever they change (debounced; storage errors leave the session unaffected). */
export function persistResults(): () => void {
  return useResults.subscribe((s, prev) => {
    if (!s.fingerprint || s.fingerprint !== prev.fingerprint) return;
    if (s.layerRuns === prev.layerRuns && s.modelRun === prev.modelRun && s.structuredRun === prev.structuredRun && s.structuredHistory === prev.structuredHistory && s.compare === prev.compare && s.modelHistory === prev.modelHistory && s.evaluation === prev.evaluation && s.generation === prev.generation) return;
    if (saveTimer) clearTimeout(saveTimer);
    const fingerprint = s.fingerprint;
    saveTimer = setTimeout(() => {
      const { layerRuns, modelRun, structuredRun, structuredHistory, compare, modelHistory, evaluation, generation } = useResults.getState();
      void kv.put(key(fingerprint), { layerRuns, modelRun, structuredRun, structuredHistory, compare, modelHistory, evaluation, generation } satisfies ResultsData).catch(() => undefined);
    }, 300);
  });
}

export async function forgetStoredResults(fingerprint: string): Promise<void> {
  await kv.deletePrefix(key(fingerprint)).catch(() => undefined);
}
