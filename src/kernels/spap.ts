import code from '../../shaders/spap.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';
import { flatGrid, grid2d } from './grid';

const params = (m: number, n: number, k = 0, rho = 0) => [{ u32: m }, { u32: n }, { u32: k }, { u32: 0 }, { f32: rho }, { u32: 0 }, { u32: 0 }, { u32: 0 }];

/** A = Ĥ + ρ·diag(selected) for the SPAP ridge step. */
export function penalisedGram(gpu: Gpu, n: number, gramHat: Binding, selected: Binding, A: Binding, rho: number): void {
  gpu.dispatch({ pipeline: { code, entryPoint: 'penalised_gram' }, uniforms: params(0, n, 0, rho), bindings: [gramHat, selected, A], workgroups: grid2d(n, n) });
}

/** energy[j] = Σ_r B[r, j]². */
export function columnEnergy(gpu: Gpu, m: number, n: number, B: Binding, energy: Binding): void {
  gpu.dispatch({ pipeline: { code, entryPoint: 'column_energy' }, uniforms: params(m, n), bindings: [B, energy], workgroups: [Math.ceil(n / 64)] });
}

/** out = B with the selected columns zeroed. */
export function zeroColumns(gpu: Gpu, m: number, n: number, B: Binding, selected: Binding, out: Binding): void {
  gpu.dispatch({ pipeline: { code, entryPoint: 'zero_columns' }, uniforms: params(m, n), bindings: [B, selected, out], workgroups: flatGrid(m * n) });
}

/** out [m, k] = src[:, kept]. */
export function gatherColumns(gpu: Gpu, m: number, n: number, src: Binding, kept: Binding, k: number, out: Binding): void {
  gpu.dispatch({ pipeline: { code, entryPoint: 'gather_columns' }, uniforms: params(m, n, k), bindings: [src, kept, out], workgroups: grid2d(m, k) });
}

/** out [k, k] = src[kept, kept]. */
export function gatherSquare(gpu: Gpu, n: number, src: Binding, kept: Binding, k: number, out: Binding): void {
  gpu.dispatch({ pipeline: { code, entryPoint: 'gather_square' }, uniforms: params(0, n, k), bindings: [src, kept, out], workgroups: grid2d(k, k) });
}
