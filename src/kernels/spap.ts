import file from '../../shaders/spap.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

const wgsl = wgslSections(file);
const TILE = 8;


const penalisedGramKernel = defineKernel({
  name: 'penalised_gram',
  uniforms: { n: 'u32', rho: 'f32' },
  bindings: { gramHat: { type: 'f32' }, selected: { type: 'f32' }, A: { type: 'f32', access: 'read_write' } },
  workgroupSize: [TILE, TILE],
  source: () => wgsl.section('penalised_gram'),
});

const columnEnergyKernel = defineKernel({
  name: 'column_energy',
  uniforms: { m: 'u32', n: 'u32' },
  bindings: { B: { type: 'f32' }, energy: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('column_energy'),
});

const zeroColumnsKernel = defineKernel({
  name: 'zero_columns',
  uniforms: { m: 'u32', n: 'u32' },
  bindings: { B: { type: 'f32' }, selected: { type: 'f32' }, out: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('zero_columns'),
});

const gatherKernel = defineKernel({
  name: 'gather',
  uniforms: { rows: 'u32', n: 'u32', k: 'u32' },
  bindings: { src: { type: 'f32' }, kept: { type: 'u32' }, gathered: { type: 'f32', access: 'read_write' } },
  workgroupSize: [TILE, TILE],
  source: (f: { square: boolean }) => wgslConsts({ SQUARE: f.square }) + wgsl.section('gather'),
});

/** A = Ĥ + ρ·diag(selected) for the SPAP ridge step. */
export function penalisedGram(gpu: Gpu, n: number, gramHat: Binding, selected: Binding, A: Binding, rho: number): void {
  penalisedGramKernel.run(gpu, { uniforms: { n, rho }, bindings: { gramHat, selected, A }, extent: [n, n] });
}

/** energy[j] = Σ_r B[r, j]². */
export function columnEnergy(gpu: Gpu, m: number, n: number, B: Binding, energy: Binding): void {
  columnEnergyKernel.run(gpu, { uniforms: { m, n }, bindings: { B, energy }, threads: n });
}

/** out = B with the selected columns zeroed. */
export function zeroColumns(gpu: Gpu, m: number, n: number, B: Binding, selected: Binding, out: Binding): void {
  zeroColumnsKernel.run(gpu, { uniforms: { m, n }, bindings: { B, selected, out }, threads: m * n });
}

/** out [m, k] = src[:, kept]. */
export function gatherColumns(gpu: Gpu, m: number, n: number, src: Binding, kept: Binding, k: number, out: Binding): void {
  gatherKernel.run(gpu, { flags: { square: false }, uniforms: { rows: m, n, k }, bindings: { src, kept, gathered: out }, extent: [k, m] });
}

/** out [k, k] = src[kept, kept]. */
export function gatherSquare(gpu: Gpu, n: number, src: Binding, kept: Binding, k: number, out: Binding): void {
  gatherKernel.run(gpu, { flags: { square: true }, uniforms: { rows: k, n, k }, bindings: { src, kept, gathered: out }, extent: [k, k] });
}
