/**
 * Block LDLᵀ and its row solves (src/kernels/ldl.ts) against a float64 Cholesky solve: one row, one
 * column, widths off the block and the matmul tiles, several block sizes, and the pivot checks.
 */
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/runtime';
import { withScope } from '../src/gpu/scope';
import { assertPositiveDefinite, NotPositiveDefiniteError } from '../src/kernels/cholesky';
import { blockLdlFactor, blockLdlSolveRows, makeBlockLdl } from '../src/kernels/ldl';
import { f32, gramRef, randn, rng } from './helpers/reference';
import { choleskySolve } from './helpers/solversReference';
import { testGpu } from './helpers/gpu';

/** An SPD gram of N = 2n + 4 rows, damped by 1 % of its mean diagonal. */
function spdGram(n: number, seed: number): Float64Array {
  const N = 2 * n + 4;
  const G = gramRef(randn(N * n, seed), N, n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += G[i * n + i] / n;
  for (let i = 0; i < n; i++) G[i * n + i] += 0.01 * mean;
  return G;
}

/** rhs·A⁻¹ on the GPU ([m, n] rows); throws NotPositiveDefiniteError when a pivot fails. */
async function gpuSolveRows(gpu: Gpu, A: ArrayLike<number>, n: number, rhs: ArrayLike<number>, m: number, block?: number): Promise<Float32Array> {
  return withScope(gpu, async (scope) => {
    const f = makeBlockLdl(scope, n, { rows: m, block });
    gpu.write(f.W, f32(A));
    blockLdlFactor(gpu, f);
    const R = scope.upload(f32(rhs), [m, n]);
    const out = scope.tensor([m, n]);
    blockLdlSolveRows(gpu, f, R, out);
    await assertPositiveDefinite(gpu, f.flag);
    return gpu.read(out);
  });
}

/** Relative Frobenius error of the GPU rows against the float64 solve. */
function solveError(got: Float32Array, A: Float64Array, n: number, rhs: Float64Array, m: number): number {
  const rhsT = new Float64Array(n * m);
  for (let r = 0; r < m; r++) for (let i = 0; i < n; i++) rhsT[i * m + r] = rhs[r * n + i];
  const want = choleskySolve(A, n, rhsT, m);
  let err = 0;
  let norm = 0;
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < n; i++) {
      err += (got[r * n + i] - want[i * m + r]) ** 2;
      norm += want[i * m + r] ** 2;
    }
  }
  return Math.sqrt(err / norm);
}

describe('block LDLᵀ row solves x·A = r against float64', () => {
  // One column, one row, widths off the block (64) and the matmul tiles, one past two blocks.
  for (const [m, n, block] of [
    [3, 1, 64],
    [1, 37, 64],
    [1, 64, 64],
    [5, 67, 64],
    [9, 130, 64],
    [6, 50, 7],
    [2, 21, 1],
  ] as const) {
    it(`${m}×${n}, blocks of ${block}`, async () => {
      const gpu = await testGpu();
      const A = spdGram(n, 300 + n);
      const rhs = randn(m * n, 17 + n);
      const got = await gpuSolveRows(gpu, A, n, rhs, m, block);
      expect(solveError(got, A, n, rhs, m)).toBeLessThan(5e-4);
    });
  }

  it('gives the same solution for every block size (n = 100)', async () => {
    const gpu = await testGpu();
    const n = 100;
    const A = spdGram(n, 5);
    const rhs = randn(4 * n, 6);
    const first = await gpuSolveRows(gpu, A, n, rhs, 4, 64);
    for (const block of [1, 16, 33]) {
      const got = await gpuSolveRows(gpu, A, n, rhs, 4, block);
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < got.length; i++) {
        diff += (got[i] - first[i]) ** 2;
        norm += first[i] ** 2;
      }
      expect(Math.sqrt(diff / norm), `block ${block}`).toBeLessThan(5e-4);
    }
  });

  it('rejects an indefinite matrix, also when the bad pivot is in a later block', async () => {
    const gpu = await testGpu();
    await expect(gpuSolveRows(gpu, [1, 2, 2, 1], 2, [1, 1], 1)).rejects.toThrow(NotPositiveDefiniteError);
    const n = 20;
    const A = spdGram(n, 9);
    A[17 * n + 17] = -1;
    await expect(gpuSolveRows(gpu, A, n, randn(n, 1), 1, 8)).rejects.toThrow(NotPositiveDefiniteError);
  });

  it('rejects an exactly rank-deficient gram and one that holds NaN', async () => {
    const gpu = await testGpu();
    // Small-integer data (the gram is exact in f32) with column 3 repeating column 1.
    const n = 12;
    const N = 20;
    const r = rng(3);
    const X = new Float64Array(N * n);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < n; j++) X[i * n + j] = Math.floor(r() * 7) - 3;
      X[i * n + 3] = X[i * n + 1];
    }
    await expect(gpuSolveRows(gpu, gramRef(X, N, n), n, randn(n, 2), 1)).rejects.toThrow(NotPositiveDefiniteError);
    const G = spdGram(9, 4);
    G[2 * 9 + 5] = NaN;
    G[5 * 9 + 2] = NaN;
    await expect(gpuSolveRows(gpu, G, 9, randn(9, 3), 1, 4)).rejects.toThrow(NotPositiveDefiniteError);
  });
});
