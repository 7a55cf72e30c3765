/**
 * docs/algorithms.md's reference numbers on a real model: on the 35 linear layers of stories260K with
 * grams from 64 windows × 256 tokens of TinyStories, ALPS's relative error is 0.69× SparseGPT's
 * (geometric mean) at 70 % unstructured and 0.81× at 2:4. Every layer must keep exactly k weights
 * (or a valid N:M mask) and order the methods ALPS < SparseGPT < min(Wanda, magnitude).
 */
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerRatios } from '../src/bench/layerRatios';
import type { OpenedModel } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import type { Method } from '../src/shared/methods';
import type { Pattern } from '../src/shared/pattern';
import { testGpu } from './helpers/gpu';

const MODEL = '../shared/models/stories260K';
const TEXT = '../shared/data/tinystories-val.txt';
const present = existsSync(MODEL) && existsSync(TEXT);
if (!present) console.warn(`skipping the stories260K layer ratios: ${MODEL} or ${TEXT} is absent`);

const methods: Method[] = ['alps', 'sparsegpt', 'wanda', 'magnitude'];

describe.runIf(present)('stories260K: every linear layer, every method', () => {
  let model: OpenedModel;
  let text: string;
  beforeAll(async () => {
    model = await openModelDir(MODEL);
    text = readFileSync(TEXT, 'utf8');
  });

  const cases: [string, Pattern, number][] = [
    ['70% unstructured', { kind: 'unstructured', sparsity: 0.7 }, 0.69],
    ['2:4', { kind: 'nm', n: 2, m: 4 }, 0.81],
  ];
  for (const [label, pattern, expected] of cases) {
    it(`${label}: ALPS/SparseGPT geometric mean ≈ ${expected}`, async () => {
      const gpu = await testGpu();
      const report = await layerRatios(gpu, model, text, pattern, { nsamples: 64, seqlen: 256, seed: 0, methods });
      expect(report.rows.length).toBe(35);
      for (const row of report.rows) {
        const [m, n] = row.shape;
        const k = pattern.kind === 'unstructured' ? Math.round((1 - pattern.sparsity) * m * n) : (m * n * pattern.n) / pattern.m;
        for (const method of ['alps', 'sparsegpt', 'magnitude'] as const) expect(row.nnz[method], `${row.layer} ${method}`).toBe(k);
        expect(row.errors.alps, row.layer).toBeLessThan(row.errors.sparsegpt);
        expect(row.errors.sparsegpt, row.layer).toBeLessThan(Math.min(row.errors.wanda, row.errors.magnitude));
      }
      const ratio = report.geomeanRatio('alps', 'sparsegpt');
      console.log(`${label}: geomean ALPS/SparseGPT = ${ratio.toFixed(3)}, ALPS/Wanda = ${report.geomeanRatio('alps', 'wanda').toFixed(3)}`);
      expect(Math.abs(ratio - expected) / expected).toBeLessThan(0.04);
    });
  }
});
