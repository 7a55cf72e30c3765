/**
 * Local search by swap moves (docs/algorithms.md, "Local search"): the kernels against a float64
 * reference on edge shapes, the solver's invariants (kept count, N:M validity, never worse), and
 * the issue-13 measurement on every linear layer of stories260K at 70 %.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../src/gpu/runtime';
import { NO_MOVE, SWAP_CANDIDATES, swapApply, swapBest, swapError } from '../src/kernels/swaps';
import { openModelDir } from '../src/model/nodeFolder';
import { calibrationWindows } from '../src/pipeline/calibration';
import { denseLayerProblems } from '../src/pipeline/prune';
import type { Method } from '../src/shared/methods';
import type { Pattern } from '../src/shared/pattern';
import { solveLayer, type RefineOptions, type SolveResult } from '../src/solvers';
import { refineOutput } from '../src/solvers/swaps';
import type { LayerProblem } from '../src/shared/problem';
import { writeLayerProblem } from '../src/formats/layerProblem';
import { cli } from './helpers/cli';
import { UsageError } from '../src/cli/errors';
import { DEFAULT_REFINE_SWAPS, parseRefine } from '../src/cli/options';
import { testGpu } from './helpers/gpu';
import { f32, gramRef, randn, rng } from './helpers/reference';
import { relErrorRef } from './helpers/solversReference';

interface Move {
  p: number;
  q: number;
  u: number;
  delta: number;
}

/** Δ* and u* of pruning p and restoring q in a row (float64), or null when q cannot be restored. */
function pairRef(w: ArrayLike<number>, r: ArrayLike<number>, G: ArrayLike<number>, n: number, p: number, q: number): Move | null {
  const gqq = G[q * n + q];
  if (gqq <= 0) return null;
  const wp = w[p];
  const h = r[q] - wp * G[p * n + q];
  return { p, q, u: -h / gqq, delta: wp * wp * G[p * n + p] - 2 * wp * r[p] - (h * h) / gqq };
}

/** The best move of one row as the docs state it: candidate lists (or every pair of a group under N:M). */
function bestRef(w: ArrayLike<number>, r: ArrayLike<number>, G: ArrayLike<number>, n: number, groupSize?: number): Move | null {
  const pairs: [number, number][] = [];
  if (groupSize) {
    for (let g = 0; g < n; g += groupSize) {
      for (let a = g; a < Math.min(g + groupSize, n); a++) {
        for (let b = g; b < Math.min(g + groupSize, n); b++) if (w[a] !== 0 && w[b] === 0) pairs.push([a, b]);
      }
    }
  } else {
    const idx = [...Array(n).keys()];
    const kept = idx.filter((j) => w[j] !== 0).sort((a, b) => w[a] * w[a] * G[a * n + a] - 2 * w[a] * r[a] - (w[b] * w[b] * G[b * n + b] - 2 * w[b] * r[b]) || a - b);
    const pruned = idx.filter((j) => w[j] === 0 && G[j * n + j] > 0).sort((a, b) => (r[b] * r[b]) / G[b * n + b] - (r[a] * r[a]) / G[a * n + a] || a - b);
    for (const a of kept.slice(0, SWAP_CANDIDATES)) for (const b of pruned.slice(0, SWAP_CANDIDATES)) pairs.push([a, b]);
  }
  let best: Move | null = null;
  for (const [a, b] of pairs) {
    const mv = pairRef(w, r, G, n, a, b);
    if (mv && mv.delta < 0 && (!best || mv.delta < best.delta)) best = mv;
  }
  return best;
}

function residualRef(W: ArrayLike<number>, W0: ArrayLike<number>, G: ArrayLike<number>, m: number, n: number): Float64Array {
  const R = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) {
    const e = W[i * n + k] - W0[i * n + k];
    if (e !== 0) for (let j = 0; j < n; j++) R[i * n + j] += e * G[k * n + j];
  }
  return R;
}

/** A layer with a random mask (some rows all kept, some all pruned) or a valid N:M mask, and one dead input. */
function problem(m: number, n: number, seed: number, groupSize?: number) {
  const N = 2 * n + 3;
  const X = randn(N * n, seed);
  if (n > 2) for (let t = 0; t < N; t++) X[t * n + 1] = 0; // input 1 never fires
  const G = f32(gramRef(X, N, n));
  const W0 = f32(randn(m * n, seed + 1));
  const W = new Float32Array(W0);
  const rand = rng(seed + 2);
  for (let i = 0; i < m; i++) {
    const mode = i % 5; // 0: all kept, 1: all pruned, else random
    for (let j = 0; j < n; j++) {
      let keep = mode === 0 || (mode !== 1 && rand() < 0.4);
      if (groupSize) keep = (j % groupSize) === (i + Math.floor(j / groupSize)) % groupSize || (j % groupSize) === (i + 1 + Math.floor(j / groupSize)) % groupSize;
      if (!keep) W[i * n + j] = 0;
    }
  }
  return { G, W0, W, R: f32(residualRef(W, W0, G, m, n)) };
}

async function runBest(gpu: Gpu, m: number, n: number, t: ReturnType<typeof problem>, groupSize?: number) {
  const W = gpu.upload(t.W);
  const R = gpu.upload(t.R);
  const G = gpu.upload(t.G);
  const moveIndex = gpu.tensor([2 * m], 'u32');
  const moveValue = gpu.tensor([3 * m]);
  const partials = gpu.tensor([2 * m]);
  swapBest(gpu, { m, n }, { W, R, G, moveIndex, moveValue, partials }, { groupSize });
  const idx = new Uint32Array((await gpu.read(moveIndex)).buffer.slice(0));
  const val = await gpu.read(moveValue);
  const part = await gpu.read(partials);
  swapApply(gpu, { m, n }, { W, R, G, moveIndex, moveValue });
  const Wafter = await gpu.read(W);
  const Rafter = await gpu.read(R);
  for (const t2 of [W, R, G, moveIndex, moveValue, partials]) t2.dispose();
  return { idx, val, part, Wafter, Rafter };
}

const shapes: [number, number][] = [[1, 1], [1, 13], [37, 1], [7, 2], [5, 70], [70, 9], [3, 130]];
const nmShapes: [number, number][] = [[1, 4], [6, 12], [5, 68], [66, 8]];

describe('swap kernels against float64', () => {
  for (const [label, list, groupSize] of [['unstructured', shapes, undefined], ['2:4 groups', nmShapes, 4]] as const) {
    it(`best move and residual update, ${label}`, async () => {
      const gpu = await testGpu();
      for (const [m, n] of list) {
        const t = problem(m, n, 10 * m + n, groupSize);
        const got = await runBest(gpu, m, n, t, groupSize);
        let moves = 0;
        const Wexp = Float64Array.from(t.W);
        const Rexp = Float64Array.from(t.R);
        for (let i = 0; i < m; i++) {
          const w = t.W.subarray(i * n, (i + 1) * n);
          const r = t.R.subarray(i * n, (i + 1) * n);
          const want = bestRef(w, r, t.G, n, groupSize);
          const [p, q] = [got.idx[2 * i], got.idx[2 * i + 1]];
          const label2 = `${m}×${n} row ${i}`;
          if (!want || want.delta > -1e-4 * Math.abs(want.delta + 1)) {
            // No improving move, or one so small that f32 may refuse it.
            if (!want) expect(p, label2).toBe(NO_MOVE);
            if (p === NO_MOVE) continue;
          }
          expect(p, label2).not.toBe(NO_MOVE);
          moves++;
          // The GPU's pair scores (in float64) within round-off of the best pair.
          const mine = pairRef(w, r, t.G, n, p, q)!;
          const scale = Math.abs(want!.delta) + 1e-6;
          expect(mine.delta, label2).toBeLessThanOrEqual(want!.delta + 1e-4 * scale);
          expect(got.val[3 * i + 2], label2).toBeCloseTo(mine.delta, 3);
          expect(Math.abs(got.val[3 * i + 1] - mine.u), label2).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(mine.u)));
          expect(got.part[i]).toBe(got.val[3 * i + 2]);
          expect(got.part[m + i]).toBe(1);
          if (groupSize) expect(Math.floor(p / groupSize), label2).toBe(Math.floor(q / groupSize));
          const u = got.val[3 * i + 1];
          const wp = got.val[3 * i];
          expect(wp).toBe(t.W[i * n + p]);
          for (let j = 0; j < n; j++) Rexp[i * n + j] += u * t.G[q * n + j] - wp * t.G[p * n + j];
          Wexp[i * n + p] = 0;
          Wexp[i * n + q] = u;
        }
        if (m >= 5 && n >= 9) expect(moves, `${m}×${n}: improving moves exist`).toBeGreaterThan(0);
        for (let j = 0; j < m * n; j++) {
          expect(Math.abs(got.Wafter[j] - Wexp[j]), `${m}×${n} W[${j}]`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(Wexp[j])));
          expect(Math.abs(got.Rafter[j] - Rexp[j]), `${m}×${n} R[${j}]`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(Rexp[j])));
        }
        // The count of kept entries of every row is unchanged.
        for (let i = 0; i < m; i++) {
          const count = (a: ArrayLike<number>) => Array.from({ length: n }, (_, j) => a[i * n + j]).filter((v) => v !== 0).length;
          expect(count(got.Wafter)).toBe(count(t.W));
        }
      }
    });
  }

  it('error and support', async () => {
    const gpu = await testGpu();
    for (const [m, n] of [[1, 1], [5, 70], [3, 130]]) {
      const t = problem(m, n, m + n);
      const W = gpu.upload(t.W);
      const W0 = gpu.upload(t.W0);
      const E = gpu.tensor([m * n]);
      const support = gpu.tensor([m * n], 'u32');
      swapError(gpu, m * n, { W, W0, E, support });
      const e = await gpu.read(E);
      const sup = new Uint32Array((await gpu.read(support)).buffer.slice(0));
      for (let j = 0; j < m * n; j++) {
        expect(e[j]).toBe(Math.fround(t.W[j] - t.W0[j]));
        expect(sup[j]).toBe(t.W[j] !== 0 ? 1 : 0);
      }
      for (const x of [W, W0, E, support]) x.dispose();
    }
  });
});

function nmValid(w: Float32Array, m: number, n: number, N: number, M: number): boolean {
  for (let i = 0; i < m; i++) for (let g = 0; g < n; g += M) {
    let c = 0;
    for (let j = g; j < g + M; j++) if (w[i * n + j] !== 0) c++;
    if (c > N) return false;
  }
  return true;
}

describe('refinement after every method', () => {
  const m = 24;
  const n = 40;
  const N = 120;
  const X = randn(N * n, 5);
  const gram = f32(gramRef(X, N, n));
  const weight = f32(randn(m * n, 6));
  const layer = { m, n, weight, gram };
  const patterns: Pattern[] = [{ kind: 'unstructured', sparsity: 0.7 }, { kind: 'nm', n: 2, m: 4 }];
  for (const pattern of patterns) {
    for (const method of ['magnitude', 'wanda', 'sparsegpt', 'alps'] as Method[]) {
      it(`${method}, ${pattern.kind}: same kept count, never worse, telemetry`, async () => {
        const gpu = await testGpu();
        const plain = await solveLayer(gpu, layer, method, pattern);
        const events: number[] = [];
        const refined = await solveLayer(gpu, layer, method, pattern, {
          refine: { swaps: 30 },
          onEvent: (e) => { if (e.type === 'swaps') events.push(e.data.relError); },
        });
        const r = refined.refinement!;
        expect(r).toBeDefined();
        expect(refined.nnz).toBe(plain.nnz);
        if (pattern.kind === 'nm') expect(nmValid(refined.weight, m, n, 2, 4)).toBe(true);
        expect(r.relErrorBefore).toBeCloseTo(plain.relError, 5);
        expect(refined.relError).toBeLessThanOrEqual(plain.relError);
        expect(r.relErrorAfterSwaps).toBeLessThanOrEqual(r.relErrorBefore);
        expect(refined.relError).toBeCloseTo(relErrorRef(refined.weight, weight, gram, m, n), 4);
        expect(events.length).toBe(r.history.length);
        for (let i = 1; i < events.length; i++) expect(events[i]).toBeLessThan(events[i - 1]);
        if (r.history.length) expect(r.history[r.history.length - 1].relError).toBeCloseTo(r.relErrorAfterSwaps, 3);
        if (method === 'magnitude' || method === 'wanda') expect(r.swaps).toBeGreaterThan(0);
      });
    }
  }

  it('stops on the time budget', async () => {
    const gpu = await testGpu();
    const r = await solveLayer(gpu, layer, 'wanda', patterns[0], { refine: { swaps: 1000, ms: 0, refit: false } });
    expect(r.refinement!.rounds).toBe(0);
    expect(r.refinement!.swaps).toBe(0);
  });

  it('--refine values', () => {
    expect(parseRefine(undefined)).toBeUndefined();
    expect(parseRefine('swaps')).toEqual({ swaps: DEFAULT_REFINE_SWAPS });
    expect(parseRefine('swaps:25')).toEqual({ swaps: 25 });
    expect(parseRefine('swaps:1.5s')?.ms).toBe(1500);
    for (const bad of ['swap', 'swaps:', 'swaps:0', 'swaps:-3', 'swaps:2.5', 'swaps:0s', 'anneal:3']) expect(() => parseRefine(bad), bad).toThrow(UsageError);
    expect(() => parseRefine(true)).toThrow(/is not of the form swaps/);
  });

  it('refuses a budget that is not a whole number', async () => {
    const gpu = await testGpu();
    await expect(solveLayer(gpu, layer, 'wanda', patterns[0], { refine: { swaps: -1 } })).rejects.toThrow(/whole number/);
  });
});

describe('prune-layer --refine', () => {
  it('reports the error before and after and the swaps; bad values are one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-studio-swaps-'));
    try {
      const m = 16;
      const n = 24;
      const N = 80;
      const file = join(dir, 'layer.safetensors');
      writeFileSync(file, writeLayerProblem({ m, n, weight: f32(randn(m * n, 3)), gram: f32(gramRef(randn(N * n, 4), N, n)), rows: N }));
      const plain = await cli(['prune-layer', file, '--method', 'wanda', '--sparsity', '0.7', '--json', '--quiet']);
      const run = await cli(['prune-layer', file, '--method', 'wanda', '--sparsity', '0.7', '--refine', 'swaps:20', '--json']);
      expect(plain.code, plain.stderr).toBe(0);
      expect(run.code, run.stderr).toBe(0);
      const before = JSON.parse(plain.stdout.trim().split('\n').pop()!);
      const after = JSON.parse(run.stdout.trim().split('\n').pop()!);
      expect(before.refinement).toBeUndefined();
      const r = after.refinement;
      expect(r.relErrorBefore).toBeCloseTo(before.relError, 5);
      expect(after.relError).toBe(r.relError);
      expect(r.relError).toBeLessThan(r.relErrorBefore);
      expect(r.swaps).toBeGreaterThan(0);
      expect(r.rounds).toBeLessThanOrEqual(20);
      expect(after.nnz).toBe(before.nnz);
      expect(run.stderr).toMatch(/swap round 1: \d+ swaps/);
      const bad = await cli(['prune-layer', file, '--method', 'wanda', '--sparsity', '0.7', '--refine', 'swap:x']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/--refine "swap:x" is not of the form swaps, swaps:N \(rounds/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

const MODEL = '../shared/models/stories260K';
const TEXT = '../shared/data/tinystories-val.txt';
const present = existsSync(MODEL) && existsSync(TEXT);

describe.runIf(present)('prune --refine on stories260K', () => {
  it('refines every layer, keeps every count, reports the swaps; refuses --resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-studio-swaps-'));
    try {
      const calib = join(dir, 'calib.txt');
      writeFileSync(calib, readFileSync(TEXT, 'utf8').slice(0, 40_000));
      const args = (out: string, ...rest: string[]) => ['prune', MODEL, '--calib', calib, '--method', 'wanda', '--sparsity', '0.7', '--nsamples', '4', '--seqlen', '64', '--out', join(dir, out), ...rest];
      const refused = await cli([...args('never', '--refine', 'swaps:5', '--resume', join(dir, 'ck'))]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/--refine cannot be combined with --resume/);
      const [plain, run] = await Promise.all([cli(args('plain', '--json', '--quiet'), 400_000), cli(args('refined', '--refine', 'swaps:10', '--json', '--quiet'), 400_000)]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(run.code, run.stderr).toBe(0);
      const before = JSON.parse(plain.stdout.trimEnd().split('\n').pop()!);
      const after = JSON.parse(run.stdout.trimEnd().split('\n').pop()!);
      expect(after.layers).toHaveLength(35);
      let swaps = 0;
      for (const [i, layer] of after.layers.entries()) {
        expect(layer.nnz, layer.id).toBe(before.layers[i].nnz);
        expect(layer.refinement.rounds, layer.id).toBeLessThanOrEqual(10);
        expect(layer.relError, layer.id).toBeLessThanOrEqual(layer.refinement.relErrorBefore);
        swaps += layer.refinement.swaps;
      }
      expect(swaps).toBeGreaterThan(0);
      const saved = JSON.parse(readFileSync(join(dir, 'refined', 'prune_report.json'), 'utf8'));
      expect(saved.layers[0].refinement.swaps).toBe(after.layers[0].refinement.swaps);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe.runIf(present)('stories260K at 70 %: every linear layer with and without swaps', () => {
  it('Wanda + swaps ≤ 0.8 × Wanda (geometric mean), ALPS + swaps never worse than ALPS', async () => {
    const gpu = await testGpu();
    const model = await openModelDir(MODEL);
    const seqlen = 256;
    const windows = calibrationWindows(model.tokenizer!, readFileSync(TEXT, 'utf8'), { nsamples: 64, seqlen, seed: 0 });
    const problems = await denseLayerProblems(gpu, model, windows, seqlen);
    const pattern: Pattern = { kind: 'unstructured', sparsity: 0.7 };
    const refine = { swaps: 100 };
    const logs = { wanda: 0, wandaSwapsOnly: 0, alps: 0 };
    const ms = { wanda: 0, wandaRefine: 0, alps: 0, alpsRefine: 0 };
    const lines = ['layer | m×n | Wanda | +swaps (no refit) | +swaps+refit | swaps | ALPS | ALPS+swaps | swaps'];
    // Each method runs once; its result is refined as runSolver refines it (refineOutput).
    const refined = async (p: LayerProblem, r: SolveResult, o: RefineOptions) => {
      const out = await refineOutput(gpu, p, pattern, { ...r, weight: gpu.upload(r.weight, [p.m, p.n]) }, { refine: o });
      const weight = await gpu.read(out.weight);
      out.weight.dispose();
      let nnz = 0;
      for (const v of weight) if (v !== 0) nnz++;
      return { relError: out.relError, nnz, refinement: out.refinement! };
    };
    for (const [name, p] of problems) {
      const wanda = await solveLayer(gpu, p, 'wanda', pattern);
      const wandaSwapsOnly = await refined(p, wanda, { ...refine, refit: false });
      const wandaRefined = await refined(p, wanda, refine);
      const alps = await solveLayer(gpu, p, 'alps', pattern);
      const alpsRefined = await refined(p, alps, refine);
      expect(wandaSwapsOnly.nnz, name).toBe(wanda.nnz);
      expect(wandaRefined.nnz, name).toBe(wanda.nnz);
      expect(alpsRefined.nnz, name).toBe(alps.nnz);
      expect(alpsRefined.relError, name).toBeLessThanOrEqual(alps.relError);
      expect(wandaSwapsOnly.relError, name).toBeLessThanOrEqual(wanda.relError);
      logs.wanda += Math.log(wandaRefined.relError / wanda.relError);
      logs.wandaSwapsOnly += Math.log(wandaSwapsOnly.relError / wanda.relError);
      logs.alps += Math.log(alpsRefined.relError / alps.relError);
      ms.wanda += wanda.ms;
      ms.wandaRefine += wandaRefined.refinement!.ms;
      ms.alps += alps.ms;
      ms.alpsRefine += alpsRefined.refinement!.ms;
      lines.push([name, `${p.m}×${p.n}`, wanda.relError.toFixed(4), wandaSwapsOnly.relError.toFixed(4), wandaRefined.relError.toFixed(4), wandaRefined.refinement!.swaps,
        alps.relError.toFixed(4), alpsRefined.relError.toFixed(4), alpsRefined.refinement!.swaps].join(' | '));
    }
    const L = problems.size;
    const g = (x: number) => Math.exp(x / L).toFixed(3);
    lines.push(`geomean ratios over ${L} layers: Wanda+swaps+refit / Wanda = ${g(logs.wanda)}, Wanda+swaps (no refit) / Wanda = ${g(logs.wandaSwapsOnly)}, ALPS+swaps / ALPS = ${g(logs.alps)}`);
    lines.push(`total ms: Wanda ${ms.wanda.toFixed(0)}, its refinement ${ms.wandaRefine.toFixed(0)}; ALPS ${ms.alps.toFixed(0)}, its refinement ${ms.alpsRefine.toFixed(0)}`);
    console.log(lines.join('\n'));
    expect(L).toBe(35);
    expect(Math.exp(logs.wanda / L)).toBeLessThanOrEqual(0.8);
  });
});
