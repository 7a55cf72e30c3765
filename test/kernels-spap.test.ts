// SPAP's small kernels against float64 CPU references past one workgroup: shapes that are not
// multiples of the 8×8 tiles or of 64, one row, one column, and a zeroing folded past 65535 groups
// (test/spap.test.ts covers the shapes within one tile).
import { describe, expect, it } from 'vitest';
import { columnEnergy, gatherColumns, gatherSquare, penalisedGram, zeroColumns } from '../src/kernels/spap';
import { testGpu } from './helpers/gpu';
import { f32, maxAbsDiff, randn } from './helpers/reference';

describe('SPAP kernels on shapes past one workgroup', () => {
  for (const [m, n] of [
    [1, 130],
    [131, 1],
    [9, 67],
    [70, 20],
  ]) {
    it(`m = ${m}, n = ${n}`, async () => {
      const gpu = await testGpu();
      const H = f32(randn(n * n, n + 1));
      const B = f32(randn(m * n, m + 2 * n));
      const selected = Float32Array.from({ length: n }, (_, j) => (j % 4 === 2 ? 1 : 0));
      // Kept channels out of order, so that a gather that ignores the index list shows.
      const kept = Uint32Array.from({ length: n }, (_, j) => n - 1 - j).filter((j) => !selected[j]);
      const k = kept.length;
      const [tH, tB, tS, tK] = [gpu.upload(H), gpu.upload(B), gpu.upload(selected), gpu.upload(kept)];
      const [A, e, z, gc, gs] = [gpu.tensor([n * n]), gpu.tensor([n]), gpu.tensor([m * n]), gpu.tensor([m * k]), gpu.tensor([k * k])];
      penalisedGram(gpu, n, tH, tS, A, 2.5);
      columnEnergy(gpu, m, n, tB, e);
      zeroColumns(gpu, m, n, tB, tS, z);
      gatherColumns(gpu, m, n, tB, tK, k, gc);
      gatherSquare(gpu, n, tH, tK, k, gs);

      const gramRef = Float64Array.from(H, (v, idx) => v + (Math.floor(idx / n) === idx % n ? 2.5 * selected[idx % n] : 0));
      expect(maxAbsDiff(await gpu.read(A), gramRef)).toBeLessThan(1e-6);
      const energyRef = new Float64Array(n);
      for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) energyRef[j] += B[r * n + j] ** 2;
      const energy = await gpu.read(e);
      for (let j = 0; j < n; j++) expect(Math.abs(energy[j] - energyRef[j])).toBeLessThan(1e-5 * (1 + energyRef[j]));
      expect(Array.from(await gpu.read(z))).toEqual(Array.from(B, (v, idx) => (selected[idx % n] ? 0 : v)));
      expect(Array.from(await gpu.read(gc))).toEqual(Array.from({ length: m * k }, (_, idx) => B[Math.floor(idx / k) * n + kept[idx % k]]));
      expect(Array.from(await gpu.read(gs))).toEqual(Array.from({ length: k * k }, (_, idx) => H[kept[Math.floor(idx / k)] * n + kept[idx % k]]));
      for (const t of [tH, tB, tS, tK, A, e, z, gc, gs]) t.dispose();
    });
  }

  it('zeroes columns on a grid folded past 65535 workgroups', async () => {
    const gpu = await testGpu();
    const n = 1000;
    const m = Math.floor((65535 * 64) / n) + 1;
    const B = f32(randn(m * n, 4));
    const selected = Float32Array.from({ length: n }, (_, j) => (j % 7 === 0 ? 1 : 0));
    const [tB, tS, z] = [gpu.upload(B), gpu.upload(selected), gpu.tensor([m * n])];
    zeroColumns(gpu, m, n, tB, tS, z);
    const got = await gpu.read(z);
    let wrong = 0;
    for (let idx = 0; idx < m * n; idx++) if (got[idx] !== (selected[idx % n] ? 0 : B[idx])) wrong++;
    expect(wrong).toBe(0);
    for (const t of [tB, tS, z]) t.dispose();
  });
});
