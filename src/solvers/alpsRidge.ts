import type { Binding, GpuTensor } from '../gpu/runtime';
import type { GpuScope } from '../gpu/scope';
import { rhoFactor, ridgeShift } from '../kernels/admm';
import { assertPositiveDefinite, inverseCholeskyUpper } from '../kernels/cholesky';
import { symmetricEigen } from '../kernels/eigen';
import { matmul } from '../kernels/matmul';

/**
 * ALPS's B-update needs R·(Ĝ + ρI)⁻¹ for a ρ that changes at most every `updateEvery` iterations
 * (docs/algorithms.md, ALPS). Three ways to apply it, all on the GPU:
 * - 'eigen': Ĝ = QΛQᵀ once by parallel Jacobi (≈ 80–90 n³ flops over ~10 sweeps, thousands of
 *   dispatches), then two products per iteration, and a ρ change is one n² pass;
 * - 'explicit': at each ρ change factor Ĝ + ρI (U upper with UᵀU = (Ĝ + ρI)⁻¹, ≈ 0.75 n³ flops) and form
 *   H = UᵀU (⅝·2n³ with row stripes that skip U's zero triangle); one product per iteration;
 * - 'factors': the same factor, no H; two triangular products per iteration (⅝ of two dense ones).
 *
 * Measured on SwiftShader (2 cores shared with other jobs, load 15–19, so upper bounds; wall s;
 * `scripts/alps-vs-authors.ts --candidates` for the pieces, whole runs at 70 % unstructured):
 *
 *   layer        eigen setup   refresh expl./fact.   apply eigen/expl./fact.   ρ changes / iterations
 *   512×512      33.0          0.52 / 0.19           0.97 / 0.28 / 0.34        9 / 30
 *   256×1024     (145–343)     2.12 / 1.30           – / 0.53 / 0.43           8 / 27
 *   576×1536     (≈ 10³, est.) 8.00 / 4.80           – / 2.06 / 2.86           9 / 30
 *   whole ALPS   512×512: eigen 128.8, explicit 32.3, factors 39.3 (run during other tests);
 *                256×1024: explicit 108.3, factors 113.2; 576×1536: explicit 472.7, factors 406.2.
 *   a later, quieter run (factors): 512×512 32.6 (the pre-change solver 106.3 in the same run),
 *                256×1024 98.9, 576×1536 280.3.
 *
 * The Jacobi setup at n ≥ 1024 was not rerun (145 s idle and 343 s under load at n = 1024 earlier;
 * ≈ 8N³ per sweep, so ×3.4 at 1536). The schedule changes ρ on almost every check, so a run makes
 * ~iterations/3 refreshes; a Cholesky refresh is still 60–170× cheaper than the one-off Jacobi.
 */
export type RidgeMethod = 'eigen' | 'explicit' | 'factors';

export interface Ridge {
  readonly method: RidgeMethod;
  /** Makes `apply` use (Ĝ + ρI)⁻¹ for this ρ (records GPU work, no readback). */
  refresh(rho: number): void;
  /** out = rhs·(Ĝ + ρI)⁻¹ for the last refreshed ρ; rhs and out are [m, n]; out ≠ rhs. */
  apply(rhs: Binding, out: Binding): void;
  /** Throws NotPositiveDefiniteError if any factorisation so far met a non-positive pivot (one read). */
  check(): Promise<void>;
}

/** Row (or column) stripes of a triangular operand: each stripe's product skips the zero triangle. */
function stripes(n: number): [number, number][] {
  const count = n >= 256 ? 4 : 1;
  const out: [number, number][] = [];
  for (let s = 0; s < count; s++) {
    const a = s === 0 ? 0 : Math.round((n * s) / count / 16) * 16;
    const b = s === count - 1 ? n : Math.round((n * (s + 1)) / count / 16) * 16;
    out.push([a, b]);
  }
  return out;
}

/**
 * Which machinery for an m × n layer (the measurements in RIDGE_MEASUREMENTS). 'eigen' costs
 * ≈ 85 n³ up front in thousands of dispatches and loses at every size measured; a Cholesky
 * refresh is ≈ 0.75 n³ in ~6 dispatches per 64 pivots, and the schedule changes ρ about once per
 * 3 iterations. Per 3 iterations 'explicit' does 1.25 n³ + 6mn² flops, 'factors' 7.5 mn², and the
 * striped triangular products run ~13 % slower per flop: 'explicit' pays only for tall layers
 * (m ≥ 2n), on SwiftShader and, by the same flop count, on a real GPU at n = 4096…8192, where the
 * Jacobi route's ~10 sweeps × n/8 rounds (≈ 10⁴ dispatches) would cost more still.
 */
export function chooseRidge(m: number, n: number): RidgeMethod {
  return m >= 2 * n ? 'explicit' : 'factors';
}

export async function makeRidge(scope: GpuScope, Ghat: GpuTensor, m: number, n: number, method: RidgeMethod): Promise<Ridge> {
  const { gpu } = scope;
  if (method === 'eigen') return eigenRidge(scope, Ghat, m, n);
  const A = scope.tensor([n, n]);
  const U = scope.tensor([n, n]);
  const flag = scope.zeros([1], 'u32');
  const H = method === 'explicit' ? scope.tensor([n, n]) : null;
  const T = method === 'factors' ? scope.tensor([m, n]) : null;
  const parts = stripes(n);
  return {
    method,
    refresh(rho) {
      ridgeShift(gpu, n, Ghat, A, rho);
      inverseCholeskyUpper(gpu, A, U, { n, flag });
      if (H) {
        // H = UᵀU: row stripe [a, b) of H only meets rows k < b of U (U is upper triangular).
        for (const [a, b] of parts) matmul(gpu, U, U, H, { M: b - a, N: n, K: b, transA: true, lda: n, ldb: n, ldc: n, offA: a, offC: a * n });
      }
    },
    apply(rhs, out) {
      if (H) {
        matmul(gpu, rhs, H, out, { M: m, N: n, K: n });
        return;
      }
      // T = rhs·Uᵀ: column j only meets inputs i ≥ j; out = T·U: column j only meets i ≤ j.
      for (const [a, b] of parts) {
        matmul(gpu, rhs, U, T!, { M: m, N: b - a, K: n - a, transB: true, lda: n, offA: a, ldb: n, offB: a * n + a, ldc: n, offC: a });
      }
      for (const [a, b] of parts) matmul(gpu, T!, U, out, { M: m, N: b - a, K: b, lda: n, ldb: n, offB: a, ldc: n, offC: a });
    },
    check: () => assertPositiveDefinite(gpu, flag),
  };
}

async function eigenRidge(scope: GpuScope, Ghat: GpuTensor, m: number, n: number): Promise<Ridge> {
  const { gpu } = scope;
  const eigen = await symmetricEigen(gpu, Ghat, n);
  scope.keep(eigen.Q);
  scope.keep(eigen.lambda);
  const Qrho = scope.tensor([n, n]);
  const T = scope.tensor([m, n]);
  return {
    method: 'eigen',
    refresh: (rho) => rhoFactor(gpu, n, eigen.Q, eigen.lambda, Qrho, rho),
    // ((rhs·Q)·Qρ) with Qρ = diag(1/(λ + ρ))·Qᵀ.
    apply(rhs, out) {
      matmul(gpu, rhs, eigen.Q, T, { M: m, N: n, K: n });
      matmul(gpu, T, Qrho, out, { M: m, N: n, K: n });
    },
    check: async () => {},
  };
}
