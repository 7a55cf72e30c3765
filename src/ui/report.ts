/** The studio's report of finished results, as JSON (everything, histories included) and CSV (one row per layer result). */
import type { LayerOutcome } from '../shared/outcome';
import type { ModelSummary, StructuredRunSummary } from '../worker/protocol';
import type { ResultsData } from './stores/results';

export function allLayerOutcomes(r: Pick<ResultsData, 'layerRuns' | 'modelRun'>): LayerOutcome[] {
  return [...(r.modelRun?.report ?? []), ...r.layerRuns];
}

export function reportJson(model: ModelSummary, results: ResultsData, settingsQuery: string): string {
  return JSON.stringify(
    {
      generator: 'prune-studio',
      model: { name: model.name, architecture: model.architecture, parameters: model.parameters, dtype: model.dtype, blocks: model.blocks },
      settings: settingsQuery.replace(/^\?/, ''),
      modelRun: results.modelRun,
      // Earlier whole-model runs the current one replaced (summaries, with their perplexity when measured).
      modelHistory: results.modelHistory,
      structuredRun: results.structuredRun,
      layerRuns: results.layerRuns,
      compare: results.compare,
      evaluation: results.evaluation,
      generation: results.generation,
    },
    null,
    2,
  );
}

function csvCell(value: string | number): string {
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(results: Pick<ResultsData, 'layerRuns' | 'modelRun'>): string {
  const header = ['run', 'layer', 'method', 'pattern', 'target_sparsity', 'out', 'in', 'sparsity', 'rel_error', 'rel_error_before_refit', 'iterations', 'ms'];
  const rows = allLayerOutcomes(results).map((r) =>
    [r.run, r.id, r.method, r.pattern, r.targetSparsity, r.shape[0], r.shape[1], r.sparsity.toFixed(6), r.relError.toExponential(6), r.relErrorBeforeRefit.toExponential(6), r.iterations, Math.round(r.ms)]
      .map(csvCell)
      .join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}

/** One row per block of a structured run; the kept channel indices are space-separated in one cell. */
export function channelReportCsv(run: StructuredRunSummary): string {
  const header = ['block', 'layer', 'selection', 'fraction', 'channels', 'kept', 'removed', 'rel_error', 'penalty_steps', 'ms', 'kept_channels'];
  const rows = run.report.map((r) =>
    [r.block, r.layer, r.selection, run.settings.fraction, r.channels, r.kept.length, r.removed.length, r.relError.toExponential(6), r.steps.length, Math.round(r.ms), r.kept.join(' ')].map(csvCell).join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}
