import code from '../../shaders/admm.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';
import { flatGrid, grid2d } from './grid';

/** Wrappers of shaders/admm.wgsl; every matrix is row-major [m, n] (outputs × inputs). */
export interface AdmmShape {
  m: number;
  n: number;
}

const params = (s: AdmmShape, rho = 0, damping = 0) => [{ u32: s.m }, { u32: s.n }, { f32: rho }, { f32: damping }];

function run(gpu: Gpu, entryPoint: string, s: AdmmShape, bindings: Binding[], workgroups: [number, number?], rho = 0, damping = 0): void {
  gpu.dispatch({ pipeline: { code, entryPoint }, uniforms: params(s, rho, damping), bindings, workgroups });
}

/** scalars[0] = damping · mean(diag G). */
export function dampingOf(gpu: Gpu, n: number, gram: Binding, scalars: Binding, damping: number): void {
  run(gpu, 'damping', { m: 0, n }, [gram, scalars], [1], 0, damping);
}

/** Ĝ = D⁻¹(G + λI)D⁻¹ and d = sqrt(diag G + λ) + 1e-8, with λ read from scalars[0]. */
export function scaleGram(gpu: Gpu, n: number, gram: Binding, scalars: Binding, gramHat: Binding, d: Binding): void {
  run(gpu, 'scale_gram', { m: 0, n }, [gram, scalars, gramHat, d], grid2d(n, n));
}

/** out = W ∘ d (per column). */
export function scaleWeight(gpu: Gpu, s: AdmmShape, W: Binding, d: Binding, out: Binding): void {
  run(gpu, 'scale_weight', s, [W, d, out], flatGrid(s.m * s.n));
}

/** out = X ./ d (per column). */
export function unscaleWeight(gpu: Gpu, s: AdmmShape, X: Binding, d: Binding, out: Binding): void {
  run(gpu, 'unscale', s, [X, d, out], flatGrid(s.m * s.n));
}

/** Qρ = diag(1/(λ+ρ))·Qᵀ. */
export function rhoFactor(gpu: Gpu, n: number, Q: Binding, eigenvalues: Binding, Qrho: Binding, rho: number): void {
  run(gpu, 'rho_factor', { m: 0, n }, [Q, eigenvalues, Qrho], grid2d(n, n), rho);
}

/** rhs = Y − V + ρD. */
export function admmRhs(gpu: Gpu, s: AdmmShape, Y: Binding, V: Binding, D: Binding, rhs: Binding, rho: number): void {
  run(gpu, 'admm_rhs', s, [Y, V, D, rhs], flatGrid(s.m * s.n), rho);
}

/** Z = B + V/ρ. */
export function admmShift(gpu: Gpu, s: AdmmShape, B: Binding, V: Binding, Z: Binding, rho: number): void {
  run(gpu, 'admm_shift', s, [B, V, Z], flatGrid(s.m * s.n), rho);
}

/** V += ρ(B − D); partials slot 0 = ‖B−D‖² per row, slot 1 = ‖B‖² per row. */
export function admmDual(gpu: Gpu, s: AdmmShape, B: Binding, D: Binding, V: Binding, partials: Binding, rho: number): void {
  run(gpu, 'admm_dual', s, [B, D, V, partials], [Math.ceil(s.m / 64)], rho);
}

/** R = M∘(Y − XG), P = R, state = (r·r, ‖y‖) per row. */
export function pcgInit(gpu: Gpu, s: AdmmShape, t: { mask: Binding; Y: Binding; XG: Binding; R: Binding; P: Binding; state: Binding }): void {
  run(gpu, 'pcg_init', s, [t.mask, t.Y, t.XG, t.R, t.P, t.state], [Math.ceil(s.m / 64)]);
}

/** One masked CG step for every row given AP = P·Ĝ; partials slot 1 = residual ratio per row. */
export function pcgStep(
  gpu: Gpu,
  s: AdmmShape,
  t: { mask: Binding; AP: Binding; X: Binding; XG: Binding; R: Binding; P: Binding; state: Binding; partials: Binding },
): void {
  run(gpu, 'pcg_step', s, [t.mask, t.AP, t.X, t.XG, t.R, t.P, t.state, t.partials], [Math.ceil(s.m / 64)]);
}
