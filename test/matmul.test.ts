import { describe, expect, it } from 'vitest';
import { hasQuadSubgroups, matmul, matmulTiling, type MatmulOptions } from '../src/kernels/matmul';
import { testGpu } from './helpers/gpu';
import { f32, matmulRef, maxAbs, maxAbsDiff, randn } from './helpers/reference';

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 37, 5],
  [37, 1, 9],
  [33, 65, 17],
  [64, 64, 64],
  [70, 130, 100],
];

describe('matmul kernel against a float64 reference', () => {
  for (const tiling of ['register', 'shared'] as const) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`${tiling} transA=${transA} transB=${transB}`, async () => {
          const gpu = await testGpu();
          for (const [M, N, K] of shapes) {
            const A = randn(M * K, M * 7 + K);
            const B = randn(K * N, N * 13 + K);
            const C0 = randn(M * N, 5);
            const a = gpu.upload(f32(A));
            const b = gpu.upload(f32(B));
            const c = gpu.upload(f32(C0));
            matmul(gpu, a, b, c, { M, N, K, transA, transB, tiling, alpha: 0.5, beta: 1 });
            const got = await gpu.read(c);
            const ref = matmulRef(A, B, M, N, K, transA, transB).map((v, i) => 0.5 * v + C0[i]);
            expect(maxAbsDiff(got, ref)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)) * Math.sqrt(K));
            a.dispose();
            b.dispose();
            c.dispose();
          }
        });
      }
    }
  }

  for (const transB of [false, true]) {
    it(`register-vec4 transB=${transB} on shapes with K and N multiples of 4`, async () => {
      const gpu = await testGpu();
      for (const [M, N, K] of [
        [1, 4, 4],
        [37, 4, 8],
        [5, 36, 20],
        [66, 132, 100],
      ]) {
        const A = randn(M * K, M + 3 * K);
        const B = randn(K * N, N + 5 * K);
        const a = gpu.upload(f32(A));
        const b = gpu.upload(f32(B));
        const c = gpu.tensor([M, N]);
        matmul(gpu, a, b, c, { M, N, K, transB, tiling: 'register-vec4' });
        const got = await gpu.read(c);
        const ref = matmulRef(A, B, M, N, K, false, transB);
        expect(maxAbsDiff(got, ref)).toBeLessThan(1e-5 * Math.max(1, maxAbs(ref)) * Math.sqrt(K));
        a.dispose();
        b.dispose();
        c.dispose();
      }
    });
  }

  // The subgroup tiling (4-lane subgroups, vec4 operands): edge shapes inside padded rows, at
  // offsets, in a batch of two, accumulating into C. K stays ragged only for Aᵀ·B (grams).
  const up4 = (v: number) => Math.ceil(v / 4) * 4;
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`subgroup transA=${transA} transB=${transB} on edge shapes`, async () => {
        const gpu = await testGpu();
        // Dawn's SwiftShader has 4-lane subgroups (the fast path there); elsewhere the tiling is never chosen.
        if (gpu.isSwiftShader) expect(hasQuadSubgroups(gpu)).toBe(true);
        if (!hasQuadSubgroups(gpu)) return;
        const raggedK = transA && !transB;
        for (const [M, N, k] of [...shapes, [8, 16, 4], [9, 33, 12], [40, 20, 3]] as [number, number, number][]) {
          const K = raggedK ? k : up4(k);
          const [ra, ca] = transA ? [K, M] : [M, K];
          const [rb, cb] = transB ? [N, K] : [K, N];
          const o: MatmulOptions = {
            M, N, K, transA, transB, tiling: 'subgroup', alpha: 0.5, beta: 1, batch: 2,
            lda: up4(ca) + 4, ldb: up4(cb) + 8, ldc: N + 1, offA: 4, offB: 8, offC: 3,
          };
          o.strideA = up4(ra * o.lda! + 4);
          o.strideB = up4(rb * o.ldb! + 8);
          o.strideC = M * o.ldc! + 3;
          const A = randn(o.offA! + 2 * o.strideA, M * 7 + K);
          const B = randn(o.offB! + 2 * o.strideB, N * 13 + K);
          const C0 = randn(o.offC! + 2 * o.strideC, 5);
          const a = gpu.upload(f32(A));
          const b = gpu.upload(f32(B));
          const c = gpu.upload(f32(C0));
          matmul(gpu, a, b, c, o);
          const got = await gpu.read(c);
          const ref = Float64Array.from(C0);
          let scale = 1;
          for (let t = 0; t < 2; t++) {
            for (let i = 0; i < M; i++) {
              for (let j = 0; j < N; j++) {
                let s = 0;
                for (let q = 0; q < K; q++) {
                  const av = A[o.offA! + t * o.strideA + (transA ? q * o.lda! + i : i * o.lda! + q)];
                  const bv = B[o.offB! + t * o.strideB + (transB ? j * o.ldb! + q : q * o.ldb! + j)];
                  s += av * bv;
                }
                const idx = o.offC! + t * o.strideC + i * o.ldc! + j;
                ref[idx] = 0.5 * s + C0[idx];
                scale = Math.max(scale, Math.abs(ref[idx]));
              }
            }
          }
          // Entries outside the blocks of C (padding, offsets) must be left as they were.
          expect(maxAbsDiff(got, ref)).toBeLessThan(1e-5 * scale * Math.sqrt(K));
          a.dispose();
          b.dispose();
          c.dispose();
        }
      });
    }
  }

  it('chooses the tiling per adapter and shape', async () => {
    const gpu = await testGpu();
    if (!gpu.prefersRegisterTiles) {
      expect(matmulTiling(gpu, { M: 512, N: 512, K: 512 })).toBe('shared');
      return;
    }
    expect(matmulTiling(gpu, { M: 512, N: 512, K: 512 })).toBe(hasQuadSubgroups(gpu) ? 'subgroup' : 'register-vec4');
    expect(matmulTiling(gpu, { M: 576, N: 576, K: 1021, transA: true })).toBe(hasQuadSubgroups(gpu) ? 'subgroup' : 'register');
    // Thin products (a few tokens) and misaligned operands keep the register tiles.
    expect(matmulTiling(gpu, { M: 4, N: 1536, K: 576, transB: true })).toBe('register-vec4');
    expect(matmulTiling(gpu, { M: 9, N: 9, K: 7, transA: true })).toBe('register');
  });

  it('refuses the subgroup tiling on misaligned operands', async () => {
    const gpu = await testGpu();
    const a = gpu.zeros([16]);
    expect(() => matmul(gpu, a, a, gpu.zeros([16]), { M: 3, N: 3, K: 3, tiling: 'subgroup' })).toThrow(/multiples of 4/);
    a.dispose();
  });

  it('refuses the vec4 tiling on misaligned operands', async () => {
    const gpu = await testGpu();
    const a = gpu.zeros([9]);
    expect(() => matmul(gpu, a, a, gpu.zeros([9]), { M: 3, N: 3, K: 3, tiling: 'register-vec4' })).toThrow(/multiples of 4/);
    a.dispose();
  });

  it('multiplies sub-blocks with offsets, leading dimensions and a batch', async () => {
    const gpu = await testGpu();
    // Two batches of a 5×3 block inside 9-wide rows times a 3×6 block inside 8-wide rows.
    const A = randn(2 * 7 * 9, 1);
    const B = randn(2 * 4 * 8, 2);
    const a = gpu.upload(f32(A));
    const b = gpu.upload(f32(B));
    const c = gpu.zeros([2 * 5 * 6]);
    matmul(gpu, a, b, c, { M: 5, N: 6, K: 3, lda: 9, ldb: 8, offA: 2, offB: 1, batch: 2, strideA: 63, strideB: 32, strideC: 30 });
    const got = await gpu.read(c);
    for (let t = 0; t < 2; t++) {
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 6; j++) {
          let s = 0;
          for (let k = 0; k < 3; k++) s += A[t * 63 + 2 + i * 9 + k] * B[t * 32 + 1 + k * 8 + j];
          expect(got[t * 30 + i * 6 + j]).toBeCloseTo(s, 4);
        }
      }
    }
  });
});
