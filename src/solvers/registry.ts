/**
 * The method registry: each method's description (src/shared/methods.ts, pure data the UI can load
 * without kernels) bound to the function that solves with it. solveLayer and pruneChannels dispatch
 * through these tables; the types make a Method or ChannelSelection without a solver a compile error.
 */
import type { Gpu } from '../gpu/runtime';
import { METHOD_INFO, SELECTION_INFO, type ChannelSelection, type Method, type MethodInfo } from '../shared/methods';
import type { Pattern } from '../shared/pattern';
import type { LayerProblem } from '../shared/problem';
import { alps } from './alps';
import { byActivationNorm, byPenaltyPath, byWeightNorm, type SelectChannels } from './channelSelection';
import { oneShot } from './layer';
import { magnitude } from './magnitude';
import { sparsegpt } from './sparsegpt';
import type { SolveOptions, SolverOutput } from './types';
import { wanda } from './wanda';

/** Prunes one validated layer problem; the pruned weight stays on the GPU for the caller. */
export type Solve = (gpu: Gpu, problem: LayerProblem, pattern: Pattern, options: SolveOptions) => Promise<SolverOutput>;

export type MethodEntry<K extends Method = Method> = MethodInfo<K> & { solve: Solve };
export type SelectionEntry<K extends ChannelSelection = ChannelSelection> = MethodInfo<K> & { select: SelectChannels };

/** The methods that zero single weights (unstructured or N:M). */
export const METHOD_REGISTRY: { readonly [K in Method]: MethodEntry<K> } = {
  alps: { ...METHOD_INFO.alps, solve: alps },
  sparsegpt: { ...METHOD_INFO.sparsegpt, solve: oneShot(sparsegpt) },
  wanda: { ...METHOD_INFO.wanda, solve: oneShot(wanda) },
  magnitude: { ...METHOD_INFO.magnitude, solve: oneShot(magnitude) },
};

/** The structured entries: how a run chooses the MLP channels it removes (the refit is shared). */
export const SELECTION_REGISTRY: { readonly [K in ChannelSelection]: SelectionEntry<K> } = {
  spap: { ...SELECTION_INFO.spap, select: byPenaltyPath },
  'weight-norm': { ...SELECTION_INFO['weight-norm'], select: byWeightNorm },
  'activation-norm': { ...SELECTION_INFO['activation-norm'], select: byActivationNorm },
};
