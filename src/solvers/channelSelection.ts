/**
 * The three ways a structured run chooses which MLP channels (columns of down_proj) to remove: SPAP's
 * penalty path and its two norm baselines. Each returns the removed set as a 0/1 vector; the refit
 * that follows is the same for all three (spap.ts), so comparisons isolate the selection. With
 * `groupSize` > 1 the units are groups of consecutive columns (attention's key/value groups in
 * o_proj): the baselines sum their columns' scores and the penalty path uses the group OBS cost
 * (groupCost.ts); the returned vector is still over columns.
 */
import { checkpoint, type RunControl } from '../shared/control';
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
import { assertPositiveDefinite, inverseCholeskyUpper } from '../kernels/cholesky';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import { columnEnergy, penalisedGram, zeroColumns } from '../kernels/spap';
import type { SpapOptions } from '../shared/methods';
import type { LayerProblem } from '../shared/problem';
import type { SpapStep } from '../shared/telemetry';
import { expandGroups, groupCosts, groupSums } from './groupCost';
import { relativeTo, scaleProblem, type ScaledProblem } from './scaled';

export interface ChannelPruneOptions {
  spap?: Partial<SpapOptions>;
  onStep?: (step: SpapStep) => void;
  control?: RunControl;
  /** Columns per unit removed together (default 1: single channels); `remove` then counts units. */
  groupSize?: number;
}

/** What a selection sees: the layer, its scaled problem, and how many channels (or groups) go. */
export interface ChannelChoice {
  gpu: Gpu;
  problem: LayerProblem;
  sp: ScaledProblem;
  remove: number;
  spap: SpapOptions;
  options: ChannelPruneOptions;
}

/** The removed channels as a 0/1 vector over n, with the penalty steps that chose them (none for the baselines). */
export type SelectChannels = (choice: ChannelChoice) => Promise<{ removed: Float32Array; steps: SpapStep[] }>;

/** Indices of the `count` smallest costs (ties to the lower index), as a 0/1 vector. */
export function bottomChannels(cost: ArrayLike<number>, count: number): Float32Array {
  const order = Array.from({ length: cost.length }, (_, i) => i).sort((a, b) => cost[a] - cost[b] || a - b);
  const s = new Float32Array(cost.length);
  for (let i = 0; i < count; i++) s[order[i]] = 1;
  return s;
}

/** Baselines: rank channels by ‖W_{:,i}‖² (weight norm), times H_ii when activation-weighted (Wanda-style). */
function byNorm(activationWeighted: boolean): SelectChannels {
  return async ({ problem, remove, options }) => {
    const { m, n } = problem;
    const size = options.groupSize ?? 1;
    const cost = new Float64Array(n);
    for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) cost[j] += problem.weight[r * n + j] ** 2;
    if (activationWeighted) for (let j = 0; j < n; j++) cost[j] *= problem.gram[j * n + j];
    return { removed: expandGroups(bottomChannels(groupSums(cost, size), remove), size), steps: [] };
  };
}

export const byWeightNorm = byNorm(false);
export const byActivationNorm = byNorm(true);

/** SPAP's penalty path with alternating minimisation (the design at the top of spap.ts). */
export function byPenaltyPath({ gpu, problem, sp, remove, spap: o, options }: ChannelChoice): ReturnType<SelectChannels> {
  return withScope(gpu, async (scope) => {
    const { m, n } = problem;
    const { Ghat, d, B0, Y, lambda } = sp;
    const flag = scope.zeros([1], 'u32');
    const energy = scope.tensor([n]);
    const selected = scope.tensor([n]);
    const A = scope.tensor([n, n]);
    const U = scope.tensor([n, n]);
    const T = scope.tensor([m, n]);
    const B = scope.tensor([m, n]);
    const Bz = scope.tensor([m, n]);
    const BzG = scope.tensor([m, n]);
    const partials = scope.tensor([m]);
    const counter = scope.zeros([1], 'u32');
    const stats = scope.tensor([2]);
    const inverseDiagonal = scope.tensor([n]);
    const steps: SpapStep[] = [];
    const size = options.groupSize ?? 1;
    // cost_i = ‖B_{:,i}‖² / [A⁻¹]_ii for the current B and A = Ĥ + ρ·diag(s); over groups of
    // columns, the group OBS cost (groupCost.ts). `e` is each unit's energy ‖B_S‖².
    const costs = async (Bcur: GpuTensor): Promise<{ e: ArrayLike<number>; cost: ArrayLike<number> }> => {
      inverseCholeskyUpper(gpu, A, U, { n, flag });
      columnEnergy(gpu, m, n, Bcur, energy);
      if (size > 1) {
        const e = groupSums(await gpu.read(energy), size);
        return { e, cost: groupCosts(await gpu.read(Bcur), await gpu.read(U), m, n, size) };
      }
      columnEnergy(gpu, n, n, U, inverseDiagonal);
      const [e, h] = [await gpu.read(energy), await gpu.read(inverseDiagonal)];
      return { e, cost: e.map((v, j) => v / Math.max(h[j], 1e-30)) };
    };
    gpu.write(selected, new Float32Array(n));
    penalisedGram(gpu, n, Ghat, selected, A, 0);
    let s = bottomChannels((await costs(B0)).cost, remove);
    const units = s.length;
    let rho = o.rho0;
    let stable = 0;
    for (let step = 1; step <= o.maxSteps; step++) {
      await checkpoint(options.control);
      gpu.write(selected, expandGroups(s, size));
      penalisedGram(gpu, n, Ghat, selected, A, rho);
      inverseCholeskyUpper(gpu, A, U, { n, flag });
      matmul(gpu, Y, U, T, { M: m, N: n, K: n, transB: true });
      matmul(gpu, T, U, B, { M: m, N: n, K: n });
      // The factorisation destroyed A: rebuild it for the cost's inverse diagonal.
      penalisedGram(gpu, n, Ghat, selected, A, rho);
      const { e, cost } = await costs(B);
      const next = bottomChannels(cost, remove);
      let changed = 0;
      let removedMass = 0;
      let total = 0;
      for (let j = 0; j < units; j++) {
        if (next[j] !== s[j]) changed++;
        total += e[j];
        if (next[j]) removedMass += e[j];
      }
      gpu.write(selected, expandGroups(next, size));
      zeroColumns(gpu, m, n, B, selected, Bz);
      matmul(gpu, Bz, Ghat, BzG, { M: m, N: n, K: n });
      objectiveRows(gpu, { m, n }, { X: Bz, XG: BzG, X0: B0, Y, d, partials }, 0, lambda);
      reduceSlots(gpu, m, 1, { partials, counter, stats });
      const [f] = await gpu.read(stats, 1);
      const entry: SpapStep = {
        step,
        rho,
        relError: relativeTo(sp, f),
        changed,
        penaltyMass: total > 0 ? removedMass / total : 0,
      };
      steps.push(entry);
      options.onStep?.(entry);
      s = next;
      stable = changed === 0 ? stable + 1 : 0;
      if (stable >= o.stableSteps && entry.penaltyMass < o.massTolerance) break;
      rho *= o.growth;
    }
    await assertPositiveDefinite(gpu, flag);
    return { removed: expandGroups(s, size), steps };
  });
}

/**
 * The OBS cost of removing each unit (a channel, or a group of `groupSize` columns) alone from the
 * dense layer, with the others compensating: the penalty path's first costs (ρ = 0), on their own
 * for checks against float64 (test/spap.test.ts).
 */
export function removalCosts(gpu: Gpu, problem: LayerProblem, groupSize: number, damping: number): Promise<Float64Array> {
  return withScope(gpu, async (scope) => {
    const { m, n } = problem;
    const sp = await scaleProblem(scope, problem, damping);
    const A = scope.tensor([n, n]);
    const U = scope.tensor([n, n]);
    const flag = scope.zeros([1], 'u32');
    penalisedGram(gpu, n, sp.Ghat, scope.zeros([n]), A, 0);
    inverseCholeskyUpper(gpu, A, U, { n, flag });
    const cost = groupCosts(await gpu.read(sp.B0), await gpu.read(U), m, n, groupSize);
    await assertPositiveDefinite(gpu, flag);
    return cost;
  });
}
