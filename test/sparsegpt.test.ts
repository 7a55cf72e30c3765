import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/runtime';
import { NotPositiveDefiniteError } from '../src/kernels/cholesky';
import { keptCount as sharedKeptCount, type Pattern } from '../src/shared/pattern';
import type { LayerProblem } from '../src/shared/problem';
import { runSolver, type SolveOptions } from '../src/solvers';
import { unstructuredBlockCounts } from '../src/solvers/sparsegpt';
import { testGpu } from './helpers/gpu';
import { f32, gramRef, inverseCholeskyUpperRef, randn } from './helpers/reference';

// ------------------------------------------------------------------ the path that ships

/** SparseGPT through the registry entry solveLayer runs (past its shared checks, to reach the edge cases). */
const sparsegpt = (gpu: Gpu, problem: LayerProblem, pattern: Pattern, options: SolveOptions['sparsegpt'] = {}) =>
  runSolver(gpu, problem, 'sparsegpt', pattern, { sparsegpt: options });

/** k = round((1−s)·m·n), the shared count. */
const keptCount = (m: number, n: number, sparsity: number) => sharedKeptCount({ kind: 'unstructured', sparsity }, m, n);

// ------------------------------------------------------------------ float64 reference

/** SparseGPT in plain float64 loops, step by step as docs/algorithms.md states it. */
function sparsegptRef(p: LayerProblem, pattern: Pattern, blockSize = 128, damping = 0.01): Float64Array {
  const { m, n } = p;
  const W = Float64Array.from(p.weight);
  const H = Float64Array.from(p.gram);
  for (let j = 0; j < n; j++) {
    if (H[j * n + j] === 0) {
      H[j * n + j] = 1;
      for (let r = 0; r < m; r++) W[r * n + j] = 0;
    }
  }
  let mean = 0;
  for (let j = 0; j < n; j++) mean += H[j * n + j] / n;
  for (let j = 0; j < n; j++) H[j * n + j] += damping * mean;
  const U = inverseCholeskyUpperRef(H, n);
  const counts = pattern.kind === 'unstructured' ? unstructuredBlockCounts(m, n, pattern.sparsity, blockSize) : [];
  for (let b0 = 0, block = 0; b0 < n; b0 += blockSize, block++) {
    const b1 = Math.min(b0 + blockSize, n);
    const bs = b1 - b0;
    const keep = new Uint8Array(m * bs);
    if (pattern.kind === 'unstructured') {
      const score = (idx: number) => {
        const c = idx % bs;
        return W[Math.floor(idx / bs) * n + b0 + c] ** 2 / U[(b0 + c) * (n + 1)] ** 2;
      };
      const order = Array.from({ length: m * bs }, (_, i) => i);
      const s = order.map(score);
      order.sort((a, b) => s[b] - s[a] || a - b);
      for (let t = 0; t < m * bs - counts[block]; t++) keep[order[t]] = 1;
    }
    const E = new Float64Array(m * bs);
    for (let i = b0; i < b1; i++) {
      if (pattern.kind === 'nm' && (i - b0) % pattern.m === 0) {
        const len = Math.min(pattern.m, b1 - i);
        for (let r = 0; r < m; r++) {
          const s = Array.from({ length: len }, (_, a) => W[r * n + i + a] ** 2 / U[(i + a) * (n + 1)] ** 2);
          for (let a = 0; a < len; a++) {
            let beaten = 0;
            for (let b = 0; b < len; b++) if (s[b] > s[a] || (s[b] === s[a] && b < a)) beaten++;
            keep[r * bs + i - b0 + a] = beaten < pattern.n ? 1 : 0;
          }
        }
      }
      for (let r = 0; r < m; r++) {
        const w = W[r * n + i];
        const q = keep[r * bs + i - b0] ? w : 0;
        const e = (w - q) / U[i * n + i];
        for (let j = i; j < b1; j++) W[r * n + j] -= e * U[i * n + j];
        W[r * n + i] = q;
        E[r * bs + i - b0] = e;
      }
    }
    for (let r = 0; r < m; r++) {
      for (let t = 0; t < bs; t++) {
        const e = E[r * bs + t];
        if (e === 0) continue;
        for (let j = b1; j < n; j++) W[r * n + j] -= e * U[(b0 + t) * n + j];
      }
    }
  }
  return W;
}

/** f(W) = tr((W−W0) G (W−W0)ᵀ) with the undamped gram. */
function objective(W: ArrayLike<number>, p: LayerProblem): number {
  const { m, n } = p;
  let f = 0;
  const d = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) d[j] = W[r * n + j] - p.weight[r * n + j];
    for (let i = 0; i < n; i++) {
      if (d[i] === 0) continue;
      let s = 0;
      for (let j = 0; j < n; j++) s += p.gram[i * n + j] * d[j];
      f += d[i] * s;
    }
  }
  return f;
}

function magnitude(p: LayerProblem, pattern: Pattern): Float64Array {
  const W = Float64Array.from(p.weight);
  if (pattern.kind === 'unstructured') {
    const order = Array.from(W.keys()).sort((a, b) => Math.abs(W[b]) - Math.abs(W[a]) || a - b);
    for (let t = keptCount(p.m, p.n, pattern.sparsity); t < order.length; t++) W[order[t]] = 0;
  } else {
    for (let g = 0; g < W.length; g += pattern.m) {
      const idx = Array.from({ length: pattern.m }, (_, a) => g + a).sort((a, b) => Math.abs(W[b]) - Math.abs(W[a]) || a - b);
      for (let t = pattern.n; t < pattern.m; t++) W[idx[t]] = 0;
    }
  }
  return W;
}

// ------------------------------------------------------------------ problems

/** Inputs with AR(1)-correlated columns (ρ = 0.8) and uneven scales; `dead` columns never fire. */
function correlatedProblem(m: number, n: number, seed: number, dead: number[] = []): LayerProblem {
  const N = 2 * n + 16;
  const Z = randn(N * n, seed);
  const scale = randn(n, seed + 1).map((v) => Math.exp(0.5 * v));
  const X = new Float64Array(N * n);
  for (let t = 0; t < N; t++) {
    let prev = 0;
    for (let j = 0; j < n; j++) {
      prev = j === 0 ? Z[t * n] : 0.8 * prev + 0.6 * Z[t * n + j];
      X[t * n + j] = dead.includes(j) ? 0 : prev * scale[j];
    }
  }
  const gram = f32(gramRef(X, N, n));
  return { m, n, weight: f32(randn(m * n, seed + 2)), gram, rows: N };
}

function patternName(p: Pattern): string {
  return p.kind === 'unstructured' ? `${p.sparsity * 100}%` : `${p.n}:${p.m}`;
}

function zeroMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if ((a[i] === 0) !== (b[i] === 0)) d++;
  return d;
}

/** Every group of M consecutive inputs of a row (the last one may be shorter) keeps at most N. */
function checkNm(W: ArrayLike<number>, rows: number, cols: number, pattern: { n: number; m: number }): void {
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += pattern.m) {
      let nz = 0;
      for (let a = g; a < Math.min(g + pattern.m, cols); a++) if (W[r * cols + a] !== 0) nz++;
      expect(nz).toBeLessThanOrEqual(pattern.n);
    }
  }
}

// ------------------------------------------------------------------ tests

const patterns: Pattern[] = [
  { kind: 'unstructured', sparsity: 0.5 },
  { kind: 'unstructured', sparsity: 0.7 },
  { kind: 'nm', n: 2, m: 4 },
  { kind: 'nm', n: 4, m: 8 },
];

const shapes: [number, number, number[]][] = [
  [1, 8, []],
  [7, 16, [3]],
  [37, 130, [5, 77]],
  [64, 256, []],
];

describe('SparseGPT on the GPU against a float64 reference', () => {
  for (const [m, n, dead] of shapes) {
    it(`${m}×${n}${dead.length ? ` (dead inputs ${dead.join(', ')})` : ''}`, async () => {
      const gpu = await testGpu();
      const problem = correlatedProblem(m, n, 11 * m + n, dead);
      for (const pattern of patterns) {
        const { weight, nnz } = await sparsegpt(gpu, problem, pattern);
        const ref = sparsegptRef(problem, pattern);
        const mismatch = zeroMismatch(weight, ref);
        const fGpu = objective(weight, problem);
        const fRef = objective(ref, problem);
        expect(mismatch / (m * n), patternName(pattern)).toBeLessThan(0.005);
        expect(Math.abs(fGpu - fRef) / fRef, patternName(pattern)).toBeLessThan(0.01);
        for (const j of dead) for (let r = 0; r < m; r++) expect(weight[r * n + j]).toBe(0);
        if (pattern.kind === 'unstructured') {
          const k = keptCount(m, n, pattern.sparsity);
          // Dead columns count among the zeros; with none, every kept weight is nonzero.
          if (dead.length === 0) expect(nnz).toBe(k);
          else expect(nnz).toBeLessThanOrEqual(k);
        } else {
          checkNm(weight, m, n, pattern);
          if (dead.length === 0) expect(nnz).toBe((m * n * pattern.n) / pattern.m);
        }
      }
    });
  }

  it('honours blockSize and damping options', async () => {
    const gpu = await testGpu();
    const problem = correlatedProblem(20, 100, 5);
    for (const pattern of [patterns[1], patterns[3]]) {
      const { weight, nnz } = await sparsegpt(gpu, problem, pattern, { blockSize: 32, damping: 0.1 });
      const ref = sparsegptRef(problem, pattern, 32, 0.1);
      expect(zeroMismatch(weight, ref) / weight.length).toBeLessThan(0.005);
      expect(Math.abs(objective(weight, problem) - objective(ref, problem)) / objective(ref, problem)).toBeLessThan(0.01);
      if (pattern.kind === 'unstructured') expect(nnz).toBe(keptCount(20, 100, pattern.sparsity));
    }
  });

  it('per-block counts sum to exactly m·n − k', () => {
    for (const [m, n, s, b] of [[7, 16, 0.7, 128], [37, 130, 0.5, 128], [3, 1000, 0.33, 128], [5, 77, 0.9, 8], [1, 3, 0.5, 1]]) {
      const counts = unstructuredBlockCounts(m, n, s, b);
      expect(counts.reduce((a, c) => a + c, 0)).toBe(m * n - keptCount(m, n, s));
      counts.forEach((c, i) => {
        const width = Math.min(b, n - i * b);
        expect(Math.abs(c - m * width * (1 - keptCount(m, n, s) / (m * n)))).toBeLessThanOrEqual(1);
      });
    }
  });

  it('beats magnitude pruning on a gram of correlated inputs', async () => {
    const gpu = await testGpu();
    const problem = correlatedProblem(64, 256, 99);
    for (const pattern of [patterns[0], patterns[2]]) {
      const { weight } = await sparsegpt(gpu, problem, pattern);
      const fSparse = objective(weight, problem);
      const fMag = objective(magnitude(problem, pattern), problem);
      expect(fSparse).toBeLessThan(0.8 * fMag);
    }
  });

  it('handles 0 % and 100 % sparsity and N = 0 or M', async () => {
    const gpu = await testGpu();
    const problem = correlatedProblem(9, 40, 8);
    const dense = await sparsegpt(gpu, problem, { kind: 'unstructured', sparsity: 0 });
    expect(Array.from(dense.weight)).toEqual(Array.from(problem.weight));
    const empty = await sparsegpt(gpu, problem, { kind: 'unstructured', sparsity: 1 });
    expect(empty.nnz).toBe(0);
    const all = await sparsegpt(gpu, problem, { kind: 'nm', n: 4, m: 4 });
    expect(Array.from(all.weight)).toEqual(Array.from(problem.weight));
    const none = await sparsegpt(gpu, problem, { kind: 'nm', n: 0, m: 4 });
    expect(none.nnz).toBe(0);
  });

  it('zeroes a layer whose inputs are all dead (zero gram)', async () => {
    const gpu = await testGpu();
    const problem: LayerProblem = { m: 4, n: 10, weight: f32(randn(40, 1)), gram: new Float32Array(100) };
    const { weight, nnz } = await sparsegpt(gpu, problem, { kind: 'unstructured', sparsity: 0.5 });
    expect(nnz).toBe(0);
    expect(weight.every((v) => v === 0)).toBe(true);
  });

  it('throws a clear error when the gram is not positive definite', async () => {
    const gpu = await testGpu();
    const problem = correlatedProblem(6, 24, 3);
    const nan = { ...problem, gram: Float32Array.from(problem.gram) };
    nan.gram[1 * 24 + 7] = NaN;
    nan.gram[7 * 24 + 1] = NaN;
    await expect(sparsegpt(gpu, nan, patterns[0])).rejects.toThrow(NotPositiveDefiniteError);
    // Indefinite (not a gram at all): the damping cannot rescue it.
    const indefinite: LayerProblem = { m: 2, n: 2, weight: f32([1, 2, 3, 4]), gram: f32([1, 3, 3, 1]) };
    await expect(sparsegpt(gpu, indefinite, patterns[0])).rejects.toThrow(
      'The gram of this layer is not positive definite even after damping: check the calibration data for NaN/constant inputs.',
    );
    await expect(sparsegpt(gpu, problem, { kind: 'nm', n: 2, m: 4 }, { blockSize: 6 })).rejects.toThrow(RangeError);
  });
});
