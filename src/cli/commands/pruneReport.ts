/** What `prune` prints for an unstructured run: the --json object and the human-readable table. */
import type { Method } from '../../shared/methods';
import { summarizeOutcome, type LayerOutcome, type LayerSummary } from '../../shared/outcome';
import { seconds } from './eval';

/** What --json prints as the last stdout line. */
export interface PruneReport {
  model: string;
  method: Method;
  /** "unstructured" or "N:M". */
  pattern: string;
  /** Requested fraction removed (unstructured) or 1 − N/M. */
  targetSparsity: number;
  /** How the layers' sparsities were chosen: "uniform", "owl (M 5, λ 0.08)" or "layers (…)" (describeProfile). */
  profile: string;
  /** Achieved fraction of zeros over all pruned layers. */
  sparsity: number;
  calib: string;
  nsamples: number;
  seqlen: number;
  seed: number;
  /** Each layer's outcome without the per-iteration histories, its time rounded to 0.1 ms. */
  layers: LayerSummary[];
  ms: number;
  device: string;
  out: string;
  files: string[];
}

/** The layers as --json prints them, and the achieved sparsity over all of them. */
export function summarizeLayers(outcomes: readonly LayerOutcome[]): { layers: LayerSummary[]; sparsity: number } {
  let zeros = 0;
  let total = 0;
  const layers = outcomes.map((outcome) => {
    const summary = summarizeOutcome(outcome);
    const size = summary.shape[0] * summary.shape[1];
    zeros += summary.sparsity * size;
    total += size;
    return { ...summary, ms: Math.round(summary.ms * 10) / 10 };
  });
  return { layers, sparsity: total ? zeros / total : 0 };
}

/** The per-layer table of the human-readable summary; `patternText` is patternLabel of the run's pattern. */
export function pruneTable(r: PruneReport, patternText: string): string {
  const rows = r.layers.map((l) => [
    l.id,
    `${l.shape[0]}×${l.shape[1]}`,
    `${(100 * l.sparsity).toFixed(2)}%`,
    l.relErrorBeforeRefit.toPrecision(4),
    l.relError.toPrecision(4),
    String(l.iterations),
    seconds(l.ms),
  ]);
  const header = ['layer', 'shape', 'sparsity', 'rel err before refit', 'rel err', 'iters', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const geo = Math.exp(r.layers.reduce((a, l) => a + Math.log(Math.max(l.relError, 1e-30)), 0) / Math.max(1, r.layers.length));
  return [
    `${r.model}: ${r.method}, ${patternText}, ${r.nsamples}×${r.seqlen} calibration tokens from ${r.calib} (seed ${r.seed})`,
    line(header),
    ...rows.map(line),
    `${r.layers.length} layers, sparsity ${(100 * r.sparsity).toFixed(2)}%, geometric mean rel error ${geo.toPrecision(4)}, ${seconds(r.ms)} on ${r.device}`,
    `wrote ${r.out} (${r.files.join(', ')})`,
  ].join('\n');
}
