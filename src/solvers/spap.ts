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
import type { Gpu } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
import { assertPositiveDefinite, inverseCholeskyUpper } from '../kernels/cholesky';
import { matmul } from '../kernels/matmul';
import { gatherColumns, gatherSquare } from '../kernels/spap';
import { DEFAULT_SPAP, isChannelSelection, type ChannelSelection } from '../shared/methods';
import type { LayerProblem } from '../shared/problem';
import type { SpapStep } from '../shared/telemetry';
import type { ChannelPruneOptions } from './channelSelection';
import { relativeError, validateProblem } from './layer';
import { SELECTION_REGISTRY } from './registry';
import { scaleProblem } from './scaled';

export { bottomChannels, type ChannelPruneOptions } from './channelSelection';
export { groupCosts } from './groupCost';

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

export class ChannelCountError extends Error {
  override name = 'ChannelCountError';
}

/**
 * Kept MLP widths are multiples of this where the dense width is one. The GPU products load 4 floats
 * at a time along a row only when the row length is a multiple of 4: a ragged width such as 922 (30 %
 * of SmolLM's 1536) falls back to scalar code, and that smaller model ran at 0.94× the dense one's
 * tokens/s on SwiftShader. 8 also suits real GPUs' tiles; it moves a count by at most 4 channels.
 */
export const CHANNEL_ALIGN = 8;

/**
 * `ch` of n channels moved to the nearest count that keeps a multiple of CHANNEL_ALIGN (when n is
 * one), but never to none when some were asked for, nor to all of them.
 */
export function alignedRemoval(n: number, ch: number): number {
  if (n % CHANNEL_ALIGN !== 0 || ch === 0) return ch;
  const aligned = n - CHANNEL_ALIGN * Math.round((n - ch) / CHANNEL_ALIGN);
  return Math.min(Math.max(aligned, CHANNEL_ALIGN), n - CHANNEL_ALIGN);
}

/** How many of n channels a fraction removes (aligned, alignedRemoval); refuses removing none... or all. */
export function channelsToRemove(n: number, fraction: number): number {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction >= 1) {
    throw new ChannelCountError(`The fraction of MLP channels to remove must be in [0, 1), got ${fraction}.`);
  }
  return alignedRemoval(n, Math.round(fraction * n));
}

/**
 * Chooses `remove` channels (columns of down_proj) of a layer problem whose gram is that of
 * down_proj's inputs, by the selection's registry entry, and refits the kept columns.
 */
export async function pruneChannels(
  gpu: Gpu,
  problem: LayerProblem,
  remove: number,
  selection: ChannelSelection,
  options: ChannelPruneOptions = {},
): Promise<ChannelPruneResult> {
  validateProblem(problem);
  if (!isChannelSelection(selection)) throw new Error(`Unknown channel selection "${selection as string}".`);
  const o = { ...DEFAULT_SPAP, ...options.spap };
  const { m, n } = problem;
  const size = options.groupSize ?? 1;
  if (!Number.isInteger(size) || size < 1 || n % size !== 0) throw new ChannelCountError(`Groups of ${size} columns do not tile the ${n} inputs.`);
  const units = n / size;
  if (!Number.isInteger(remove) || remove < 0 || remove >= units) {
    throw new ChannelCountError(`Cannot remove ${remove} of ${units} ${size > 1 ? 'key/value groups' : 'channels'}: keep at least one.`);
  }
  const started = performance.now();
  return withScope(gpu, async (scope) => {
    const sp = await scaleProblem(scope, problem, o.damping);
    const { G, W0, Ghat, d, Y } = sp;
    const { removed, steps } = await SELECTION_REGISTRY[selection].select({ gpu, problem, sp, remove, spap: o, options });

    // Exact refit of down_proj on the kept channels.
    const keptIdx: number[] = [];
    for (let j = 0; j < n; j++) if (!removed[j]) keptIdx.push(j);
    const k = keptIdx.length;
    const flag = scope.zeros([1], 'u32');
    const kept = scope.upload(Uint32Array.from(keptIdx), [k]);
    const Hk = scope.tensor([k, k]);
    const Yk = scope.tensor([m, k]);
    const Uk = scope.tensor([k, k]);
    const Tk = scope.tensor([m, k]);
    const Bk = scope.tensor([m, k]);
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
    const Wfull = scope.upload(full, [m, n]);
    const relError = await relativeError(gpu, m, n, Wfull, W0, G);
    const removedIdx: number[] = [];
    for (let j = 0; j < n; j++) if (removed[j]) removedIdx.push(j);
    return { selection, kept: keptIdx, removed: removedIdx, weight, relError, steps, ms: performance.now() - started };
  });
}
