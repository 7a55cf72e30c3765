import code from '../../shaders/cholesky.wgsl?raw';
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { flatGrid } from './grid';
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

/** Panels wider than this would not fit panel_cols' register array (MAX_PANEL in the shader). */
export const MAX_PANEL = 64;

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
  const uniforms = (k0: number, k1: number) => [
    { u32: n }, { u32: k0 }, { u32: k1 }, { u32: 0 },
    { f32: tol }, { f32: 0 }, { u32: 0 }, { u32: 0 },
  ];
  const diag0 = gpu.tensor([n]);
  const width = Math.min(r, n);
  const P = gpu.tensor([width, n]);
  const R = gpu.tensor([width, n]);
  const RB = gpu.tensor([width, n]);
  gpu.dispatch({
    pipeline: { code, entryPoint: 'init' },
    uniforms: uniforms(0, 0),
    bindings: [A, U, diag0],
    workgroups: flatGrid(n),
  });
  for (let k1 = n; k1 > 0; k1 -= r) {
    const k0 = Math.max(0, k1 - r);
    const rows = k1 - k0;
    gpu.dispatch({ pipeline: { code, entryPoint: 'panel_diag' }, uniforms: uniforms(k0, k1), bindings: [A], workgroups: [1] });
    gpu.dispatch({ pipeline: { code, entryPoint: 'panel_cols' }, uniforms: uniforms(k0, k1), bindings: [A, U], workgroups: flatGrid(n) });
    if (k0 === 0) break;
    // Rows i < k0: A[:k0, :k0] −= Pᵀ·R (only its lower triangle is ever read)
    // and U[:k0, k0:] −= Pᵀ·U[K, k0:], with P the panel's rows of A scaled by their pivots.
    gpu.dispatch({
      pipeline: { code, entryPoint: 'panel_scale' },
      uniforms: uniforms(k0, k1),
      bindings: [A, P, R],
      workgroups: flatGrid(rows * k0),
    });
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
  gpu.dispatch({
    pipeline: { code, entryPoint: 'finish' },
    uniforms: uniforms(0, 0),
    bindings: [A, U, diag0, o.flag],
    workgroups: [Math.ceil(n / 64), n],
  });
  // Safe to pool now: later users of these buffers are recorded after the sweep.
  for (const t of [diag0, P, R, RB]) t.dispose();
}

/** A += fraction · mean(diag A) · I (SparseGPT's and ALPS's damping), on the GPU. */
export function addDiagonalDamping(gpu: Gpu, A: Binding, o: { n: number; fraction: number }): void {
  if (o.n === 0 || o.fraction === 0) return;
  gpu.dispatch({
    pipeline: { code, entryPoint: 'damp' },
    uniforms: [{ u32: o.n }, { u32: 0 }, { u32: 0 }, { u32: 0 }, { f32: 0 }, { f32: o.fraction }, { u32: 0 }, { u32: 0 }],
    bindings: [A],
    workgroups: [1],
  });
}

/** Reads the failure flag once (one u32) and throws NotPositiveDefiniteError when it is set. */
export async function assertPositiveDefinite(gpu: Gpu, flag: GpuTensor): Promise<void> {
  const [value] = await gpu.readU32(flag, 1);
  if (value !== 0) throw new NotPositiveDefiniteError();
}
