import { describe, expect, it } from 'vitest';
import { symmetricEigen, type EigenMethod } from '../src/kernels/eigen';
import type { Gpu } from '../src/gpu/runtime';
import { testGpu } from './helpers/gpu';
import { f32, gramRef, jacobiEigenvaluesRef, randn } from './helpers/reference';

/** An SPD matrix shaped like ALPS's Ĝ: XᵀX/N of random rows, 1 % damping, scaled to unit diagonal. */
function scaledGram(n: number, seed: number): Float64Array {
  const rows = n + 7;
  const X = randn(rows * n, seed);
  // Uneven feature scales, as real activations have, so the scaling actually does something.
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) X[r * n + j] *= 1 + (j % 5);
  const G = gramRef(X, rows, n).map((v) => v / rows);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += G[i * n + i] / n;
  for (let i = 0; i < n; i++) G[i * n + i] += 0.01 * mean;
  const d = Array.from({ length: n }, (_, i) => Math.sqrt(G[i * n + i]) + 1e-8);
  return G.map((v, idx) => v / (d[Math.floor(idx / n)] * d[idx % n]));
}

/** A random orthogonal n×n matrix (modified Gram–Schmidt on Gaussian columns, float64). */
function randomOrthogonal(n: number, seed: number): Float64Array {
  const V = randn(n * n, seed); // column j = V[:, j]
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += V[i * n + j] * V[i * n + k];
      for (let i = 0; i < n; i++) V[i * n + j] -= dot * V[i * n + k];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += V[i * n + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) V[i * n + j] /= norm;
  }
  return V;
}

/** V diag(values) Vᵀ for a random orthogonal V. */
function withSpectrum(values: number[], seed: number): Float64Array {
  const n = values.length;
  const V = randomOrthogonal(n, seed);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[i * n + k] * values[k] * V[j * n + k];
      A[i * n + j] = s;
      A[j * n + i] = s;
    }
  }
  return A;
}


interface Check {
  sweeps: number;
  offDiagonal: number;
  residual: number;
  orthogonality: number;
  eigenError: number;
  ms: number;
  /** Relative off-diagonal norm after each sweep. */
  curve: number[];
}

/** Decomposes A on the GPU and measures it against float64 arithmetic on the same f32 input. */
async function decomposeAndCheck(gpu: Gpu, A64: Float64Array, n: number, method?: EigenMethod): Promise<Check> {
  const input = f32(A64);
  const A = Float64Array.from(input); // the exact matrix the GPU sees
  const a = gpu.upload(input, [n, n]);
  const t0 = performance.now();
  const curve: number[] = [];
  const result = await symmetricEigen(gpu, a, n, { method, onSweep: (_, off) => curve.push(off) });
  const Q = Float64Array.from(await gpu.read(result.Q));
  const lambda = Float64Array.from(await gpu.read(result.lambda));
  const ms = performance.now() - t0;
  const untouched = await gpu.read(a);
  expect(untouched).toEqual(input);
  a.dispose();
  result.Q.dispose();
  result.lambda.dispose();

  for (let i = 1; i < n; i++) expect(lambda[i]).toBeGreaterThanOrEqual(lambda[i - 1]);

  // ‖Q Λ Qᵀ − A‖_F / ‖A‖_F and max |QᵀQ − I|.
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q[i * n + k] * lambda[k] * Q[j * n + k];
      diff += (s - A[i * n + j]) ** 2;
      norm += A[i * n + j] ** 2;
    }
  }
  let orthogonality = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q[k * n + i] * Q[k * n + j];
      orthogonality = Math.max(orthogonality, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  const ref = jacobiEigenvaluesRef(A, n);
  const scale = Math.max(...ref.map(Math.abs)) || 1;
  let eigenError = 0;
  for (let i = 0; i < n; i++) eigenError = Math.max(eigenError, Math.abs(lambda[i] - ref[i]) / scale);
  return {
    sweeps: result.sweeps,
    offDiagonal: result.offDiagonal,
    residual: norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff),
    orthogonality,
    eigenError,
    ms,
    curve,
  };
}

function expectAccurate(c: Check): void {
  expect(c.residual).toBeLessThan(1e-5);
  expect(c.orthogonality).toBeLessThan(1e-5);
  expect(c.eigenError).toBeLessThan(1e-5);
}

describe('symmetricEigen (parallel cyclic Jacobi) against float64', () => {
  // The scalar variant does N−1 rounds of N² work per sweep: keep its sizes small on SwiftShader.
  const cases: [EigenMethod, number[]][] = [
    ['block', [1, 2, 3, 7, 33, 100, 257]],
    ['scalar', [1, 2, 3, 7, 33, 100]],
  ];
  for (const [method, sizes] of cases) {
    for (const n of sizes) {
      it(`${method}: scaled SPD gram, n = ${n}`, async () => {
        const gpu = await testGpu();
        const c = await decomposeAndCheck(gpu, scaledGram(n, 1000 + n), n, method);
        console.log(`eigen ${method} n=${n}: ${c.sweeps} sweeps, off ${c.offDiagonal.toExponential(1)}, residual ${c.residual.toExponential(1)}, ` +
          `orthogonality ${c.orthogonality.toExponential(1)}, eigenvalues ${c.eigenError.toExponential(1)}, ${c.ms.toFixed(0)} ms; ` +
          `off by sweep ${c.curve.map((v) => v.toExponential(0)).join(' ')}`);
        expectAccurate(c);
        expect(c.offDiagonal).toBeLessThan(1e-5);
        if (n > 1) expect(c.sweeps).toBeGreaterThan(0);
      });
    }
  }

  for (const method of ['block', 'scalar'] as const) {
    it(`${method}: clustered and repeated eigenvalues`, async () => {
      const gpu = await testGpu();
      const n = 41;
      const values = Array.from({ length: n }, (_, i) => (i < 10 ? 1 : i < 20 ? 2 + 1e-6 * i : i < 25 ? 0.01 : 3 + 0.5 * i));
      const c = await decomposeAndCheck(gpu, withSpectrum(values, 7), n, method);
      expectAccurate(c);
    });

    it(`${method}: symmetric indefinite matrix`, async () => {
      const gpu = await testGpu();
      const n = 50;
      const R = randn(n * n, 99);
      const A = new Float64Array(n * n).map((_, idx) => R[idx] + R[(idx % n) * n + Math.floor(idx / n)]);
      expectAccurate(await decomposeAndCheck(gpu, A, n, method));
    });

    it(`${method}: an already diagonal matrix takes no sweep and comes back exactly`, async () => {
      const gpu = await testGpu();
      const n = 13;
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) A[i * n + i] = ((i * 7) % n) - 4.5;
      const c = await decomposeAndCheck(gpu, A, n, method);
      expect(c.sweeps).toBe(0);
      expect(c.residual).toBe(0);
      expect(c.orthogonality).toBe(0);
      expect(c.eigenError).toBe(0);
    });
  }

  it('rejects a bad size and non-finite entries', async () => {
    const gpu = await testGpu();
    const a = gpu.upload(new Float32Array([1, Number.NaN, Number.NaN, 1]), [2, 2]);
    await expect(symmetricEigen(gpu, a, 0)).rejects.toThrow(RangeError);
    await expect(symmetricEigen(gpu, a, 3)).rejects.toThrow(/fewer than/);
    await expect(symmetricEigen(gpu, a, 2)).rejects.toThrow(/non-finite/);
    a.dispose();
  });

  it('stops at the sweep cap and reports the remaining off-diagonal norm', async () => {
    const gpu = await testGpu();
    const n = 60;
    const a = gpu.upload(f32(scaledGram(n, 5)), [n, n]);
    const seen: number[] = [];
    const r = await symmetricEigen(gpu, a, n, { maxSweeps: 1, onSweep: (_, off) => seen.push(off) });
    expect(r.sweeps).toBe(1);
    expect(seen).toEqual([r.offDiagonal]);
    expect(r.offDiagonal).toBeGreaterThan(1e-6);
    for (const t of [a, r.Q, r.lambda]) t.dispose();
  });

  it('times n = 256', async () => {
    const gpu = await testGpu();
    const n = 256;
    const a = gpu.upload(f32(scaledGram(n, 256)), [n, n]);
    const before = gpu.dispatchCount;
    const t0 = performance.now();
    const r = await symmetricEigen(gpu, a, n);
    await gpu.read(r.lambda, 1);
    const ms = performance.now() - t0;
    console.log(`eigen n=256 on ${gpu.adapter.architecture || gpu.adapter.description}: ${ms.toFixed(0)} ms, ` +
      `${r.sweeps} sweeps, ${gpu.dispatchCount - before} dispatches, off ${r.offDiagonal.toExponential(1)}`);
    expect(r.offDiagonal).toBeLessThan(1e-5);
    for (const t of [a, r.Q, r.lambda]) t.dispose();
  });
});
