import code from '../../shaders/objective.wgsl?raw';
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { flatGrid } from './grid';

/** Partial sums are laid out as `slots` runs of m floats; see shaders/objective.wgsl. */
export interface RowShape {
  m: number;
  n: number;
}

const params = (s: RowShape, slot: number, slots: number, lambda = 0) => [
  { u32: s.m }, { u32: s.n }, { u32: slot }, { u32: slots },
  { f32: lambda }, { u32: 0 }, { u32: 0 }, { u32: 0 },
];

/**
 * partials[slot·m + row] = Σ_j (X−X0)(XG−Y) − λ Σ_j (X−X0)²/d_j², the row's share of the
 * undamped objective when XG = X·Ĝ and Y = X0·Ĝ for a gram damped by λ and scaled by d.
 */
export function objectiveRows(
  gpu: Gpu,
  s: RowShape,
  t: { X: Binding; XG: Binding; X0: Binding; Y: Binding; d: Binding; partials: Binding },
  slot: number,
  lambda: number,
): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'objective_rows' },
    uniforms: params(s, slot, 0, lambda),
    bindings: [t.X, t.XG, t.X0, t.Y, t.d, t.partials],
    workgroups: [Math.ceil(s.m / 64)],
  });
}

/** stats[q] = Σ (or max, for q = maxSlot) of slot q over rows; stats[slots] = counter[0]. */
export function reduceSlots(
  gpu: Gpu,
  m: number,
  slots: number,
  t: { partials: Binding; counter: Binding; stats: Binding },
  maxSlot = -1,
): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'sum_slots' },
    uniforms: params({ m, n: 0 }, maxSlot < 0 ? 0xffffffff : maxSlot, slots),
    bindings: [t.partials, t.counter, t.stats],
    workgroups: [Math.ceil((slots + 1) / 64)],
  });
}

/** Wanda's score |W_ij|·sqrt(G_jj). */
export function wandaScores(gpu: Gpu, s: RowShape, W: Binding, gram: Binding, scores: GpuTensor): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'wanda_scores' },
    uniforms: params(s, 0, 0),
    bindings: [W, gram, scores],
    workgroups: flatGrid(s.m * s.n),
  });
}
