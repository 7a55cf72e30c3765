import file from '../../shaders/admm.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections, type ScalarType, type StorageDecl, type WorkgroupSize } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

/** Wrappers of shaders/admm.wgsl; every matrix is row-major [m, n] (outputs × inputs). */
export interface AdmmShape {
  m: number;
  n: number;
}

const wgsl = wgslSections(file);
const input = { type: 'f32' } as const;
const output = { type: 'f32', access: 'read_write' } as const;
const mask = { type: 'u32' } as const;
/** Workgroup of the n × n kernels, one invocation per entry. */
const SQUARE: [number, number] = [8, 8];
/** Element-wise and per-row kernels. */
const LINE: [number] = [64];


/** A kernel of this family: one section of shaders/admm.wgsl, no variants. */
function admmKernel<U extends Record<string, ScalarType>, B extends Record<string, StorageDecl>>(
  section: string,
  uniforms: U,
  bindings: B,
  workgroupSize: WorkgroupSize = LINE,
) {
  return defineKernel({ name: `admm_${section}`, uniforms, bindings, workgroupSize, source: () => wgsl.section(section) });
}

const shapeAndRho = { m: 'u32', n: 'u32', rho: 'f32' } as const;
const rows = { m: 'u32', n: 'u32' } as const;
const dampingKernel = admmKernel('damping', { n: 'u32', damping: 'f32' }, { gram: input, scalars: output }, [1]);
const scaleGramKernel = admmKernel('scale_gram', { n: 'u32' }, { gram: input, scalars: input, gramHat: output, d: output }, SQUARE);
const rhoFactorKernel = admmKernel('rho_factor', { n: 'u32', rho: 'f32' }, { Q: input, eigenvalues: input, Qrho: output }, SQUARE);
const ridgeKernel = admmKernel('ridge', { n: 'u32', rho: 'f32' }, { gramHat: input, A: output }, SQUARE);
const rhsKernel = admmKernel('rhs', shapeAndRho, { Y: input, V: input, D: input, rhs: output });
const shiftKernel = admmKernel('shift', shapeAndRho, { B: input, V: input, Z: output });
const dualKernel = admmKernel('dual', shapeAndRho, { B: input, D: input, V: output, partials: output });
const pcgInitKernel = admmKernel('pcg_init', rows, { mask, Y: input, XG: input, R: output, P: output, state: output });
const pcgStepKernel = admmKernel('pcg_step', rows, {
  mask, AP: input, X: output, XG: output, R: output, P: output, state: output, partials: output,
});

/** W ∘ d or, with the flag, W ./ d: one generator. */
const scaleColumnsKernel = defineKernel({
  name: 'admm_scale_columns',
  uniforms: rows,
  bindings: { W: input, d: input, out: output },
  workgroupSize: LINE,
  source: (f: { unscale: boolean }) => wgslConsts({ UNSCALE: f.unscale }) + wgsl.section('scale_columns'),
});

/** scalars[0] = damping · mean(diag G). */
export function dampingOf(gpu: Gpu, n: number, gram: Binding, scalars: Binding, damping: number): void {
  dampingKernel.run(gpu, { uniforms: { n, damping }, bindings: { gram, scalars }, workgroups: [1] });
}

/** Ĝ = D⁻¹(G + λI)D⁻¹ and d = sqrt(diag G + λ) + 1e-8, with λ read from scalars[0]. */
export function scaleGram(gpu: Gpu, n: number, gram: Binding, scalars: Binding, gramHat: Binding, d: Binding): void {
  scaleGramKernel.run(gpu, { uniforms: { n }, bindings: { gram, scalars, gramHat, d }, extent: [n, n] });
}

/** out = W ∘ d (per column). */
export function scaleWeight(gpu: Gpu, s: AdmmShape, W: Binding, d: Binding, out: Binding): void {
  scaleColumnsKernel.run(gpu, { flags: { unscale: false }, uniforms: { m: s.m, n: s.n }, bindings: { W, d, out }, threads: s.m * s.n });
}

/** out = X ./ d (per column). */
export function unscaleWeight(gpu: Gpu, s: AdmmShape, X: Binding, d: Binding, out: Binding): void {
  scaleColumnsKernel.run(gpu, { flags: { unscale: true }, uniforms: { m: s.m, n: s.n }, bindings: { W: X, d, out }, threads: s.m * s.n });
}

/** Qρ = diag(1/(λ+ρ))·Qᵀ. */
export function rhoFactor(gpu: Gpu, n: number, Q: Binding, eigenvalues: Binding, Qrho: Binding, rho: number): void {
  rhoFactorKernel.run(gpu, { uniforms: { n, rho }, bindings: { Q, eigenvalues, Qrho }, extent: [n, n] });
}

/** A = Ĝ + ρI (A and Ĝ are distinct n×n buffers). */
export function ridgeShift(gpu: Gpu, n: number, gramHat: Binding, A: Binding, rho: number): void {
  ridgeKernel.run(gpu, { uniforms: { n, rho }, bindings: { gramHat, A }, extent: [n, n] });
}

/** rhs = Y − V + ρD. */
export function admmRhs(gpu: Gpu, s: AdmmShape, Y: Binding, V: Binding, D: Binding, rhs: Binding, rho: number): void {
  rhsKernel.run(gpu, { uniforms: { m: s.m, n: s.n, rho }, bindings: { Y, V, D, rhs }, threads: s.m * s.n });
}

/** Z = B + V/ρ. */
export function admmShift(gpu: Gpu, s: AdmmShape, B: Binding, V: Binding, Z: Binding, rho: number): void {
  shiftKernel.run(gpu, { uniforms: { m: s.m, n: s.n, rho }, bindings: { B, V, Z }, threads: s.m * s.n });
}

/** V += ρ(B − D); partials slot 0 = ‖B−D‖² per row, slot 1 = ‖B‖² per row. */
export function admmDual(gpu: Gpu, s: AdmmShape, B: Binding, D: Binding, V: Binding, partials: Binding, rho: number): void {
  dualKernel.run(gpu, { uniforms: { m: s.m, n: s.n, rho }, bindings: { B, D, V, partials }, threads: s.m });
}

/** R = M∘(Y − XG), P = R, state = (r·r, ‖y‖) per row. */
export function pcgInit(gpu: Gpu, s: AdmmShape, t: { mask: Binding; Y: Binding; XG: Binding; R: Binding; P: Binding; state: Binding }): void {
  const bindings = { mask: t.mask, Y: t.Y, XG: t.XG, R: t.R, P: t.P, state: t.state };
  pcgInitKernel.run(gpu, { uniforms: { m: s.m, n: s.n }, bindings, threads: s.m });
}

/** One masked CG step for every row given AP = P·Ĝ; partials slot 1 = residual ratio per row. */
export function pcgStep(
  gpu: Gpu,
  s: AdmmShape,
  t: { mask: Binding; AP: Binding; X: Binding; XG: Binding; R: Binding; P: Binding; state: Binding; partials: Binding },
): void {
  const bindings = { mask: t.mask, AP: t.AP, X: t.X, XG: t.XG, R: t.R, P: t.P, state: t.state, partials: t.partials };
  pcgStepKernel.run(gpu, { uniforms: { m: s.m, n: s.n }, bindings, threads: s.m });
}
