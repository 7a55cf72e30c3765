/**
 * SPAP (Hu & Yuan, arXiv 2505.03373): choose which MLP intermediate channels to remove by a penalty
 * method with alternating minimisation, then refit down_proj exactly on the kept channels.
 *
 * No public code is known; our design, in the diagonally scaled problem of ALPS (B = W∘d,
 * d = sqrt(diag H + λ), Ĥ = D⁻¹(H + λI)D⁻¹, Y = B0·Ĥ), so that a channel's cost is activation-aware:
 *  - relaxed problem: min_B ½ tr((B−B0) Ĥ (B−B0)ᵀ) + (ρ/2) Σ_i s_i ‖B_{:,i}‖², with s ∈ {0,1}ⁿ, 1ᵀs = λ;
 *  - W-step (s fixed): B = Y (Ĥ + ρ·diag(s))⁻¹, one SPD n×n system shared by all m rows, factorised on
 *    the GPU (the SparseGPT factorisation kernel) and applied with two products;
 *  - s-step (B fixed): the selection is a bottom-λ choice over a separable per-channel cost. The
 *    spec's plain energy ‖B_{:,i}‖² only reinforces the current choice (penalised columns shrink, so
 *    they stay chosen); we use the cost of removing channel i with the others compensating under the
 *    current penalised system, c_i = ‖B_{:,i}‖² / [(Ĥ + ρ·diag(s))⁻¹]_ii (Optimal Brain Surgeon's
 *    group criterion; the diagonal of the inverse is the column energy of U, where UᵀU is the
 *    inverse we already factorised). At ρ → 0 this is OBS on the dense layer; as ρ grows the kept
 *    channels take over the chosen ones' work and the costs of the alternatives are re-weighed;
 *  - schedule: ρ starts small (ρ₀ = 1e-3 against Ĥ's unit diagonal, where B ≈ B0) and grows geometrically (×1.5), so the
 *    kept channels progressively absorb the removed ones' work and the choice can still change while
 *    the penalty is soft. We stop when the choice has not changed for `stableSteps` steps and the
 *    removed channels carry < `massTolerance` of the energy (the relaxation is then integral in
 *    effect), or after `maxSteps`;
 *  - finish: remove the chosen channels and solve down_proj's least squares on the kept ones exactly
 *    (B_K = Y_K Ĥ_KK⁻¹, then W_K = B_K ./ d_K).
 * The baselines rank channels by ‖W_{:,i}‖ (weight norm) or ‖W_{:,i}‖·sqrt(H_ii) (activation-weighted,
 * Wanda-style) and use the same refit, so comparisons isolate the selection.
 */
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { assertPositiveDefinite, inverseCholeskyUpper } from '../kernels/cholesky';
import { matmul } from '../kernels/matmul';
import { objectiveRows, reduceSlots } from '../kernels/objective';
import { columnEnergy, gatherColumns, gatherSquare, penalisedGram, zeroColumns } from '../kernels/spap';
import { relativeError, throwIfAborted, validateProblem } from './layer';
import { relativeTo, scaleProblem } from './scaled';
import type { LayerProblem } from './types';

export type ChannelSelection = 'spap' | 'weight-norm' | 'activation-norm';
export const CHANNEL_SELECTIONS: readonly ChannelSelection[] = ['spap', 'weight-norm', 'activation-norm'];

export interface SpapOptions {
  rho0: number;
  growth: number;
  maxSteps: number;
  stableSteps: number;
  massTolerance: number;
  damping: number;
}

export const DEFAULT_SPAP: SpapOptions = { rho0: 1e-3, growth: 1.5, maxSteps: 60, stableSteps: 3, massTolerance: 1e-3, damping: 0.01 };

/** One penalty step, as the studio charts it. */
export interface SpapStep {
  step: number;
  rho: number;
  /** Relative error of the relaxed solution with the chosen channels zeroed (before the refit). */
  relError: number;
  /** Channels whose removed/kept status changed in this step. */
  changed: number;
  /** Share of ‖B‖² still on the removed channels. */
  penaltyMass: number;
}

export interface ChannelPruneResult {
  selection: ChannelSelection;
  /** Kept channel indices, ascending. */
  kept: number[];
  removed: number[];
  /** Refit down_proj restricted to the kept channels, [m, kept.length]. */
  weight: Float32Array;
  /** f(W)/tr(W0 H W0ᵀ) after the refit (removed columns zero). */
  relError: number;
  steps: SpapStep[];
  ms: number;
}

export interface ChannelPruneOptions {
  spap?: Partial<SpapOptions>;
  onStep?: (step: SpapStep) => void;
  signal?: AbortSignal;
  gate?: () => Promise<void>;
}

/** Indices of the `count` smallest costs (ties to the lower index), as a 0/1 vector. */
export function bottomChannels(cost: ArrayLike<number>, count: number): Float32Array {
  const order = Array.from({ length: cost.length }, (_, i) => i).sort((a, b) => cost[a] - cost[b] || a - b);
  const s = new Float32Array(cost.length);
  for (let i = 0; i < count; i++) s[order[i]] = 1;
  return s;
}

export class ChannelCountError extends Error {
  override name = 'ChannelCountError';
}

/** How many of n channels a fraction removes; refuses removing none... or all. */
export function channelsToRemove(n: number, fraction: number): number {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) {
    throw new ChannelCountError(`The fraction of MLP channels to remove must be in [0, 1), got ${fraction}.`);
  }
  return Math.round(fraction * n);
}

/**
 * Chooses `remove` channels (columns of down_proj) of a layer problem whose gram is that of
 * down_proj's inputs, and refits the kept columns.
 */
export async function pruneChannels(
  gpu: Gpu,
  problem: LayerProblem,
  remove: number,
  selection: ChannelSelection,
  options: ChannelPruneOptions = {},
): Promise<ChannelPruneResult> {
  validateProblem(problem);
  const o = { ...DEFAULT_SPAP, ...options.spap };
  const { m, n } = problem;
  if (!Number.isInteger(remove) || remove < 0 || remove >= n) {
    throw new ChannelCountError(`Cannot remove ${remove} of ${n} channels: keep at least one.`);
  }
  const started = performance.now();
  const owned: GpuTensor[] = [];
  const keep = <T extends GpuTensor>(t: T) => (owned.push(t), t);
  try {
    const sp = await scaleProblem(gpu, problem, o.damping);
    owned.push(sp.G, sp.W0, sp.Ghat, sp.d, sp.B0, sp.Y);
    const { G, W0, Ghat, d, B0, Y, lambda } = sp;
    const flag = keep(gpu.zeros([1], 'u32'));
    const steps: SpapStep[] = [];

    let removed: Float32Array;
    if (selection === 'weight-norm' || selection === 'activation-norm') {
      const cost = new Float64Array(n);
      for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) cost[j] += problem.weight[r * n + j] ** 2;
      if (selection === 'activation-norm') for (let j = 0; j < n; j++) cost[j] *= problem.gram[j * n + j];
      removed = bottomChannels(cost, remove);
    } else {
      removed = await penaltyPath();
    }

    // Exact refit of down_proj on the kept channels.
    const keptIdx: number[] = [];
    for (let j = 0; j < n; j++) if (!removed[j]) keptIdx.push(j);
    const k = keptIdx.length;
    const kept = keep(gpu.upload(Uint32Array.from(keptIdx), [k]));
    const Hk = keep(gpu.tensor([k, k]));
    const Yk = keep(gpu.tensor([m, k]));
    const Uk = keep(gpu.tensor([k, k]));
    const Tk = keep(gpu.tensor([m, k]));
    const Bk = keep(gpu.tensor([m, k]));
    gatherSquare(gpu, n, Ghat, kept, k, Hk);
    gatherColumns(gpu, m, n, Y, kept, k, Yk);
    inverseCholeskyUpper(gpu, Hk, Uk, { n: k, flag });
    matmul(gpu, Yk, Uk, Tk, { M: m, N: k, K: k, transB: true });
    matmul(gpu, Tk, Uk, Bk, { M: m, N: k, K: k });
    await assertPositiveDefinite(gpu, flag);
    const bk = await gpu.read(Bk);
    const dv = await gpu.read(d);
    const weight = new Float32Array(m * k);
    const full = new Float32Array(m * n);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < k; c++) {
        const v = bk[r * k + c] / dv[keptIdx[c]];
        weight[r * k + c] = v;
        full[r * n + keptIdx[c]] = v;
      }
    }
    const Wfull = keep(gpu.upload(full, [m, n]));
    const relError = await relativeError(gpu, m, n, Wfull, W0, G);
    const removedIdx: number[] = [];
    for (let j = 0; j < n; j++) if (removed[j]) removedIdx.push(j);
    return { selection, kept: keptIdx, removed: removedIdx, weight, relError, steps, ms: performance.now() - started };

    async function penaltyPath(): Promise<Float32Array> {
      const energy = keep(gpu.tensor([n]));
      const selected = keep(gpu.tensor([n]));
      const A = keep(gpu.tensor([n, n]));
      const U = keep(gpu.tensor([n, n]));
      const T = keep(gpu.tensor([m, n]));
      const B = keep(gpu.tensor([m, n]));
      const Bz = keep(gpu.tensor([m, n]));
      const BzG = keep(gpu.tensor([m, n]));
      const partials = keep(gpu.tensor([m]));
      const counter = keep(gpu.zeros([1], 'u32'));
      const stats = keep(gpu.tensor([2]));
      const inverseDiagonal = keep(gpu.tensor([n]));
      // cost_i = ‖B_{:,i}‖² / [A⁻¹]_ii for the current B and A = Ĥ + ρ·diag(s).
      const costs = async (Bcur: GpuTensor) => {
        inverseCholeskyUpper(gpu, A, U, { n, flag });
        columnEnergy(gpu, n, n, U, inverseDiagonal);
        columnEnergy(gpu, m, n, Bcur, energy);
        const [e, h] = [await gpu.read(energy), await gpu.read(inverseDiagonal)];
        return { e, cost: e.map((v, j) => v / Math.max(h[j], 1e-30)) };
      };
      gpu.write(selected, new Float32Array(n));
      penalisedGram(gpu, n, Ghat, selected, A, 0);
      let s = bottomChannels((await costs(B0)).cost, remove);
      let rho = o.rho0;
      let stable = 0;
      for (let step = 1; step <= o.maxSteps; step++) {
        await options.gate?.();
        throwIfAborted(options.signal);
        gpu.write(selected, s);
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
        for (let j = 0; j < n; j++) {
          if (next[j] !== s[j]) changed++;
          total += e[j];
          if (next[j]) removedMass += e[j];
        }
        gpu.write(selected, next);
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
      return s;
    }
  } finally {
    for (const t of owned) t.dispose();
  }
}
