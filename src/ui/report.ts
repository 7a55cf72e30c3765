/** The studio's report of finished results, as JSON (everything, histories included) and CSV (one row per layer result). */
import type { LayerResult, ModelSummary } from '../worker/protocol';
import type { ResultsData } from './stores/results';

export function allLayerResults(r: Pick<ResultsData, 'layerRuns' | 'modelRun'>): LayerResult[] {
  return [...(r.modelRun?.report ?? []), ...r.layerRuns];
}

export function reportJson(model: ModelSummary, results: ResultsData, settingsQuery: string): string {
  return JSON.stringify(
    {
      generator: 'prune-studio',
      model: { name: model.name, architecture: model.architecture, parameters: model.parameters, dtype: model.dtype, blocks: model.blocks },
      settings: settingsQuery.replace(/^\?/, ''),
      modelRun: results.modelRun,
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
  const rows = allLayerResults(results).map((r) =>
    [r.run, r.id, r.method, r.pattern, r.targetSparsity, r.shape[0], r.shape[1], r.sparsity.toFixed(6), r.relError.toExponential(6), r.relErrorBeforeRefit.toExponential(6), r.iterations, Math.round(r.ms)]
      .map(csvCell)
      .join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}
