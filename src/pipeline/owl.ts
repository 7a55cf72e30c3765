/**
 * The dense pass OWL needs before pruning (docs/algorithms.md, "OWL and per-layer budgets"): the
 * calibration windows run once through the dense model, every block's linear inputs accumulate their
 * grams as the block runs, and the block's outlier ratio comes from its weights and ‖X_j‖² = G_jj.
 * Then each layer's sparsity is planned at the exact overall budget, before the first layer is solved.
 */
import type { Gpu } from '../gpu/runtime';
import { SITES } from '../model/architectures';
import type { OpenedModel } from '../model/loader';
import { BudgetError, granularityOf, outlierRatio, planSparsities, type BudgetLayer, type SparsityProfile } from '../shared/budget';
import type { RunControl } from '../shared/control';
import type { Method } from '../shared/methods';
import type { Pattern } from '../shared/pattern';
import { walkBlocks } from './blocks';
import { layerId } from './outcome';

/** Each block's OWL outlier ratio on the dense model, in block order. */
export async function owlRatios(gpu: Gpu, model: OpenedModel, o: { windows: Uint32Array; seqlen: number; m: number; control?: RunControl }): Promise<number[]> {
  const ratios: number[] = [];
  await walkBlocks(gpu, model, {
    windows: o.windows,
    seqlen: o.seqlen,
    control: o.control,
    passSites: SITES,
    onBlockDone: async ({ runner, block }, grams) => {
      const linears = [];
      for (const spec of block.linears) {
        const gram = grams.get(spec.site);
        if (!gram) throw new Error(`Block ${block.index}: no input was captured for ${spec.name}.`);
        const gramDiag = Float32Array.from({ length: spec.in }, (_, j) => gram[j * spec.in + j]);
        linears.push({ weight: await runner.getLinear(block.index, spec.name), n: spec.in, gramDiag });
      }
      ratios.push(outlierRatio(linears, o.m));
    },
  });
  return ratios;
}

/** The model's linears as the budget sees them. */
export function budgetLayers(model: OpenedModel): BudgetLayer[] {
  return model.arch.blocks.flatMap((b) => b.linears.map((l) => ({ id: layerId(l), block: b.index, m: l.out, n: l.in })));
}

/** Every linear's pattern under the profile (by layer id); the uniform profile gives every layer `pattern`. */
export async function layerPatterns(
  gpu: Gpu,
  model: OpenedModel,
  o: { method: Method; pattern: Pattern; profile?: SparsityProfile; windows: Uint32Array; seqlen: number; control?: RunControl },
): Promise<Map<string, Pattern>> {
  const layers = budgetLayers(model);
  const profile = o.profile ?? { kind: 'uniform' };
  const pattern = o.pattern;
  if (profile.kind === 'uniform') return new Map(layers.map((l) => [l.id, pattern]));
  if (pattern.kind !== 'unstructured') throw new BudgetError(`A ${pattern.n}:${pattern.m} pattern fixes every layer's count; OWL and per-layer budgets need --sparsity (unstructured).`);
  const ratios = profile.kind === 'owl' ? await owlRatios(gpu, model, { ...o, m: profile.m }) : undefined;
  const sparsities = planSparsities(layers, pattern.sparsity, profile, granularityOf(o.method), ratios);
  return new Map(layers.map((l, i) => [l.id, { kind: 'unstructured', sparsity: sparsities[i] }]));
}
