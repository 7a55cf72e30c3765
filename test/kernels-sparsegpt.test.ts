import { describe, expect, it } from 'vitest';
import { blockScores, fixDeadInputs, MAX_BLOCK_SIZE, sweepBlock, type BlockShape } from '../src/kernels/sparsegpt';
import type { Gpu } from '../src/gpu/runtime';
import { testGpu } from './helpers/gpu';
import { f32, maxAbs, maxAbsDiff, randn } from './helpers/reference';

// The SparseGPT kernels on their own, against float64 loops, at edge shapes: one row, one column,
// blocks that start past column 0 and are no multiple of the rows per workgroup or of M.

/** An upper triangular n×n matrix with a diagonal well away from 0 (the sweep needs no more). */
function upper(n: number, seed: number): Float64Array {
  const R = randn(n * n, seed);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    U[i * n + i] = 0.5 + Math.abs(R[i * n + i]);
    for (let j = i + 1; j < n; j++) U[i * n + j] = 0.3 * R[i * n + j];
  }
  return U;
}

type Rule = { kind: 'mask'; keep: Uint32Array } | { kind: 'nm'; n: number; m: number } | { kind: 'all' };

/** One block's sweep in float64: W (m×n) is updated in place in [b0, b1); returns E (m × bs). */
function sweepRef(W: Float64Array, U: ArrayLike<number>, s: BlockShape, rule: Rule): Float64Array {
  const { m, n, b0, b1 } = s;
  const bs = b1 - b0;
  const E = new Float64Array(m * bs);
  for (let r = 0; r < m; r++) {
    let keepBits = 0;
    for (let c = 0; c < bs; c++) {
      const i = b0 + c;
      if (rule.kind === 'nm' && c % rule.m === 0) {
        const len = Math.min(rule.m, bs - c);
        const score = Array.from({ length: len }, (_, a) => W[r * n + i + a] ** 2 / U[(i + a) * (n + 1)] ** 2);
        keepBits = 0;
        for (let a = 0; a < len; a++) {
          let beaten = 0;
          for (let b = 0; b < len; b++) if (score[b] > score[a] || (score[b] === score[a] && b < a)) beaten++;
          if (beaten < rule.n) keepBits |= 1 << a;
        }
      }
      const kept = rule.kind === 'mask' ? rule.keep[r * bs + c] !== 0 : rule.kind === 'nm' ? (keepBits & (1 << c % rule.m)) !== 0 : false;
      const w = W[r * n + i];
      const q = kept ? w : 0;
      const e = (w - q) / U[i * n + i];
      for (let j = i + 1; j < b1; j++) W[r * n + j] -= e * U[i * n + j];
      W[r * n + i] = q;
      E[r * bs + c] = e;
    }
  }
  return E;
}

async function sweepOnGpu(gpu: Gpu, W0: Float32Array, U: Float32Array, s: BlockShape, rule: Rule): Promise<{ W: Float32Array; E: Float32Array }> {
  const bs = s.b1 - s.b0;
  const W = gpu.upload(W0, [s.m, s.n]);
  const Ut = gpu.upload(U, [s.n, s.n]);
  const E = gpu.tensor([s.m, bs]);
  const mask = rule.kind === 'mask' ? gpu.upload(rule.keep, [s.m, bs]) : undefined;
  try {
    sweepBlock(gpu, { W, U: Ut, E, mask }, s, rule.kind === 'nm' ? { nm: { n: rule.n, m: rule.m } } : { pruneAll: rule.kind === 'all' });
    return { W: await gpu.read(W), E: await gpu.read(E) };
  } finally {
    for (const t of [W, Ut, E, mask]) t?.dispose();
  }
}

const shapes: BlockShape[] = [
  { m: 1, n: 1, b0: 0, b1: 1 },
  { m: 1, n: 9, b0: 3, b1: 9 },
  { m: 13, n: 1, b0: 0, b1: 1 },
  { m: 37, n: 50, b0: 7, b1: 43 },
  { m: 70, n: 24, b0: 0, b1: 24 },
];

describe('SparseGPT sweep kernel against float64', () => {
  for (const s of shapes) {
    const label = `${s.m}×${s.n}, block [${s.b0}, ${s.b1})`;
    const rules: [string, Rule][] = [
      ['mask', { kind: 'mask', keep: Uint32Array.from({ length: s.m * (s.b1 - s.b0) }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0)) }],
      ['2:4', { kind: 'nm', n: 2, m: 4 }],
      ['3:5', { kind: 'nm', n: 3, m: 5 }],
      ['prune all', { kind: 'all' }],
    ];
    for (const [name, rule] of rules) {
      it(`${name}: ${label}`, async () => {
        const gpu = await testGpu();
        const W0 = f32(randn(s.m * s.n, 31 * s.m + s.n));
        const U = f32(upper(s.n, 5 + s.n));
        const got = await sweepOnGpu(gpu, W0, U, s, rule);
        const W = Float64Array.from(W0);
        const E = sweepRef(W, U, s, rule);
        expect(maxAbsDiff(got.E, E) / Math.max(maxAbs(E), 1e-30)).toBeLessThan(1e-4);
        expect(maxAbsDiff(got.W, W) / Math.max(maxAbs(W), 1e-30)).toBeLessThan(1e-4);
        // Pruned entries are exactly zero, columns outside the block exactly untouched.
        for (let i = 0; i < W.length; i++) {
          if (W[i] === 0) expect(got.W[i]).toBe(0);
          const c = i % s.n;
          if (c < s.b0 || c >= s.b1) expect(got.W[i]).toBe(W0[i]);
        }
      });
    }
  }

  it('sweeps the widest block', async () => {
    const gpu = await testGpu();
    const s = { m: 3, n: MAX_BLOCK_SIZE + 5, b0: 5, b1: MAX_BLOCK_SIZE + 5 };
    const rule: Rule = { kind: 'nm', n: 1, m: 32 };
    const W0 = f32(randn(s.m * s.n, 77));
    const U = f32(upper(s.n, 78));
    const got = await sweepOnGpu(gpu, W0, U, s, rule);
    const W = Float64Array.from(W0);
    const E = sweepRef(W, U, s, rule);
    expect(maxAbsDiff(got.E, E) / maxAbs(E)).toBeLessThan(1e-3);
    expect(maxAbsDiff(got.W, W) / maxAbs(W)).toBeLessThan(1e-3);
  });

  it('refuses a block that is too wide, a bad N:M and a missing mask', async () => {
    const gpu = await testGpu();
    const t = { W: gpu.tensor([1, 300]), U: gpu.tensor([300, 300]), E: gpu.tensor([1, 300]) };
    expect(() => sweepBlock(gpu, t, { m: 1, n: 300, b0: 0, b1: 300 }, { pruneAll: true })).toThrow(/at most/);
    expect(() => sweepBlock(gpu, t, { m: 1, n: 300, b0: 0, b1: 8 }, { nm: { n: 5, m: 4 } })).toThrow(/N:M/);
    expect(() => sweepBlock(gpu, t, { m: 1, n: 300, b0: 0, b1: 8 })).toThrow(/mask is required/);
    for (const x of Object.values(t)) x.dispose();
  });
});

describe('SparseGPT scores and dead inputs against float64', () => {
  for (const [m, n, b0, b1] of [
    [1, 1, 0, 1],
    [1, 10, 4, 9],
    [29, 70, 3, 70],
  ] as const) {
    it(`scores ${m}×${n}, block [${b0}, ${b1})`, async () => {
      const gpu = await testGpu();
      const W0 = f32(randn(m * n, m + 3 * n));
      const U0 = f32(upper(n, n));
      const W = gpu.upload(W0, [m, n]);
      const U = gpu.upload(U0, [n, n]);
      const S = gpu.tensor([m, b1 - b0]);
      blockScores(gpu, W, U, S, { m, n, b0, b1 });
      const got = await gpu.read(S);
      const ref = Float64Array.from({ length: m * (b1 - b0) }, (_, idx) => {
        const c = b0 + (idx % (b1 - b0));
        return W0[Math.floor(idx / (b1 - b0)) * n + c] ** 2 / U0[c * n + c] ** 2;
      });
      expect(maxAbsDiff(got, ref) / maxAbs(ref)).toBeLessThan(1e-6);
      for (const t of [W, U, S]) t.dispose();
    });
  }

  for (const [m, n] of [
    [1, 1],
    [1, 7],
    [9, 1],
    [33, 65],
  ] as const) {
    it(`dead inputs ${m}×${n}`, async () => {
      const gpu = await testGpu();
      const G0 = f32(randn(n * n, n + 1));
      const dead = Array.from({ length: n }, (_, j) => j % 3 === 1 || n === 1);
      for (let j = 0; j < n; j++) if (dead[j]) G0[j * n + j] = 0;
      const W0 = f32(randn(m * n, m));
      const G = gpu.upload(G0, [n, n]);
      const W = gpu.upload(W0, [m, n]);
      fixDeadInputs(gpu, G, W, { m, n });
      const [gotG, gotW] = [await gpu.read(G), await gpu.read(W)];
      for (let i = 0; i < n * n; i++) {
        const j = i % n;
        expect(gotG[i]).toBe(Math.floor(i / n) === j && dead[j] ? 1 : G0[i]);
      }
      for (let i = 0; i < m * n; i++) expect(gotW[i]).toBe(dead[i % n] ? 0 : W0[i]);
      for (const t of [G, W]) t.dispose();
    });
  }
});
