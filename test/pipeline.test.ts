/**
 * Whole-model one-shot pruning of the real stories260K checkpoint, in-process (ALGORITHMS.md,
 * "Whole-model one-shot pruning"), with every method at 50 %, 70 % unstructured and 2:4:
 *  - perplexity on held-out text is ordered ALPS < SparseGPT < min(Wanda, magnitude) per pattern;
 *  - the exported folder's every pruned matrix has exactly the requested sparsity (read back from
 *    model.safetensors), and every other tensor is byte-for-byte the input's;
 *  - the exported folder, evaluated by an independent float64 implementation (NumPy,
 *    scripts/independent_eval.py, sharing no code with the studio; else src/model/reference.ts),
 *    gives the perplexity the GPU evaluation reports, to 0.5 %.
 * Calibration: 16 windows of 128 tokens from the text before the held-out part (seed 0). Evaluation:
 * the last ~16 KB of the held-out part, 256-token windows. scripts/prune-eval.ts runs the full-size
 * matrix (32 × 256 calibration, 512-token windows over the whole held-out part).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileSource } from '../src/formats/nodeFile';
import { openSafetensors } from '../src/formats/safetensors';
import { ModelRunner } from '../src/model/forward';
import type { OpenedModel } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfTokens } from '../src/model/perplexity';
import { referenceNll } from '../src/model/reference';
import { sampleWindows } from '../src/pipeline/calibration';
import { exportPrunedModel } from '../src/pipeline/export';
import { pruneModel } from '../src/pipeline/prune';
import type { Gpu } from '../src/gpu/runtime';
import type { Method, Pattern } from '../src/solvers/types';
import { testGpu } from './helpers/gpu';

const ROOT = resolve(__dirname, '..');
const shared = resolve(ROOT, '../shared');
const MODEL = join(shared, 'models/stories260K');
const TEXT = join(shared, 'data/tinystories-val.txt');
const present = existsSync(join(MODEL, 'model.safetensors')) && existsSync(TEXT);
if (!present) console.warn(`Skipping whole-model pruning tests: ${MODEL} or ${TEXT} is absent (they live in ../shared).`);

const NSAMPLES = 16;
const CALIB_SEQLEN = 128;
const EVAL_SEQLEN = 256;
/** The held-out part starts at the first paragraph break this many characters before the end (as in scripts/prune-eval.ts). */
const HELD_OUT_CHARS = 40_000;
/** The test evaluates the end of the held-out part only, to stay within minutes on a CPU-emulated GPU. */
const EVAL_CHARS = 16_000;

/** Text from the first paragraph break at or after `from`, so that a split never cuts a story's sentence. */
function fromParagraph(text: string, from: number): number {
  const at = text.indexOf('\n\n', Math.max(0, from));
  return at < 0 ? from : at + 2;
}

/** NumPy with float64, for the independent evaluation; null where there is none. */
function numpyPython(): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' });
    if (r.status === 0) return python;
  }
  return null;
}

interface Outcome {
  method: Method;
  perplexity: number;
  independent: number;
  pruneSeconds: number;
}

const METHODS: Method[] = ['alps', 'sparsegpt', 'wanda', 'magnitude'];
const PATTERNS: [string, Pattern][] = [
  ['50%', { kind: 'unstructured', sparsity: 0.5 }],
  ['70%', { kind: 'unstructured', sparsity: 0.7 }],
  ['2:4', { kind: 'nm', n: 2, m: 4 }],
];

describe.skipIf(!present)('whole-model pruning of stories260K', () => {
  let model: OpenedModel;
  let gpu: Gpu;
  let dir: string;
  let windows: Uint32Array;
  let evalIds: number[];
  let tokensFile: string;
  let python: string | null;
  let dense: number;
  const table: string[] = [];

  beforeAll(async () => {
    model = await openModelDir(MODEL);
    gpu = await testGpu();
    dir = mkdtempSync(join(tmpdir(), 'prune-studio-pipeline-'));
    const text = readFileSync(TEXT, 'utf8');
    const split = fromParagraph(text, text.length - HELD_OUT_CHARS);
    const tokenizer = model.tokenizer!;
    windows = sampleWindows(tokenizer.encode(text.slice(0, split)), { nsamples: NSAMPLES, seqlen: CALIB_SEQLEN, seed: 0 });
    evalIds = tokenizer.encode(text.slice(fromParagraph(text, text.length - EVAL_CHARS)));
    const whole = Math.floor(evalIds.length / EVAL_SEQLEN) * EVAL_SEQLEN;
    tokensFile = join(dir, 'eval-tokens.u32');
    writeFileSync(tokensFile, new Uint8Array(Uint32Array.from(evalIds.slice(0, whole)).buffer));
    python = numpyPython();
    if (!python) console.warn('No python3 with NumPy: the independent check falls back to the float64 reference of src/model/reference.ts.');
    const runner = new ModelRunner(gpu, model.arch, model.weights);
    dense = (await perplexityOfTokens(runner, evalIds, { seqlen: EVAL_SEQLEN })).perplexity;
    runner.dispose();
    console.log(`dense perplexity ${dense.toFixed(3)} on ${whole / EVAL_SEQLEN} held-out windows of ${EVAL_SEQLEN}`);
  });

  afterAll(async () => {
    if (table.length) console.log(['pattern | ' + METHODS.join(' | '), ...table].join('\n'));
    await model?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every pruned matrix of the written model.safetensors has exactly the requested sparsity; the rest is unchanged. */
  async function checkExport(folder: string, method: Method, pattern: Pattern): Promise<void> {
    const src = await openFileSource(join(folder, 'model.safetensors'));
    const original = await openFileSource(join(MODEL, 'model.safetensors'));
    try {
      const file = await openSafetensors(src);
      const input = await openSafetensors(original);
      const linears = new Set(model.arch.blocks.flatMap((b) => b.linears.map((l) => l.weight)));
      expect([...file.tensors.keys()].sort()).toEqual([...input.tensors.keys()].sort());
      for (const [name, info] of input.tensors) {
        expect(file.tensors.get(name)!.dtype, name).toBe(info.dtype);
        expect(file.tensors.get(name)!.shape, name).toEqual(info.shape);
        if (!linears.has(name)) expect(Buffer.from(await file.readRaw(name)).equals(Buffer.from(await input.readRaw(name))), `${name} unchanged`).toBe(true);
      }
      for (const block of model.arch.blocks) {
        for (const spec of block.linears) {
          const w = await file.readF32(spec.weight);
          const [m, n] = [spec.out, spec.in];
          const where = `${method} ${spec.weight}`;
          if (pattern.kind === 'nm') {
            let zeros = 0;
            for (let g = 0; g < m * n; g += pattern.m) {
              let kept = 0;
              for (let j = 0; j < pattern.m; j++) if (w[g + j] !== 0) kept++;
              if (kept > pattern.n) expect.fail(`${where}: group at ${g} keeps ${kept} of ${pattern.m}`);
              zeros += pattern.m - kept;
            }
            expect(zeros, where).toBe((m * n * (pattern.m - pattern.n)) / pattern.m);
          } else if (method === 'wanda') {
            // Wanda's comparison group is the row: every row prunes floor(n·s).
            for (let r = 0; r < m; r++) {
              let zeros = 0;
              for (let c = 0; c < n; c++) if (w[r * n + c] === 0) zeros++;
              if (zeros !== Math.floor(n * pattern.sparsity)) expect.fail(`${where}: row ${r} has ${zeros} zeros, expected ${Math.floor(n * pattern.sparsity)}`);
            }
          } else {
            let nnz = 0;
            for (const v of w) if (v !== 0) nnz++;
            expect(nnz, where).toBe(Math.round((1 - pattern.sparsity) * m * n));
          }
        }
      }
    } finally {
      await src.close();
      await original.close();
    }
  }

  /** Perplexity of the exported folder by the independent implementation, over the same windows. */
  async function independentPerplexity(folder: string, exported: OpenedModel): Promise<number> {
    if (python) {
      const out = execFileSync(python, [join(ROOT, 'scripts/independent_eval.py'), folder, tokensFile, '--seqlen', String(EVAL_SEQLEN)], { encoding: 'utf8', timeout: 300_000 });
      return JSON.parse(out.trim().split('\n').pop()!).perplexity;
    }
    const tensors = new Map<string, Float32Array>();
    for (const name of exported.arch.tensors.keys()) tensors.set(name, await exported.weights.readF32(name));
    let sum = 0;
    let count = 0;
    for (let w = 0; (w + 1) * EVAL_SEQLEN <= evalIds.length; w++) {
      for (const v of referenceNll(exported.arch, (n) => tensors.get(n)!, evalIds.slice(w * EVAL_SEQLEN, (w + 1) * EVAL_SEQLEN))) sum += v;
      count += EVAL_SEQLEN - 1;
    }
    return Math.exp(sum / count);
  }

  for (const [label, pattern] of PATTERNS) {
    it(`${label}: ALPS < SparseGPT < min(Wanda, magnitude); exact sparsity; independent perplexity within 0.5 %`, async () => {
      const outcomes: Outcome[] = [];
      for (const method of METHODS) {
        const started = performance.now();
        const pruned = await pruneModel(gpu, model, { method, pattern, windows, seqlen: CALIB_SEQLEN });
        const pruneSeconds = (performance.now() - started) / 1000;
        const folder = join(dir, `${method}-${label.replace(/[^0-9a-z]/gi, '_')}`);
        mkdirSync(folder);
        for (const f of await exportPrunedModel(model, pruned)) writeFileSync(join(folder, f.name), f.bytes);
        await checkExport(folder, method, pattern);

        // The GPU evaluation reads the exported folder back, as `prune-studio eval` does.
        const exported = await openModelDir(folder);
        try {
          const runner = new ModelRunner(gpu, exported.arch, exported.weights);
          const ppl = (await perplexityOfTokens(runner, evalIds, { seqlen: EVAL_SEQLEN })).perplexity;
          runner.dispose();
          const independent = await independentPerplexity(folder, exported);
          console.log(
            `${label} ${method}: perplexity ${ppl.toFixed(3)} (independent ${independent.toFixed(3)}, ` +
              `${((100 * (ppl - independent)) / independent).toFixed(4)} %), pruned in ${pruneSeconds.toFixed(0)} s, ` +
              `${((performance.now() - started) / 1000).toFixed(0)} s in all`,
          );
          expect(Math.abs(ppl / independent - 1), `${label} ${method}: GPU ${ppl} vs independent ${independent}`).toBeLessThan(0.005);
          outcomes.push({ method, perplexity: ppl, independent, pruneSeconds });
        } finally {
          await exported.close();
        }
        rmSync(folder, { recursive: true, force: true });
      }
      const ppl = Object.fromEntries(outcomes.map((o) => [o.method, o.perplexity])) as Record<Method, number>;
      table.push(`${label} | ${METHODS.map((m) => ppl[m].toFixed(2)).join(' | ')}`);
      const order = `${label}: alps ${ppl.alps.toFixed(3)}, sparsegpt ${ppl.sparsegpt.toFixed(3)}, wanda ${ppl.wanda.toFixed(3)}, magnitude ${ppl.magnitude.toFixed(3)} (dense ${dense.toFixed(3)})`;
      expect(ppl.alps, order).toBeGreaterThan(dense);
      expect(ppl.alps, order).toBeLessThan(ppl.sparsegpt);
      expect(ppl.sparsegpt, order).toBeLessThan(Math.min(ppl.wanda, ppl.magnitude));
    });
  }
});
