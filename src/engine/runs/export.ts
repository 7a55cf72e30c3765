/** Files the studio writes: the pruned or structured model as a checkpoint folder, a layer's problem, and a layer's picture. */
import { writeLayerProblem } from '../../formats/layerProblem';
import { fromStored } from '../../model/architectures';
import { exportModel, exportPrunedModel } from '../../pipeline/export';
import { structuredEdits } from '../../pipeline/structured';
import type { Method } from '../../shared/methods';
import type { RunKind } from '../../shared/outcome';
import { layerView } from '../layerView';
import { linearOf, type LoadedModel } from '../loadedModel';
import type { SessionResults } from '../results';
import type { CalibrationSettings, ExportedFile, LayerView } from '../types';
import type { RunContext } from './context';

export async function exportRun(loaded: LoadedModel, results: SessionResults, which: 'sparse' | 'structured'): Promise<ExportedFile[]> {
  if (which === 'structured') {
    if (!results.structured) throw new Error('There is no structured model yet: choose SPAP and run "Prune the whole model" first.');
    // The smaller gate/up/down tensors and config.json's MLP width, with the channel report.
    return exportModel(loaded.model, structuredEdits(results.structured.model));
  }
  if (!results.pruned) throw new Error('There is no pruned model yet: run "Prune the whole model" first.');
  return exportPrunedModel(loaded.model, results.pruned.model);
}

/** The layer's dense problem under these calibration settings, as a .safetensors file for `prune-layer`. */
export async function exportLayerProblem(ctx: RunContext, layer: string, cal: CalibrationSettings): Promise<ExportedFile> {
  const problem = await ctx.calibration.problem(ctx.gpu, ctx.loaded, layer, cal);
  const bytes = writeLayerProblem({ ...problem, meta: { ...problem.meta, model: ctx.loaded.summary.name, layer } });
  return { name: `${layer}.problem.safetensors`, bytes };
}

/** Heatmaps and histogram of a finished run's layer against the dense weight. */
export async function viewLayer(loaded: LoadedModel, results: SessionResults, layer: string, method: Method, run: RunKind): Promise<LayerView> {
  const { spec } = linearOf(loaded, layer);
  const weight = await results.weight(layer, spec.weight, method, run);
  if (!weight) throw new Error(`The pruned weights of ${layer} (${method}, ${run === 'model' ? 'whole-model run' : 'layer run'}) are no longer in this browser; run it again to see them.`);
  const dense = fromStored(spec, await loaded.model.weights.readF32(spec.weight));
  return layerView(layer, method, run, dense, weight, spec.out, spec.in);
}
