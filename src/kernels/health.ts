import file from '../../shaders/health.wgsl?raw';
import { defineKernel, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

const wgsl = wgslSections(file);
const rw = { type: 'f32', access: 'read_write' } as const;

const powerIterationKernel = defineKernel({
  name: 'power_iteration',
  uniforms: { n: 'u32', steps: 'u32', slot: 'u32', shift_slot: 'u32' },
  bindings: { A: { type: 'f32' }, x: rw, y: rw, t: { ...rw, when: 'inverse' }, stats: rw },
  workgroupSize: [256],
  source: (f: { inverse: boolean; shifted: boolean }) =>
    wgsl.section(f.inverse ? 'inverse_product' : f.shifted ? 'shifted_product' : 'direct_product') + wgsl.section('power_iteration'),
});

export interface PowerIteration {
  n: number;
  steps: number;
  /** stats[slot + k] gets step k's Rayleigh quotient. */
  slot: number;
  /** Iterate with UᵀU for the upper factor U in A (inverse iteration), instead of A itself. */
  inverse: boolean;
  /** Iterate with σI − A, σ = stats[shiftSlot] (shifted power iteration; not with `inverse`). */
  shiftSlot?: number;
}

/**
 * `steps` steps of power iteration on A (or on UᵀU) from the unit vector in x, each step's
 * Rayleigh quotient into stats; see shaders/health.wgsl. One dispatch, one workgroup, no readback.
 */
export function powerIteration(gpu: Gpu, b: { A: Binding; x: Binding; y: Binding; t: Binding; stats: Binding }, o: PowerIteration): void {
  const bindings = o.inverse ? b : { A: b.A, x: b.x, y: b.y, stats: b.stats };
  const shifted = !o.inverse && o.shiftSlot !== undefined;
  powerIterationKernel.run(gpu, {
    flags: { inverse: o.inverse, shifted },
    uniforms: { n: o.n, steps: o.steps, slot: o.slot, shift_slot: o.shiftSlot ?? 0 },
    bindings,
    workgroups: [1],
  });
}
