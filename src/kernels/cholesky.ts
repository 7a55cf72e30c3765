import file from '../../shaders/cholesky.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { GpuScope } from '../gpu/scope';
import { matmul } from './matmul';

/** What a person reads when a layer's gram cannot be factored. */
export const NOT_POSITIVE_DEFINITE_MESSAGE =
  'The gram of this layer is not positive definite even after damping: check the calibration data for NaN/constant inputs.';

export class NotPositiveDefiniteError extends Error {
  override name = 'NotPositiveDefiniteError';
  constructor(message = NOT_POSITIVE_DEFINITE_MESSAGE) {
    super(message);
  }
}

/**
 * Default pivot tolerance, relative to the pivot's own diagonal entry: f32's machine epsilon. A
 * Schur complement below it is rounding noise, not information. A gram damped by
 * 0.01·mean(diag) always passes for n < ~80,000: every pivot is ≥ the damping ≥ 0.01·G_kk/n.
 */
export const DEFAULT_PIVOT_TOLERANCE = 2 ** -23;

export interface InverseCholeskyOptions {
  n: number;
  /** u32 buffer; element 0 is set to 1 when a pivot fails (never cleared here). */
  flag: Binding;
  tolerance?: number;
  /** Pivots per panel (1…64); default 64. */
  panel?: number;
}

/** Panels wider than this would not fit panel_cols' register array (MAX_PANEL in the shader, written from here). */
export const MAX_PANEL = 64;

const wgsl = wgslSections(file);
const rw = { type: 'f32', access: 'read_write' } as const;
const panel = { n: 'u32', k0: 'u32', k1: 'u32' } as const;

const initKernel = defineKernel({
  name: 'cholesky_init',
  uniforms: { n: 'u32' },
  bindings: { A: { type: 'f32' }, B: rw, diag0: rw },
  workgroupSize: [64],
  source: () => wgsl.section('init'),
});

const panelDiagKernel = defineKernel({
  name: 'cholesky_panel_diag',
  uniforms: panel,
  bindings: { A: rw },
  workgroupSize: [1],
  source: () => wgsl.section('panel_diag'),
});

const panelColsKernel = defineKernel({
  name: 'cholesky_panel_cols',
  uniforms: panel,
  bindings: { A: rw, B: rw },
  workgroupSize: [64],
  source: () => wgslConsts({ MAX_PANEL }) + wgsl.section('panel_cols'),
});

const panelScaleKernel = defineKernel({
  name: 'cholesky_panel_scale',
  uniforms: panel,
  bindings: { A: { type: 'f32' }, P: rw, R: rw },
  workgroupSize: [64],
  source: () => wgsl.section('panel_scale'),
});

const finishKernel = defineKernel({
  name: 'cholesky_finish',
  uniforms: { n: 'u32', tol: 'f32' },
  bindings: { A: { type: 'f32' }, B: rw, diag0: { type: 'f32' }, flag: { type: 'u32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('finish'),
});

const dampKernel = defineKernel({
  name: 'cholesky_damp',
  uniforms: { n: 'u32', fraction: 'f32' },
  bindings: { A: rw },
  workgroupSize: [64],
  source: () => wgsl.section('damp'),
});

/**
 * U (n×n, upper, row-major) with UᵀU = A⁻¹: the upper Cholesky factor of A's inverse, which
 * SparseGPT uses instead of A⁻¹ itself. A must be SPD (only its lower triangle is read); its
 * contents are destroyed. About 6 dispatches per panel of pivots, no readback; see
 * shaders/cholesky.wgsl for the method and why it was chosen.
 */
export function inverseCholeskyUpper(gpu: Gpu, A: Binding, U: Binding, o: InverseCholeskyOptions): void {
  const { n } = o;
  if (n === 0) return;
  const tol = o.tolerance ?? DEFAULT_PIVOT_TOLERANCE;
  const r = o.panel ?? 64;
  if (!Number.isInteger(r) || r < 1 || r > MAX_PANEL) throw new RangeError(`inverseCholeskyUpper: panel must be 1…${MAX_PANEL}, got ${r}.`);
  // Disposing the scratch at the end is safe: later users of these buffers are recorded after the sweep.
  const scope = new GpuScope(gpu);
  try {
    const diag0 = scope.tensor([n]);
    const width = Math.min(r, n);
    const P = scope.tensor([width, n]);
    const R = scope.tensor([width, n]);
    const RB = scope.tensor([width, n]);
    initKernel.run(gpu, { uniforms: { n }, bindings: { A, B: U, diag0 }, threads: n });
    for (let k1 = n; k1 > 0; k1 -= r) {
      const k0 = Math.max(0, k1 - r);
      const rows = k1 - k0;
      panelDiagKernel.run(gpu, { uniforms: { n, k0, k1 }, bindings: { A }, workgroups: [1] });
      panelColsKernel.run(gpu, { uniforms: { n, k0, k1 }, bindings: { A, B: U }, threads: n });
      if (k0 === 0) break;
      // Rows i < k0: A[:k0, :k0] −= Pᵀ·R (only its lower triangle is ever read)
      // and U[:k0, k0:] −= Pᵀ·U[K, k0:], with P the panel's rows of A scaled by their pivots.
      panelScaleKernel.run(gpu, { uniforms: { n, k0, k1 }, bindings: { A, P, R }, threads: rows * k0 });
      gpu.copy(U, RB, rows * n * 4, k0 * n * 4, 0);
      // The lower triangle in row stripes, each up to its last row's diagonal: ~5/8 of the square.
      const stripes = k0 >= 128 ? 4 : 1;
      for (let s = 0; s < stripes; s++) {
        const a = Math.floor((k0 * s) / stripes);
        const b = Math.floor((k0 * (s + 1)) / stripes);
        matmul(gpu, P, R, A, { M: b - a, N: b, K: rows, transA: true, lda: k0, ldb: k0, ldc: n, offA: a, offC: a * n, alpha: -1, beta: 1 });
      }
      matmul(gpu, P, RB, U, { M: k0, N: n - k0, K: rows, transA: true, lda: k0, ldb: n, offB: k0, ldc: n, offC: k0, alpha: -1, beta: 1 });
    }
    finishKernel.run(gpu, { uniforms: { n, tol }, bindings: { A, B: U, diag0, flag: o.flag }, workgroups: [Math.ceil(n / 64), n] });
  } finally {
    scope.dispose();
  }
}

/** A += fraction · mean(diag A) · I (SparseGPT's and ALPS's damping), on the GPU. */
export function addDiagonalDamping(gpu: Gpu, A: Binding, o: { n: number; fraction: number }): void {
  if (o.n === 0 || o.fraction === 0) return;
  dampKernel.run(gpu, { uniforms: { n: o.n, fraction: o.fraction }, bindings: { A }, workgroups: [1] });
}

/** Reads the failure flag once (one u32) and throws NotPositiveDefiniteError when it is set. */
export async function assertPositiveDefinite(gpu: Gpu, flag: GpuTensor): Promise<void> {
  const [value] = await gpu.readU32(flag, 1);
  if (value !== 0) throw new NotPositiveDefiniteError();
}
