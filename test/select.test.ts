import { describe, expect, it } from 'vitest';
import { applyMask, nmMask, topkMask, type TopkMaskOptions } from '../src/kernels/select';
import type { Gpu } from '../src/gpu/runtime';
import { testGpu } from './helpers/gpu';
import { f32, randn, rng } from './helpers/reference';

/** Stable order by |x| descending, then index ascending; the first `keep` of each segment are kept. */
function topkRef(x: Float32Array, segments: number, length: number, keep: number): Uint32Array {
  const out = new Uint32Array(segments * length);
  for (let s = 0; s < segments; s++) {
    const base = s * length;
    const order = Array.from({ length }, (_, j) => j);
    order.sort((a, b) => Math.abs(x[base + b]) - Math.abs(x[base + a]) || a - b);
    for (let r = 0; r < keep; r++) out[base + order[r]] = 1;
  }
  return out;
}

/** Values from {0, ±1, ±2} (and -0.0): every threshold is a heavy tie. */
function ties(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * Math.floor(r() * 3));
}

function mismatches(got: Uint32Array, want: Uint32Array): number {
  let bad = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) bad++;
  return bad;
}

async function runTopk(gpu: Gpu, x: Float32Array, o: TopkMaskOptions): Promise<Uint32Array> {
  const scores = gpu.upload(x);
  const mask = gpu.upload(new Uint32Array(x.length).fill(7)); // garbage: every entry must be written
  topkMask(gpu, scores, mask, o);
  const got = await gpu.readU32(mask);
  scores.dispose();
  mask.dispose();
  return got;
}

async function expectTopk(gpu: Gpu, x: Float32Array, o: TopkMaskOptions, label: string): Promise<void> {
  const got = await runTopk(gpu, x, o);
  const want = topkRef(x, o.segments, o.segmentLength, o.keep);
  expect(mismatches(got, want), `${label}: ${JSON.stringify(o)}`).toBe(0);
}

// Every kernel path, whatever this adapter's defaults. The barrier-heavy real-GPU path (shared
// histograms, parallel pick) costs ~1 s per call on SwiftShader, so it gets fewer rows and keeps.
const allKeeps = [0, 1, 64, 100, 128, 129];
const variants: { name: string; opts: Partial<TopkMaskOptions>; rows: number; keeps: number[] }[] = [
  { name: 'radix, global histogram, serial pick', opts: { method: 'radix', histogram: 'global', pick: 'serial' }, rows: 37, keeps: allKeeps },
  { name: 'radix, global histogram (small tiles), serial pick', opts: { method: 'radix', histogram: 'global', tileSize: 256, pick: 'serial' }, rows: 37, keeps: [1, 100] },
  { name: 'radix, shared histogram (small tiles), parallel pick', opts: { method: 'radix', histogram: 'shared', tileSize: 256, pick: 'parallel' }, rows: 3, keeps: [1, 100] },
  { name: 'rank', opts: { method: 'rank' }, rows: 37, keeps: allKeeps },
];

describe('topkMask (exact, ties to the lower index)', () => {
  for (const { name, opts, rows, keeps: rowKeeps } of variants) {
    it(`whole-matrix top-k on awkward lengths: ${name}`, async () => {
      const gpu = await testGpu();
      const r = rng(11);
      for (const L of [1, 2, 37, 1000]) {
        const x = f32(randn(L, L + 3));
        const keeps = new Set([0, 1, L - 1, L, Math.floor(r() * (L + 1)), Math.floor(r() * (L + 1))]);
        for (const keep of keeps) {
          if (keep < 0) continue;
          await expectTopk(gpu, x, { segments: 1, segmentLength: L, keep, ...opts }, 'randn');
        }
      }
    });

    it(`per-row segments, ties, zeros and negatives: ${name}`, async () => {
      const gpu = await testGpu();
      const [S, L] = [rows, 129];
      const cases: [string, Float32Array][] = [
        ['randn', f32(randn(S * L, 5))],
        ['ties {0,±1,±2}', ties(S * L, 6)],
        ['all ±0', Float32Array.from({ length: S * L }, (_, i) => (i % 3 === 0 ? -0 : 0))],
        ['negative', Float32Array.from(randn(S * L, 7), (v) => -Math.abs(v) - 0.5)],
        ['many zeros', Float32Array.from(randn(S * L, 8), (v, i) => (i % 4 === 0 ? v : 0))],
        ['equal magnitudes, mixed signs', Float32Array.from({ length: S * L }, (_, i) => (i % 2 ? 1.5 : -1.5))],
      ];
      for (const [label, x] of cases) {
        for (const keep of rowKeeps) {
          await expectTopk(gpu, x, { segments: S, segmentLength: L, keep, ...opts }, label);
        }
      }
    });
  }

  it('many short segments, long ones, and a 2-D grid', async () => {
    const gpu = await testGpu();
    await expectTopk(gpu, ties(500 * 8, 21), { segments: 500, segmentLength: 8, keep: 3 }, 'ties 500×8');
    await expectTopk(gpu, f32(randn(3 * 3000, 22)), { segments: 3, segmentLength: 3000, keep: 1234 }, 'randn 3×3000');
    await expectTopk(gpu, ties(2 * 70000, 23), { segments: 2, segmentLength: 70000, keep: 40000 }, 'ties 2×70000 (3 index digits)');
    // 16400 segments: the radix init kernel needs 65600 workgroups, past one grid dimension.
    await expectTopk(gpu, ties(16400 * 16, 24), { segments: 16400, segmentLength: 16, keep: 7, method: 'radix' }, 'ties 16400×16 (2-D grid)');
  });

  it('whole 512×512 matrix with random k, ties and zeros', async () => {
    const gpu = await testGpu();
    const L = 512 * 512;
    const r = rng(99);
    const x = f32(randn(L, 31));
    for (let t = 0; t < 2; t++) {
      const keep = Math.floor(r() * L);
      await expectTopk(gpu, x, { segments: 1, segmentLength: L, keep }, 'randn 512²');
    }
    for (const histogram of ['global', 'shared'] as const) {
      for (const pick of ['serial', 'parallel'] as const) {
        const o = { segments: 1, segmentLength: L, keep: Math.round(0.3 * L), histogram, pick };
        await expectTopk(gpu, x, o, 'randn 512²');
      }
    }
    await expectTopk(gpu, ties(L, 32), { segments: 1, segmentLength: L, keep: 100003 }, 'ties 512²');
    const sparse = Float32Array.from(x, (v, i) => (i % 5 === 0 ? v : i % 2 ? -0 : 0));
    await expectTopk(gpu, sparse, { segments: 1, segmentLength: L, keep: 60000 }, 'mostly zeros 512²');
  });

  it('keeps exactly k after repeated calls that reuse pooled scratch', async () => {
    const gpu = await testGpu();
    const x = ties(4 * 300, 41);
    const scores = gpu.upload(x);
    const masks = [10, 150, 299].map(() => gpu.zeros([x.length], 'u32'));
    [10, 150, 299].forEach((keep, i) => topkMask(gpu, scores, masks[i], { segments: 4, segmentLength: 300, keep, method: 'radix' }));
    for (const [i, keep] of [10, 150, 299].entries()) {
      expect(mismatches(await gpu.readU32(masks[i]), topkRef(x, 4, 300, keep))).toBe(0);
      masks[i].dispose();
    }
    scores.dispose();
  });

  it('times topkMask on 512×512 (printed, not asserted)', async () => {
    const gpu = await testGpu();
    const L = 512 * 512;
    const scores = gpu.upload(f32(randn(L, 51)));
    const mask = gpu.zeros([L], 'u32');
    const keep = Math.round(0.3 * L);
    topkMask(gpu, scores, mask, { segments: 1, segmentLength: L, keep });
    await gpu.sync();
    const calls = 10;
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) topkMask(gpu, scores, mask, { segments: 1, segmentLength: L, keep });
    await gpu.sync();
    const ms = (performance.now() - t0) / calls;
    console.log(`topkMask 512×512 (keep 30%) on ${gpu.adapter.architecture || gpu.adapter.description}: ${ms.toFixed(2)} ms per call`);
    scores.dispose();
    mask.dispose();
  });
});

function nmRef(x: Float32Array, n: number, m: number): Uint32Array {
  return topkRef(x, x.length / m, m, n);
}

describe('nmMask', () => {
  it('keeps N of every M, ties to the lower index', async () => {
    const gpu = await testGpu();
    for (const [n, m] of [[2, 4], [4, 8], [1, 4], [3, 4], [0, 4], [4, 4]]) {
      for (const [label, x] of [
        ['randn', f32(randn(33 * 64, n * 10 + m))],
        ['ties', ties(33 * 64, n * 20 + m)],
        ['zeros', new Float32Array(33 * 64)],
      ] as [string, Float32Array][]) {
        const scores = gpu.upload(x);
        const mask = gpu.upload(new Uint32Array(x.length).fill(9));
        nmMask(gpu, scores, mask, { count: x.length, n, m });
        expect(mismatches(await gpu.readU32(mask), nmRef(x, n, m)), `${n}:${m} ${label}`).toBe(0);
        scores.dispose();
        mask.dispose();
      }
    }
  });

  it('groups down the columns of a row-major matrix', async () => {
    const gpu = await testGpu();
    const [rows, cols] = [24, 13];
    for (const [n, m] of [[2, 4], [4, 8], [3, 4]]) {
      const x = ties(rows * cols, 60 + m);
      const xt = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) xt[c * rows + r] = x[r * cols + c];
      const wantT = nmRef(xt, n, m);
      const scores = gpu.upload(x);
      const mask = gpu.upload(new Uint32Array(x.length).fill(9));
      nmMask(gpu, scores, mask, { count: x.length, n, m, columns: cols });
      const got = await gpu.readU32(mask);
      let bad = 0;
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (got[r * cols + c] !== wantT[c * rows + r]) bad++;
      expect(bad, `${n}:${m} by columns`).toBe(0);
      scores.dispose();
      mask.dispose();
    }
  });
});

describe('applyMask', () => {
  for (const [inPlace, reduce] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`masks values and counts support changes across calls (${inPlace ? 'in place' : 'copy'}, ${reduce ? 'workgroup' : 'invocation'} sums)`, async () => {
      const gpu = await testGpu();
      const count = 40001; // past 64 workgroups × 256 on CPU rasterisers: invocations loop
      const r = rng(inPlace ? 71 : 72);
      const masks = [0, 1, 2].map(() => Uint32Array.from({ length: count }, () => (r() < 0.4 ? 1 : 0)));
      const support = gpu.upload(masks[0]);
      const counter = gpu.zeros([1], 'u32');
      let expected = 0;
      for (const step of [1, 2]) {
        const x = f32(randn(count, 80 + step));
        const values = gpu.upload(x);
        const mask = gpu.upload(masks[step]);
        const out = inPlace ? values : gpu.tensor([count]);
        applyMask(gpu, values, mask, out, { count, support, counter, reduce });
        for (let i = 0; i < count; i++) if (masks[step][i] !== masks[step - 1][i]) expected++;
        expect((await gpu.readU32(counter))[0], `change count after call ${step}`).toBe(expected);
        const got = await gpu.read(out);
        let bad = 0;
        for (let i = 0; i < count; i++) if (got[i] !== (masks[step][i] ? x[i] : 0)) bad++;
        expect(bad).toBe(0);
        expect(mismatches(await gpu.readU32(support), masks[step])).toBe(0);
        values.dispose();
        mask.dispose();
        if (!inPlace) out.dispose();
      }
      expect(expected).toBeGreaterThan(0);
      support.dispose();
      counter.dispose();
    });
  }

  it('projects like an ALPS iteration: top-k, masked copy, support change', async () => {
    const gpu = await testGpu();
    const [rows, cols, keep] = [40, 30, 500];
    const x1 = f32(randn(rows * cols, 91));
    const x2 = Float32Array.from(x1, (v, i) => (i % 7 === 0 ? v * 0.3 : v)); // shrink some: support moves
    const support = gpu.zeros([rows * cols], 'u32');
    const counter = gpu.zeros([1], 'u32');
    const mask = gpu.tensor([rows * cols], 'u32');
    const d = gpu.tensor([rows * cols]);
    let expected = keep; // the first call flips `keep` entries from the all-zero support
    for (const x of [x1, x2]) {
      const b = gpu.upload(x);
      topkMask(gpu, b, mask, { segments: 1, segmentLength: rows * cols, keep });
      applyMask(gpu, b, mask, d, { count: rows * cols, support, counter });
      const got = await gpu.read(d);
      const want = topkRef(x, 1, rows * cols, keep);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBe(want[i] ? x[i] : 0);
      b.dispose();
    }
    const m1 = topkRef(x1, 1, rows * cols, keep);
    const m2 = topkRef(x2, 1, rows * cols, keep);
    expected += mismatches(m1, m2);
    expect(mismatches(m1, m2)).toBeGreaterThan(0);
    expect((await gpu.readU32(counter))[0]).toBe(expected);
    for (const t of [support, counter, mask, d]) t.dispose();
  });

  it('without support it only masks', async () => {
    const gpu = await testGpu();
    const x = f32(randn(777, 90));
    const m = Uint32Array.from({ length: 777 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const values = gpu.upload(x);
    const mask = gpu.upload(m);
    const out = gpu.tensor([777]);
    applyMask(gpu, values, mask, out, { count: 777 });
    const got = await gpu.read(out);
    for (let i = 0; i < 777; i++) expect(got[i]).toBe(m[i] ? x[i] : 0);
    values.dispose();
    mask.dispose();
    out.dispose();
  });
});
