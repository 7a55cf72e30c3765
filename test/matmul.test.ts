import { describe, expect, it } from 'vitest';
import { hasQuadSubgroups, hasShaderF16, matmul, matmulTiling, matmulUsesF16, type MatmulOptions, type MatmulTiling } from '../src/kernels/matmul';
import { expandTemplate } from '../src/kernels/unroll';
import { testGpu } from './helpers/gpu';
import { f32, matmulRef, maxAbs, maxAbsDiff, randn } from './helpers/reference';

// Opened at collection so that a variant the adapter cannot run is reported as skipped by name.
const gpu = await testGpu();
const subgroups = gpu.device.features.has('subgroups');
const quads = hasQuadSubgroups(gpu);
const f16 = hasShaderF16(gpu);
const lacks = (what: string) => ` (skipped: this adapter lacks ${what})`;

/** Edge shapes [M, N, K]: one entry, one row, one column, K = 1, non-multiples of every tile. */
const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 5],
  [37, 1, 9],
  [33, 65, 1],
  [33, 65, 17],
  [64, 64, 64],
  [70, 130, 100],
  [9, 33, 12],
];

const up4 = (v: number) => Math.ceil(v / 4) * 4;

/**
 * op(A)·op(B) on padded rows, at offsets, in a batch of two, accumulating into C (alpha 0.5,
 * beta 1), against float64. `aligned`: leading dimensions, offsets and strides in whole vec4s (the
 * vec4 and subgroup tilings). Entries outside the blocks of C must be left as they were.
 */
async function checkProduct(o0: MatmulOptions, aligned: boolean, tolerance: (K: number) => number, seed: number): Promise<void> {
  const { M, N, K } = o0;
  const transA = o0.transA ?? false;
  const transB = o0.transB ?? false;
  const [ra, ca] = transA ? [K, M] : [M, K];
  const [rb, cb] = transB ? [N, K] : [K, N];
  const pad = (v: number, extra: number) => (aligned ? up4(v) + 4 * extra : v + extra);
  const o: MatmulOptions = { ...o0, alpha: 0.5, beta: 1, batch: 2, lda: pad(ca, 1), ldb: pad(cb, 2), ldc: N + 1, offA: aligned ? 4 : 3, offB: aligned ? 8 : 1, offC: 3 };
  o.strideA = pad(ra * o.lda!, 1);
  o.strideB = pad(rb * o.ldb!, 2);
  o.strideC = M * o.ldc! + 3;
  const A = randn(o.offA! + 2 * o.strideA, M * 7 + K + seed);
  const B = randn(o.offB! + 2 * o.strideB, N * 13 + K + seed);
  const C0 = randn(o.offC! + 2 * o.strideC, 5 + seed);
  const a = gpu.upload(f32(A));
  const b = gpu.upload(f32(B));
  const c = gpu.upload(f32(C0));
  matmul(gpu, a, b, c, o);
  const got = await gpu.read(c);
  const ref = Float64Array.from(C0);
  let worst = 0;
  for (let t = 0; t < 2; t++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let abs = 0;
        for (let q = 0; q < K; q++) {
          const av = A[o.offA! + t * o.strideA + (transA ? q * o.lda! + i : i * o.lda! + q)];
          const bv = B[o.offB! + t * o.strideB + (transB ? j * o.ldb! + q : q * o.ldb! + j)];
          s += av * bv;
          abs += Math.abs(av * bv);
        }
        const idx = o.offC! + t * o.strideC + i * o.ldc! + j;
        ref[idx] = 0.5 * s + C0[idx];
        // Error relative to what the sum could lose: Σ|a·b|/2 plus |C0|.
        worst = Math.max(worst, Math.abs(got[idx] - ref[idx]) / (0.5 * abs + Math.abs(C0[idx]) + 1e-30));
      }
    }
  }
  let outside = 0;
  for (let i = 0; i < ref.length; i++) if (got[i] !== Math.fround(ref[i]) && !isInside(i, o)) outside++;
  a.dispose();
  b.dispose();
  c.dispose();
  expect(outside, `${M}×${N}×${K}: entries outside C changed`).toBe(0);
  expect(worst, `${M}×${N}×${K} transA=${transA} transB=${transB}: relative error`).toBeLessThan(tolerance(K));
}

/** Whether element i of the C buffer belongs to one of the batch's M × N blocks. */
function isInside(i: number, o: MatmulOptions): boolean {
  for (let t = 0; t < 2; t++) {
    const r = i - o.offC! - t * o.strideC!;
    if (r >= 0 && Math.floor(r / o.ldc!) < o.M && r % o.ldc! < o.N) return true;
  }
  return false;
}

/** f32 products: a few ulps of the sum of magnitudes, growing like √K. */
const f32Tolerance = (K: number) => 1e-6 * (4 + Math.sqrt(K));
/** f16 operands (2⁻¹¹ relative each) and f16 sums of 16 products, accumulated in f32 across slices. */
const f16Tolerance = () => 20 * 2 ** -11;

interface Variant {
  tiling: MatmulTiling;
  /** Why this adapter cannot run it, if it cannot. */
  missing?: string;
  /** Which (transA, transB) it takes, and how it constrains K. */
  accepts: (transA: boolean, transB: boolean) => boolean;
  aligned: boolean;
  /** K a multiple of 4 (except for Aᵀ·B in the subgroup tiling). */
  roundK: (K: number, transA: boolean, transB: boolean) => number;
}

const any = () => true;
const VARIANTS: Variant[] = [
  { tiling: 'register', accepts: any, aligned: false, roundK: (K) => K },
  { tiling: 'shared', accepts: any, aligned: false, roundK: (K) => K },
  { tiling: 'register-vec4', accepts: (transA) => !transA, aligned: true, roundK: up4 },
  { tiling: 'subgroup', missing: quads ? undefined : '4-lane subgroups', accepts: any, aligned: true, roundK: (K, tA, tB) => (tA && !tB ? K : up4(K)) },
  { tiling: 'subgroup-shuffle', missing: subgroups ? undefined : 'the `subgroups` feature', accepts: any, aligned: false, roundK: (K) => K },
];

describe('matmul kernels against a float64 reference', () => {
  // Dawn's SwiftShader has 4-lane subgroups (the fast path there): never skip those on it.
  it('finds the subgroup features SwiftShader has', () => {
    if (gpu.isSwiftShader) expect(quads && subgroups).toBe(true);
  });

  for (const v of VARIANTS) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        if (!v.accepts(transA, transB)) continue;
        it.skipIf(v.missing !== undefined)(`${v.tiling} transA=${transA} transB=${transB} on edge shapes${v.missing ? lacks(v.missing) : ''}`, async () => {
          let seed = 0;
          for (const [M, N, k] of shapes) {
            const K = v.roundK(k, transA, transB);
            // The vec4 tiling reads untransposed B along rows in vec4s: N a multiple of 4 too.
            const n = v.tiling === 'register-vec4' && !transB ? up4(N) : N;
            await checkProduct({ M, N: n, K, transA, transB, tiling: v.tiling }, v.aligned, f32Tolerance, seed++);
          }
        });
      }
    }
  }

  // The f16 variant of the workgroup tiles: the same WGSL as `shared` (run above in f32) with f16
  // slices; it can only be checked on an adapter with shader-f16.
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it.skipIf(!f16)(`shared f16 transA=${transA} transB=${transB} on edge shapes${f16 ? '' : lacks('`shader-f16`')}`, async () => {
        expect(matmulUsesF16(gpu, { M: 8, N: 8, K: 8, tiling: 'shared', allowF16: true })).toBe(true);
        let seed = 0;
        for (const [M, N, K] of shapes) await checkProduct({ M, N, K, transA, transB, tiling: 'shared', allowF16: true }, false, f16Tolerance, seed++);
      });
    }
  }

  it('runs f16 only where the caller allows it and the adapter has shader-f16', () => {
    expect(matmulUsesF16(gpu, { M: 64, N: 64, K: 64, tiling: 'shared' })).toBe(false);
    expect(matmulUsesF16(gpu, { M: 64, N: 64, K: 64, tiling: 'shared', allowF16: true })).toBe(f16);
    // Register tiles (SwiftShader) never take f16.
    expect(matmulUsesF16(gpu, { M: 64, N: 64, K: 64, tiling: 'register', allowF16: true })).toBe(false);
  });

  it('chooses the tiling per adapter and shape', () => {
    if (!gpu.prefersRegisterTiles) {
      expect(matmulTiling(gpu, { M: 512, N: 512, K: 512 })).toBe('shared');
      return;
    }
    expect(matmulTiling(gpu, { M: 512, N: 512, K: 512 })).toBe(quads ? 'subgroup' : 'register-vec4');
    expect(matmulTiling(gpu, { M: 576, N: 576, K: 1021, transA: true })).toBe(quads ? 'subgroup' : 'register');
    // Thin products (a few tokens) and misaligned operands keep the register tiles.
    expect(matmulTiling(gpu, { M: 4, N: 1536, K: 576, transB: true })).toBe('register-vec4');
    expect(matmulTiling(gpu, { M: 9, N: 9, K: 7, transA: true })).toBe('register');
  });

  it('refuses the vec4 and subgroup tilings on misaligned operands', () => {
    const a = gpu.zeros([16]);
    const c = gpu.zeros([16]);
    expect(() => matmul(gpu, a, a, c, { M: 3, N: 3, K: 3, tiling: 'subgroup' })).toThrow(/multiples of 4/);
    expect(() => matmul(gpu, a, a, c, { M: 3, N: 3, K: 3, tiling: 'register-vec4' })).toThrow(/multiples of 4/);
    a.dispose();
    c.dispose();
  });

  it('multiplies dense operands with the default layout', async () => {
    const [M, N, K] = [5, 6, 3];
    const A = randn(M * K, 1);
    const B = randn(K * N, 2);
    const a = gpu.upload(f32(A));
    const b = gpu.upload(f32(B));
    const c = gpu.zeros([M * N]);
    matmul(gpu, a, b, c, { M, N, K });
    const ref = matmulRef(A, B, M, N, K, false, false);
    expect(maxAbsDiff(await gpu.read(c), ref)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)));
    for (const t of [a, b, c]) t.dispose();
  });
});

describe('WGSL template unrolling', () => {
  it('inlines //#def blocks at each //#use, loops included, and refuses malformed ones', () => {
    const src = '//#def body\nx{i}\n//#enddef\n//#for i\n//#use body\n//#end\n//#use body';
    expect(expandTemplate(src, { i: 2 })).toBe('x0\nx1\nx{i}');
    expect(() => expandTemplate('//#def a\nx', {})).toThrow(/not closed/);
    expect(() => expandTemplate('x\n//#enddef', {})).toThrow(/unmatched/);
    expect(() => expandTemplate('//#use nothing', {})).toThrow(/no \/\/#def/);
  });
});
