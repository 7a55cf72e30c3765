import { describe, expect, it } from 'vitest';
import {
  addDiagonalDamping,
  assertPositiveDefinite,
  inverseCholeskyUpper,
  NotPositiveDefiniteError,
} from '../src/kernels/cholesky';
import type { Gpu } from '../src/gpu/runtime';
import { testGpu } from './helpers/gpu';
import { f32, gramRef, inverseCholeskyUpperRef, maxAbs, maxAbsDiff, randn, rng } from './helpers/reference';


/** An SPD gram XᵀX of N = 2n rows, damped like SparseGPT does. */
function spdGram(n: number, seed: number): Float64Array {
  const N = 2 * n + 4;
  const G = gramRef(randn(N * n, seed), N, n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += G[i * n + i] / n;
  for (let i = 0; i < n; i++) G[i * n + i] += 0.01 * mean;
  return G;
}

async function gpuInverseCholesky(gpu: Gpu, G: ArrayLike<number>, n: number, damping = 0, panel?: number): Promise<Float32Array> {
  const A = gpu.upload(f32(G), [n, n]);
  const U = gpu.tensor([n, n]);
  const flag = gpu.zeros([1], 'u32');
  try {
    addDiagonalDamping(gpu, A, { n, fraction: damping });
    inverseCholeskyUpper(gpu, A, U, { n, flag, panel });
    await assertPositiveDefinite(gpu, flag);
    return await gpu.read(U);
  } finally {
    A.dispose();
    U.dispose();
    flag.dispose();
  }
}

describe('inverse Cholesky factor (U upper, UᵀU = G⁻¹) against float64', () => {
  for (const n of [1, 2, 5, 33, 130, 200]) {
    it(`n = ${n}`, async () => {
      const gpu = await testGpu();
      const G = spdGram(n, 100 + n);
      const got = await gpuInverseCholesky(gpu, G, n);
      const ref = inverseCholeskyUpperRef(G, n);
      const rel = maxAbsDiff(got, ref) / maxAbs(ref);
      expect(rel).toBeLessThan(1e-4);
      // Upper triangular with a positive diagonal, exactly.
      for (let i = 0; i < n; i++) {
        expect(got[i * n + i]).toBeGreaterThan(0);
        for (let j = 0; j < i; j++) expect(got[i * n + j]).toBe(0);
      }
    });
  }

  it('gives the same factor for every panel width (1, 7, 64; n = 130)', async () => {
    const gpu = await testGpu();
    const n = 130;
    const G = spdGram(n, 42);
    const ref = inverseCholeskyUpperRef(G, n);
    for (const panel of [1, 7, 64]) {
      const got = await gpuInverseCholesky(gpu, G, n, 0, panel);
      expect(maxAbsDiff(got, ref) / maxAbs(ref), `panel ${panel}`).toBeLessThan(1e-4);
    }
  });

  it('damps the diagonal by a fraction of its mean', async () => {
    const gpu = await testGpu();
    const n = 70;
    const N = 2 * n;
    const G = gramRef(randn(N * n, 7), N, n);
    const got = await gpuInverseCholesky(gpu, G, n, 0.05);
    const damped = Float64Array.from(G);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += G[i * n + i] / n;
    for (let i = 0; i < n; i++) damped[i * n + i] += 0.05 * mean;
    const ref = inverseCholeskyUpperRef(damped, n);
    expect(maxAbsDiff(got, ref) / maxAbs(ref)).toBeLessThan(1e-4);
  });

  it('rejects an indefinite matrix', async () => {
    const gpu = await testGpu();
    await expect(gpuInverseCholesky(gpu, [1, 2, 2, 1], 2)).rejects.toThrow(NotPositiveDefiniteError);
  });

  it('rejects an exactly rank-deficient gram without damping, with a clear message', async () => {
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
    const G = gramRef(X, N, n);
    const attempt = gpuInverseCholesky(gpu, G, n);
    await expect(attempt).rejects.toThrow(/not positive definite even after damping: check the calibration data/);
    // Damping makes the same gram factorable.
    const ok = await gpuInverseCholesky(gpu, G, n, 0.01);
    expect(ok.every(Number.isFinite)).toBe(true);
  });

  it('rejects a gram that holds NaN', async () => {
    const gpu = await testGpu();
    const n = 9;
    const G = spdGram(n, 4);
    G[2 * n + 5] = NaN;
    G[5 * n + 2] = NaN;
    await expect(gpuInverseCholesky(gpu, G, n, 0.01)).rejects.toThrow(NotPositiveDefiniteError);
  });
});
