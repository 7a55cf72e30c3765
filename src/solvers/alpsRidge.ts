import type { Binding, GpuTensor } from '../gpu/runtime';
import type { GpuScope } from '../gpu/scope';
import { rhoFactor, ridgeShift } from '../kernels/admm';
import { assertPositiveDefinite, inverseCholeskyUpper } from '../kernels/cholesky';
import { symmetricEigen } from '../kernels/eigen';
import { blockLdlFactor, blockLdlSolveRows, makeBlockLdl } from '../kernels/ldl';
import { matmul } from '../kernels/matmul';

/**
 * ALPS's B-update needs R·(Ĝ + ρI)⁻¹ for a ρ that changes at most every `updateEvery` iterations
 * (docs/algorithms.md, ALPS). Four ways to apply it, all on the GPU:
 * - 'eigen': Ĝ = QΛQᵀ once by parallel Jacobi (≈ 80–90 n³ flops over ~10 sweeps, thousands of
 *   dispatches), then two products per iteration, and a ρ change is one n² pass;
 * - 'explicit': at each ρ change the inverse Cholesky factor U (UᵀU = (Ĝ + ρI)⁻¹, n³/3 multiply-adds)
 *   and H = UᵀU (row stripes that skip U's zero triangle); one product per iteration;
 * - 'factors': the same factor, no H; two triangular products per iteration (⅝ of two dense ones);
 * - 'ldl': at each ρ change a block LDLᵀ of Ĝ + ρI (src/kernels/ldl.ts: n³/6 multiply-adds, half of
 *   the factor's), then per iteration a forward, a block-diagonal and a backward solve, each block a
 *   product (m·n² + 2·m·n·64 multiply-adds, ~2n/32 dispatches).
 *
 * Measured on SwiftShader in CPU seconds of the process (`scripts/alps-vs-authors.ts --candidates`,
 * one run, 2 cores shared with other jobs at load ≈ 14, where wall seconds were 1.5–4× these and
 * too noisy to rank by; with the matrix product of 16:00 UTC, 1 December):
 *
 *   layer      product  refresh ldl/expl./fact.  apply ldl/expl./fact.  3 iterations + 1 refresh
 *   256×256    0.02     0.03 / 0.06 / 0.04       0.03 / 0.02 / 0.02     0.12 / 0.12 / 0.10
 *   512×512    0.16     0.07 / 0.20 / 0.13       0.10 / 0.12 / 0.15     0.37 / 0.56 / 0.58
 *   256×1024   0.22     0.46 / 1.60 / 1.12       0.24 / 0.26 / 0.25     1.18 / 2.38 / 1.87
 *   576×1536   1.14     0.86 / 4.78 / 2.95       1.05 / 1.31 / 1.47     4.01 / 8.71 / 7.36
 *   eigen setup (an earlier run, load ≈ 30): 3.0 at 256, 19.1 at 512 (wall 21 s and 96 s).
 *
 * The schedule changes ρ on almost every check (9 changes in 30 iterations on the three layers of
 * issue 12), so the last column is what a run pays per check. Whole runs agree (512×512, one run:
 * ldl 10.7, explicit 12.2, factors 13.0 CPU s). The ldl solves' ~2n/32 narrow products cost
 * dispatch overhead that only pays at n ≥ 512; its apply is no dearer than 'explicit''s single
 * product there, so even tall layers take it.
 */
export type RidgeMethod = 'eigen' | 'explicit' | 'factors' | 'ldl';

export interface Ridge {
  readonly method: RidgeMethod;
  /** Makes `apply` use (Ĝ + ρI)⁻¹ for this ρ (records GPU work, no readback). */
  refresh(rho: number): void;
  /** out = rhs·(Ĝ + ρI)⁻¹ for the last refreshed ρ; rhs and out are [m, n]; out ≠ rhs, and rhs may be overwritten. */
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
 * Which machinery for an m × n layer, from the measurements above: 'ldl' from n = 512 (1.5–2.2×
 * cheaper per check than the others at n = 512…1536, for any m); below that the dispatch overhead
 * of its solves makes it no better, and 'explicit' (tall layers, m ≥ 2n: one product per iteration)
 * or 'factors' take over. 'eigen' loses everywhere (its setup alone is ~50 checks' worth at n = 512
 * and grows as 85 n³).
 */
export function chooseRidge(m: number, n: number): RidgeMethod {
  if (n >= 512) return 'ldl';
  return m >= 2 * n ? 'explicit' : 'factors';
}

export async function makeRidge(scope: GpuScope, Ghat: GpuTensor, m: number, n: number, method: RidgeMethod): Promise<Ridge> {
  const { gpu } = scope;
  if (method === 'eigen') return eigenRidge(scope, Ghat, m, n);
  if (method === 'ldl') return ldlRidge(scope, Ghat, m, n);
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

function ldlRidge(scope: GpuScope, Ghat: GpuTensor, m: number, n: number): Ridge {
  const { gpu } = scope;
  const f = makeBlockLdl(scope, n, { rows: m });
  return {
    method: 'ldl',
    refresh(rho) {
      ridgeShift(gpu, n, Ghat, f.W, rho);
      blockLdlFactor(gpu, f);
    },
    apply: (rhs, out) => blockLdlSolveRows(gpu, f, rhs, out),
    check: () => assertPositiveDefinite(gpu, f.flag),
  };
}
