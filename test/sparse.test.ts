/**
 * The sparse decode products (shaders/sparse.wgsl) on the forms of src/model/sparseWeights.ts against a float64 reference: N:M (2:4, 4:8), CSR
 * and bitmask forms, f32 and BF16/F16 values, on awkward shapes (one row, one column, rows and
 * groups that are not multiples of the workgroup or of M, all-zero rows, fully kept rows), batches
 * of 1, 3 and 5 rows, placed with offsets or accumulated.
 */
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../src/formats/dtypes';
import type { WeightFormat } from '../src/kernels/packed';
import { freeSparse, sparseBytes, sparseProduct, uploadSparse, type SparseKind } from '../src/kernels/sparse';
import { encodeSparse, fitsNM } from '../src/model/sparseWeights';
import { testGpu } from './helpers/gpu';
import { randn, rng } from './helpers/reference';

function round(v: number, format: WeightFormat): number {
  if (format === 'bf16') return bf16ToF32(f32ToBf16(v));
  if (format === 'f16') return f16ToF32(f32ToF16(v));
  return Math.fround(v);
}

/**
 * A pruned weight: N:M (exactly `n` kept in most groups, fewer in some) or unstructured at `sparsity`;
 * row 0 all zero, and (unstructured) the last row fully kept.
 */
function prunedWeight(rows: number, cols: number, seed: number, format: WeightFormat, p: { n: number; m: number } | { sparsity: number }): Float32Array {
  const r = randn(rows * cols, seed);
  const u = rng(seed + 1);
  const w = new Float32Array(rows * cols);
  for (let j = 1; j < rows; j++) {
    if ('n' in p) {
      for (let g = 0; g < cols; g += p.m) {
        const len = Math.min(p.m, cols - g);
        const keep = u() < 0.2 ? Math.floor(u() * p.n) : Math.min(p.n, len);
        const order = Array.from({ length: len }, (_, i) => i).sort(() => u() - 0.5);
        for (let t = 0; t < keep; t++) w[j * cols + g + order[t]] = round(r[j * cols + g + order[t]], format) || 0.5;
      }
    } else {
      const dense = j === rows - 1;
      for (let k = 0; k < cols; k++) if (dense || u() >= p.sparsity) w[j * cols + k] = round(r[j * cols + k], format) || 0.5;
    }
  }
  return w;
}

interface Case {
  rows: number;
  cols: number;
  batch: number;
}

const CASES: Case[] = [
  { rows: 1, cols: 37, batch: 1 },
  { rows: 70, cols: 1, batch: 3 },
  { rows: 133, cols: 72, batch: 3 },
  { rows: 65, cols: 96, batch: 5 },
  { rows: 3, cols: 200, batch: 1 },
];

async function check(kind: SparseKind, format: WeightFormat, c: Case, w: Float32Array, nm: { n: number; m: number } | null, seed: number) {
  const gpu = await testGpu();
  const { rows: N, cols: K, batch: M } = c;
  // X rows longer than K (lda) with an offset; Y rows wider than N with the product at column offC.
  const lda = K + 3;
  const offA = 5;
  const ldc = N + 2;
  const offC = 1;
  const x = Float32Array.from(randn(offA + M * lda, seed + 7));
  const y0 = Float32Array.from(randn(M * ldc + offC, seed + 8));
  const host = encodeSparse(kind, w, N, K, { values: format, ...(nm ?? {}) });
  const s = uploadSparse(gpu, host)!;
  const X = gpu.upload(x);
  for (const accumulate of [false, true]) {
    const Y = gpu.upload(y0);
    sparseProduct(gpu, X, s, Y, { rows: M, lda, offA, ldc, offC, accumulate });
    const got = await gpu.read(Y);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let ref = accumulate ? y0[offC + i * ldc + j] : 0;
        let scale = Math.abs(ref);
        for (let k = 0; k < K; k++) {
          ref += x[offA + i * lda + k] * w[j * K + k];
          scale += Math.abs(x[offA + i * lda + k] * w[j * K + k]);
        }
        const e = offC + i * ldc + j;
        expect(Math.abs(got[e] - ref), `${kind} ${format} ${N}×${K} batch ${M} row ${i} col ${j}`).toBeLessThanOrEqual(1e-6 * (scale + 1e-30) + 1e-30);
      }
    }
    // Nothing outside the placed columns is touched.
    for (let i = 0; i < M; i++) {
      expect(got[offC + i * ldc + N]).toBe(y0[offC + i * ldc + N]);
    }
    Y.dispose();
  }
  X.dispose();
  freeSparse(s);
}

describe('sparse decode products against float64', () => {
  it('N:M (2:4 and 4:8, groups cut short by the row end, groups keeping fewer than N), f32 and 16-bit values', async () => {
    let seed = 10;
    for (const c of CASES) {
      for (const nm of [{ n: 2, m: 4 }, { n: 4, m: 8 }]) {
        for (const format of ['f32', 'bf16', 'f16'] as const) {
          const w = prunedWeight(c.rows, c.cols, seed, format, nm);
          expect(fitsNM(w, c.rows, c.cols, nm.n, nm.m)).toBe(true);
          await check('nm', format, c, w, nm, seed++);
        }
      }
    }
  });

  it('CSR and bitmask (an all-zero row, a fully kept row, 70 % zeros), f32 and 16-bit values', async () => {
    let seed = 100;
    for (const c of CASES) {
      for (const kind of ['csr', 'bitmask'] as const) {
        for (const format of ['f32', 'bf16', 'f16'] as const) {
          const w = prunedWeight(c.rows, c.cols, seed, format, { sparsity: 0.7 });
          await check(kind, format, c, w, null, seed++);
        }
      }
    }
  });

  it('an all-zero weight, and a dense one in every form that takes it', async () => {
    const c = { rows: 9, cols: 40, batch: 3 };
    await check('csr', 'f32', c, new Float32Array(9 * 40), null, 1);
    await check('bitmask', 'f32', c, new Float32Array(9 * 40), null, 2);
    await check('nm', 'f32', c, new Float32Array(9 * 40), { n: 2, m: 4 }, 3);
    const dense = Float32Array.from(randn(9 * 40, 4), (v) => Math.fround(v) || 1);
    await check('csr', 'f32', c, dense, null, 5);
    await check('bitmask', 'f32', c, dense, null, 6);
  });

  it('encodes compactly and refuses what does not fit', () => {
    const rows = 64;
    const cols = 256;
    const w24 = prunedWeight(rows, cols, 3, 'f32', { n: 2, m: 4 });
    const nm = encodeSparse('nm', w24, rows, cols, { n: 2, m: 4 });
    // Half the values at 4 bytes plus 2 index bits each: 2.25 of 4 bytes per weight.
    expect(sparseBytes(nm)).toBe(rows * cols * (0.5 * 4 + 0.5 * 0.25));
    const nm16 = encodeSparse('nm', w24, rows, cols, { n: 2, m: 4, values: 'bf16' });
    expect(sparseBytes(nm16)).toBe(rows * cols * (0.5 * 2 + 0.5 * 0.25));
    const w70 = prunedWeight(rows, cols, 4, 'f32', { sparsity: 0.7 });
    const csr = encodeSparse('csr', w70, rows, cols);
    const bitmask = encodeSparse('bitmask', w70, rows, cols);
    expect(sparseBytes(bitmask)).toBeLessThan(sparseBytes(csr));
    expect(sparseBytes(csr)).toBeLessThan(rows * cols * 4 * 0.6);
    expect(() => encodeSparse('nm', w70, rows, cols, { n: 2, m: 4 })).toThrow(/does not fit 2:4/);
    expect(() => encodeSparse('csr', w70, rows, cols + 1)).toThrow(/values for a/);
  });
});
