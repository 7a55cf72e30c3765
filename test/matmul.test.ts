import { describe, expect, it } from 'vitest';
import { matmul } from '../src/kernels/matmul';
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
