import file from '../../shaders/objective.wgsl?raw';
import { defineKernel, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';

/** Partial sums are laid out as `slots` runs of m floats; see shaders/objective.wgsl. */
export interface RowShape {
  m: number;
  n: number;
}

const wgsl = wgslSections(file);
const input = { type: 'f32' } as const;
const output = { type: 'f32', access: 'read_write' } as const;
/** sum_slots's maxSlot when every slot is a sum: no slot has this index. */
const NO_MAX_SLOT = 0xffffffff;

const objectiveRowsKernel = defineKernel({
  name: 'objective_rows',
  uniforms: { m: 'u32', n: 'u32', slot: 'u32', lambda: 'f32' },
  bindings: { X: input, XG: input, X0: input, Y: input, d: input, partials: output },
  workgroupSize: [64],
  source: () => wgsl.section('objective_rows'),
});

const sumSlotsKernel = defineKernel({
  name: 'sum_slots',
  uniforms: { m: 'u32', slots: 'u32', maxSlot: 'u32' },
  bindings: { partials: input, counter: { type: 'u32' }, stats: output },
  workgroupSize: [64],
  source: () => wgsl.section('sum_slots'),
});

const wandaScoresKernel = defineKernel({
  name: 'wanda_scores',
  uniforms: { m: 'u32', n: 'u32' },
  bindings: { W: input, gram: input, scores: output },
  workgroupSize: [64],
  source: () => wgsl.section('wanda_scores'),
});

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
  objectiveRowsKernel.run(gpu, { uniforms: { m: s.m, n: s.n, slot, lambda }, bindings: { X: t.X, XG: t.XG, X0: t.X0, Y: t.Y, d: t.d, partials: t.partials }, threads: s.m });
}

/** stats[q] = Σ (or max, for q = maxSlot) of slot q over rows; stats[slots] = counter[0]. */
export function reduceSlots(
  gpu: Gpu,
  m: number,
  slots: number,
  t: { partials: Binding; counter: Binding; stats: Binding },
  maxSlot = -1,
): void {
  sumSlotsKernel.run(gpu, {
    uniforms: { m, slots, maxSlot: maxSlot < 0 ? NO_MAX_SLOT : maxSlot },
    bindings: { partials: t.partials, counter: t.counter, stats: t.stats },
    workgroups: [Math.ceil((slots + 1) / 64)],
  });
}

/** Wanda's score |W_ij|·sqrt(G_jj). */
export function wandaScores(gpu: Gpu, s: RowShape, W: Binding, gram: Binding, scores: GpuTensor): void {
  wandaScoresKernel.run(gpu, { uniforms: { m: s.m, n: s.n }, bindings: { W, gram, scores }, threads: s.m * s.n });
}
