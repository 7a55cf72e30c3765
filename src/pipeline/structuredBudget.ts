/**
 * One structured budget for the model (docs/algorithms.md, SPAP "one budget"): `sparsity` is the
 * fraction of the blocks' linear parameters to remove, split between MLP channels and attention
 * key/value groups by measured cost.
 *
 * Rule. Every block has the same shapes, so removing h groups and c channels in each block removes
 * R_b(h, c) = h·p_group + c·p_channel of its P_b parameters (weights and biases of q/k/v/o and of the
 * MLP). For each h = 0 … groups − 1 (only 0 without heads; only h without the MLP), c is the channel
 * count that brings the block nearest to s·P_b (keeping a multiple of CHANNEL_ALIGN channels where
 * the width is one). Each candidate split is measured end to end: the
 * whole model is cut with it by the activation-norm selection and the same exact refits (a cheap
 * pass: no penalty path), and its mean next-token NLL on the calibration windows is the split's
 * cost; the cheapest split wins, and the chosen selection (SPAP) then runs with it. Per-sublayer
 * output errors were tried first and misjudged the split: an error in o_proj's output costs the
 * model far more than the same squared error in down_proj's (stories260K at 20 %: they chose 3 of 4
 * key/value groups, perplexity 27 against 12 for the MLP alone), so the rule measures the model's loss.
 */
import type { Gpu } from '../gpu/runtime';
import type { LinearSpec } from '../model/architectures';
import type { OpenedModel } from '../model/loader';
import { ModelRunner } from '../model/forward';
import { perplexityOfTokens } from '../model/perplexity';
import type { SpapOptions } from '../shared/methods';
import { applyStructured, pruneMlpChannels } from './structured';
import { alignedRemoval } from '../solvers/spap';
import { assertHeadsRemovable, groupParameters, groupShape } from './structuredHeads';

export type Structure = 'mlp' | 'heads';

export interface StructuredPlan {
  /** Fractions for pruneMlpChannels: MLP channels and key/value groups removed per block. */
  fraction: number;
  heads: number;
  channelsRemoved: number;
  groupsRemoved: number;
  /** Parameters per block removed by the plan, and the target s·P_b. */
  blockRemoved: number;
  blockTarget: number;
  /** Mean calibration NLL of the model cut by each h tried (NaN where the budget could not be met). */
  damage: number[];
}


/** Parameters of one linear (weight and bias). */
const size = (l: LinearSpec) => l.out * l.in + (l.bias ? l.out : 0);

/** Parameters one MLP channel holds in a block: a row of each input projection (both halves of a fused gate|up), a column of down. */
function channelParameters(linears: readonly LinearSpec[]): number {
  let total = 0;
  for (const l of linears) {
    if (l.site === 'mlp_in') total += (l.parts?.length ?? 1) * (l.in + (l.bias ? 1 : 0));
    else if (l.site === 'mlp_mid') total += l.out;
  }
  return total;
}

export async function planStructures(
  gpu: Gpu,
  model: OpenedModel,
  o: { sparsity: number; structures: readonly Structure[]; windows: Uint32Array; seqlen: number; spap?: Partial<SpapOptions> },
): Promise<StructuredPlan> {
  const c = model.arch.config;
  const useMlp = o.structures.includes('mlp');
  const useHeads = o.structures.includes('heads');
  if (!useMlp && !useHeads) throw new Error('Choose at least one structure: mlp, heads.');
  if (!Number.isFinite(o.sparsity) || o.sparsity <= 0 || o.sparsity >= 1) throw new Error(`The fraction of block parameters to remove must be in (0, 1), got ${o.sparsity}.`);
  if (useHeads) assertHeadsRemovable(c);
  const linears = model.arch.blocks[0].linears;
  const P = linears.reduce((a, l) => a + size(l), 0);
  const pc = channelParameters(linears);
  const pg = groupParameters(linears, c);
  const G = groupShape(c);
  const n = c.intermediate;
  const target = o.sparsity * P;
  const hs = useHeads ? Array.from({ length: G.groups }, (_, h) => h) : [0];
  // A count of all n (or more) stays as it is: that split is infeasible, not rounded into range.
  const channelsFor = (h: number) => {
    const ch = useMlp ? Math.round(Math.max(0, target - h * pg) / pc) : 0;
    return ch >= n ? ch : alignedRemoval(n, ch);
  };
  const feasible = hs.filter((h) => channelsFor(h) < n && (useMlp || h > 0));
  if (!feasible.length) throw new Error(`Removing ${(o.sparsity * 100).toFixed(0)} % of the block parameters with ${o.structures.join(',')} would leave a block without ${useMlp ? 'MLP channels' : 'attention heads'}; lower the fraction.`);
  if (!useMlp) {
    // Heads alone: the group count nearest to the target.
    const h = feasible.reduce((best, x) => (Math.abs(x * pg - target) < Math.abs(best * pg - target) ? x : best));
    return { fraction: 0, heads: h / G.groups, channelsRemoved: 0, groupsRemoved: h, blockRemoved: h * pg, blockTarget: target, damage: [] };
  }
  const damage = hs.map(() => NaN);
  if (useHeads && feasible.length > 1) {
    for (const h of feasible) {
      const cut = await pruneMlpChannels(gpu, model, { selection: 'activation-norm', fraction: channelsFor(h) / n, heads: h / G.groups, windows: o.windows, seqlen: o.seqlen, spap: o.spap });
      const runner = new ModelRunner(gpu, model.arch, model.weights);
      try {
        applyStructured(runner, model, cut);
        damage[h] = (await perplexityOfTokens(runner, o.windows, { seqlen: o.seqlen })).nll;
      } finally {
        runner.dispose();
      }
    }
  }
  let best = feasible[0];
  for (const h of feasible) if (damage[h] < damage[best]) best = h;
  const ch = channelsFor(best);
  return {
    fraction: ch / n,
    heads: best / G.groups,
    channelsRemoved: ch,
    groupsRemoved: best,
    blockRemoved: best * pg + ch * pc,
    blockTarget: target,
    damage,
  };
}
