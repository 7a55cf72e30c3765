/** A finished run's layer as the layer view shows it: heatmaps and histogram against the dense weight. */
import type { Gpu } from '../../gpu/runtime';
import { fromStored } from '../../model/architectures';
import type { Method } from '../../shared/methods';
import type { RunKind } from '../../shared/outcome';
import { layerView } from '../layerView';
import { linearOf, type LoadedModel } from '../loadedModel';
import type { SessionResults } from '../results';
import type { LayerView } from '../types';

export async function viewLayer(gpu: Gpu, loaded: LoadedModel, results: SessionResults, layer: string, method: Method, run: RunKind): Promise<LayerView> {
  const { spec } = linearOf(loaded, layer);
  const weight = await results.weight(layer, spec.weight, method, run);
  if (!weight) throw new Error(`The pruned weights of ${layer} (${method}, ${run === 'model' ? 'whole-model run' : 'layer run'}) are no longer in this browser; run it again to see them.`);
  const dense = fromStored(spec, await loaded.model.weights.readF32(spec.weight));
  return layerView(gpu, layer, method, run, dense, weight, spec.out, spec.in);
}
