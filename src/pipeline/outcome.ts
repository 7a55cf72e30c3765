/**
 * Naming a model's linear layers and turning a solver's result into the one layer-outcome type
 * (src/shared/outcome.ts), for whole-model runs and single-layer runs alike.
 */
import type { Architecture, BlockSpec, LinearSpec } from '../model/architectures';
import type { LayerOutcome, RunKind } from '../shared/outcome';
import { describePattern, targetSparsity, type Pattern } from '../shared/pattern';

/** Module path of a linear, e.g. "model.layers.0.self_attn.q_proj" (its weight is `${id}.weight`). */
export function layerId(spec: LinearSpec): string {
  return spec.weight.replace(/\.weight$/, '');
}

/** Where a linear layer sits in the model and its nn.Linear shape [out, in]. */
export interface LinearLayer {
  id: string;
  block: number;
  name: string;
  shape: [number, number];
  spec: LinearSpec;
}

export function linearLayer(block: BlockSpec, spec: LinearSpec): LinearLayer {
  return { id: layerId(spec), block: block.index, name: spec.name, shape: [spec.out, spec.in], spec };
}

/** The linear layer with module path `id`. */
export function findLayer(arch: Architecture, id: string): LinearLayer {
  for (const block of arch.blocks) {
    const spec = block.linears.find((l) => layerId(l) === id);
    if (spec) return linearLayer(block, spec);
  }
  throw new Error(`The model has no linear layer named ${id}.`);
}

/** What a solver returns for one layer (the solvers' SolveResult has these fields). */
export type SolvedLayer = Pick<LayerOutcome, 'method' | 'nnz' | 'relError' | 'relErrorBeforeRefit' | 'iterations' | 'ms' | 'history' | 'pcg' | 'health'> & {
  weight: Float32Array;
  refinement?: NonNullable<LayerOutcome['refinement']> & { history?: unknown };
};

/** One layer's outcome from its solver result: the only place the entry is assembled. */
export function layerOutcome(layer: Pick<LinearLayer, 'id' | 'block' | 'name' | 'shape'>, result: SolvedLayer, pattern: Pattern, run: RunKind): LayerOutcome {
  const size = result.weight.length;
  return {
    id: layer.id,
    block: layer.block,
    name: layer.name,
    method: result.method,
    pattern: describePattern(pattern),
    targetSparsity: targetSparsity(pattern),
    shape: [layer.shape[0], layer.shape[1]],
    sparsity: (size - result.nnz) / size,
    nnz: result.nnz,
    relError: result.relError,
    relErrorBeforeRefit: result.relErrorBeforeRefit,
    iterations: result.iterations,
    ms: result.ms,
    history: result.history,
    pcg: result.pcg,
    run,
    finishedAt: Date.now(),
    ...(result.health ? { health: result.health } : {}),
    ...(result.refinement ? { refinement: refinementSummary(result.refinement) } : {}),
  };
}

/** The refinement's numbers without its per-round history (the report keeps one line per layer). */
function refinementSummary(r: NonNullable<LayerOutcome['refinement']>): NonNullable<LayerOutcome['refinement']> {
  const { relErrorBefore, relErrorAfterSwaps, swaps, rounds, refit, ms } = r;
  return { relErrorBefore, relErrorAfterSwaps, swaps, rounds, refit, ms };
}
