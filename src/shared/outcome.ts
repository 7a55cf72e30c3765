/**
 * One layer's outcome: the one type the solvers' callers, the whole-model report, the CLI's JSON,
 * `prune_report.json`, the worker protocol and the studio's tables all use.
 */
import type { LayerHealth } from './health';
import type { Method } from './methods';
import type { AlpsIteration, PcgStep } from './telemetry';

/** Which kind of run produced a result: one layer on its own (dense inputs) or the sequential whole-model run. */
export type RunKind = 'layer' | 'model';

export interface LayerOutcome {
  /** Module path, e.g. "model.layers.0.self_attn.q_proj" (its weight is `${id}.weight`). */
  id: string;
  block: number;
  /** The linear's name in its block, e.g. "q_proj". */
  name: string;
  method: Method;
  /** describePattern(pattern): "unstructured" or "N:M". */
  pattern: string;
  /** Requested fraction of zeros (N:M: 1 − N/M). */
  targetSparsity: number;
  /** [out, in] in nn.Linear layout. */
  shape: [number, number];
  /** Achieved fraction of zeros. */
  sparsity: number;
  nnz: number;
  /** f(W) / tr(W0 G W0ᵀ) with the undamped gram. */
  relError: number;
  /** Relative error before the PCG refit (ALPS only; equals relError otherwise). */
  relErrorBeforeRefit: number;
  iterations: number;
  ms: number;
  history: AlpsIteration[];
  pcg: PcgStep[];
  run: RunKind;
  /** When the result was finished (ms since epoch). */
  finishedAt: number;
  /** The gram's numerical health (src/shared/health.ts); absent in results stored before it existed. */
  health?: LayerHealth;
  /** Local search after the method (docs/algorithms.md, "Local search"), when the run asked for it. */
  refinement?: { relErrorBefore: number; relErrorAfterSwaps: number; swaps: number; rounds: number; refit: boolean; ms: number };
}

/** The outcome without its per-iteration telemetry, as summaries print it. */
export type LayerSummary = Omit<LayerOutcome, 'history' | 'pcg'>;

export function summarizeOutcome(outcome: LayerOutcome): LayerSummary {
  const { history: _history, pcg: _pcg, ...summary } = outcome;
  return summary;
}
