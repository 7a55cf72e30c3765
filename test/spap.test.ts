import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { columnEnergy, gatherColumns, gatherSquare, penalisedGram, zeroColumns } from '../src/kernels/spap';
import { ModelRunner } from '../src/model/forward';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfText } from '../src/model/perplexity';
import { calibrationWindows } from '../src/pipeline/calibration';
import { exportModel } from '../src/pipeline/export';
import { denseLayerProblems } from '../src/pipeline/prune';
import { applyStructured, pruneMlpChannels, structuredEdits } from '../src/pipeline/structured';
import { bottomChannels, pruneChannels } from '../src/solvers/spap';
import { testGpu } from './helpers/gpu';
import { f32, maxAbsDiff, randn } from './helpers/reference';
import { choleskySolve, correlatedGram, relErrorRef } from './helpers/solversReference';

describe('SPAP kernels against CPU references', () => {
  it('penalised gram, column energy, zeroed columns and gathers on awkward shapes', async () => {
    const gpu = await testGpu();
    for (const [m, n] of [
      [1, 1],
      [1, 9],
      [13, 1],
      [37, 70],
    ]) {
      const H = f32(randn(n * n, n));
      const B = f32(randn(m * n, m + n));
      const s = Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 1 : 0));
      const kept = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 1);
      const k = kept.length;
      const tH = gpu.upload(H, [n, n]);
      const tB = gpu.upload(B, [m, n]);
      const tS = gpu.upload(s);
      const tK = gpu.upload(k ? kept : new Uint32Array(1));
      const A = gpu.tensor([n, n]);
      const e = gpu.tensor([n]);
      const z = gpu.tensor([m, n]);
      const gc = gpu.tensor([Math.max(m * k, 1)]);
      const gs = gpu.tensor([Math.max(k * k, 1)]);
      penalisedGram(gpu, n, tH, tS, A, 0.37);
      columnEnergy(gpu, m, n, tB, e);
      zeroColumns(gpu, m, n, tB, tS, z);
      gatherColumns(gpu, m, n, tB, tK, k, gc);
      gatherSquare(gpu, n, tH, tK, k, gs);
      const [a, en, zz, c, q] = await Promise.all([gpu.read(A), gpu.read(e), gpu.read(z), gpu.read(gc, m * k), gpu.read(gs, k * k)]);
      expect(maxAbsDiff(a, H.map((v, i) => v + (i % (n + 1) === 0 ? 0.37 * s[i / (n + 1)] : 0)))).toBeLessThan(1e-6);
      const energyRef = Array.from({ length: n }, (_, j) => Array.from({ length: m }, (_, r) => B[r * n + j] ** 2).reduce((x, y) => x + y, 0));
      expect(maxAbsDiff(en, energyRef)).toBeLessThan(1e-4);
      expect(Array.from(zz)).toEqual(Array.from(B, (v, i) => (s[i % n] ? 0 : v)));
      expect(Array.from(c)).toEqual(Array.from({ length: m * k }, (_, i) => B[Math.floor(i / k) * n + kept[i % k]]));
      expect(Array.from(q)).toEqual(Array.from({ length: k * k }, (_, i) => H[kept[Math.floor(i / k)] * n + kept[i % k]]));
      for (const t of [tH, tB, tS, tK, A, e, z, gc, gs]) t.dispose();
    }
  });

  it('bottomChannels is exact with ties going to the lower index', () => {
    expect(Array.from(bottomChannels([3, 1, 1, 0, 2], 3))).toEqual([0, 1, 1, 1, 0]);
  });
});

describe('channel pruning of one layer', () => {
  it('refits down_proj exactly on the kept channels (float64 least squares)', async () => {
    const gpu = await testGpu();
    const m = 11;
    const n = 30;
    const gram = f32(correlatedGram(3 * n, n, 4, randn));
    const weight = f32(randn(m * n, 5));
    for (const selection of ['weight-norm', 'activation-norm', 'spap'] as const) {
      const r = await pruneChannels(gpu, { m, n, weight, gram }, 9, selection);
      expect(r.kept.length).toBe(21);
      expect(r.removed.length).toBe(9);
      // Reference: min over W_K of tr((W−W0)H(W−W0)ᵀ) with W_{:,removed} = 0 and the same damping.
      let trace = 0;
      for (let i = 0; i < n; i++) trace += gram[i * n + i];
      const lambda = (0.01 * trace) / n;
      const K = r.kept;
      const Hkk = new Float64Array(K.length * K.length);
      K.forEach((a, i) => K.forEach((b, j) => (Hkk[i * K.length + j] = gram[a * n + b] + (a === b ? lambda : 0))));
      // rhs (K×m): (H W0ᵀ)_K, damped likewise.
      const rhs = new Float64Array(K.length * m);
      K.forEach((a, i) => {
        for (let row = 0; row < m; row++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc += (gram[a * n + j] + (a === j ? lambda : 0)) * weight[row * n + j];
          rhs[i * m + row] = acc;
        }
      });
      const sol = choleskySolve(Hkk, K.length, rhs, m);
      const ref = new Float64Array(m * K.length);
      for (let row = 0; row < m; row++) for (let i = 0; i < K.length; i++) ref[row * K.length + i] = sol[i * m + row];
      expect(maxAbsDiff(r.weight, ref)).toBeLessThan(2e-3 * Math.max(...ref.map(Math.abs)));
      const full = new Float64Array(m * n);
      for (let row = 0; row < m; row++) K.forEach((c, i) => (full[row * n + c] = r.weight[row * K.length + i]));
      expect(Math.abs(relErrorRef(full, weight, gram, m, n) - r.relError) / r.relError).toBeLessThan(1e-3);
      if (selection === 'spap') {
        expect(r.steps.length).toBeGreaterThan(1);
        expect(r.steps.at(-1)!.penaltyMass).toBeLessThan(0.01);
      }
    }
  });

  it('rejects removing every channel', async () => {
    const gpu = await testGpu();
    const p = { m: 2, n: 4, weight: new Float32Array(8).fill(1), gram: f32(correlatedGram(8, 4, 1, randn)) };
    await expect(pruneChannels(gpu, p, 4, 'spap')).rejects.toThrow(/keep at least one/);
  });
});

const MODEL = '../shared/models/stories260K';
const TEXT = '../shared/data/tinystories-val.txt';
const present = existsSync(MODEL) && existsSync(TEXT);
if (!present) console.warn(`skipping SPAP on stories260K: ${MODEL} or ${TEXT} is absent`);

describe.runIf(present)('SPAP on stories260K', () => {
  it('beats both baselines on every down_proj at 20 % and 40 %', async () => {
    const gpu = await testGpu();
    const model = await openModelDir(MODEL);
    const windows = calibrationWindows(model.tokenizer!, readFileSync(TEXT, 'utf8'), { nsamples: 8, seqlen: 128, seed: 0 });
    const problems = await denseLayerProblems(gpu, model, windows, 128);
    for (const [id, p] of problems) {
      if (!id.endsWith('down_proj')) continue;
      for (const fraction of [0.2, 0.4]) {
        const remove = Math.round(fraction * p.n);
        const errors: number[] = [];
        for (const sel of ['spap', 'weight-norm', 'activation-norm'] as const) errors.push((await pruneChannels(gpu, p, remove, sel)).relError);
        expect(errors[0], `${id} ${fraction}`).toBeLessThan(errors[1]);
        expect(errors[0], `${id} ${fraction}`).toBeLessThan(errors[2] * (1 + 1e-6));
      }
    }
  });

  it('exports a smaller checkpoint that loads and evaluates as in memory', async () => {
    const gpu = await testGpu();
    const model = await openModelDir(MODEL);
    const text = readFileSync(TEXT, 'utf8');
    const windows = calibrationWindows(model.tokenizer!, text, { nsamples: 4, seqlen: 64, seed: 0 });
    const pruned = await pruneMlpChannels(gpu, model, { selection: 'spap', fraction: 0.25, windows, seqlen: 64 });
    expect(pruned.configPatch).toEqual({ intermediate_size: 129 });
    expect(pruned.parameters.after).toBe(pruned.parameters.before - 5 * 43 * 3 * 64);
    const dir = mkdtempSync(join(tmpdir(), 'spap-export-'));
    for (const f of await exportModel(model, structuredEdits(pruned))) writeFileSync(join(dir, f.name), f.bytes);
    const reloaded = await openModelDir(dir);
    expect(reloaded.config.intermediate).toBe(129);
    expect(reloaded.weights.shapes.get('model.layers.0.mlp.down_proj.weight')).toEqual([64, 129]);
    expect(reloaded.weights.shapes.get('model.layers.3.mlp.gate_proj.weight')).toEqual([129, 64]);
    const sample = text.slice(0, 6000);
    const inMemory = new ModelRunner(gpu, model.arch, model.weights);
    applyStructured(inMemory, model, pruned);
    const a = await perplexityOfText(inMemory, model.tokenizer!, sample, { seqlen: 128 });
    inMemory.dispose();
    const fromDisk = new ModelRunner(gpu, reloaded.arch, reloaded.weights);
    const b = await perplexityOfText(fromDisk, reloaded.tokenizer!, sample, { seqlen: 128 });
    fromDisk.dispose();
    expect(Math.abs(a.perplexity - b.perplexity) / a.perplexity).toBeLessThan(1e-4);
    await reloaded.close();
    await model.close();
  });
});
