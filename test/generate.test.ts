/**
 * The KV-cache kernels against float64; incremental decoding with them (src/model/decode.ts) and the sparse decode kernels in it
 * (src/model/decodeLinears.ts): next-token logits equal the full-sequence pass at every position;
 * greedy tokens equal `generateGreedy` with the dense kernels and with each sparse kernel forced,
 * on pruned random checkpoints of each rotary family (2:4 and 70 % unstructured, f32 overrides and
 * BF16 files), and on the bundled model; families without it fall back to the full-sequence path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAttention, kvAppend } from '../src/kernels/decode';
import { resolveArchitecture } from '../src/model/architectures';
import { parseConfig } from '../src/model/config';
import { Decoder } from '../src/model/decode';
import { ModelRunner } from '../src/model/forward';
import { memorySource } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import { generate, generateGreedy } from '../src/pipeline/generate';
import type { DecodeKernel } from '../src/shared/generation';
import { cli } from './helpers/cli';
import { checkpointFile, gemma3Checkpoint, gpt2Checkpoint, llamaCheckpoint, optCheckpoint, phi3Checkpoint, qwen3Checkpoint, randomTokens, type Checkpoint } from './helpers/checkpoints';
import { testGpu } from './helpers/gpu';
import { magnitudePrune, pruneRunnerLinears, type MagnitudeRule } from './helpers/magnitude';
import { maxAbs, maxAbsDiff, randn } from './helpers/reference';

type Rule = MagnitudeRule;
const pruneRunner = pruneRunnerLinears;

/** The same, on the checkpoint's own tensors (before it is written as a file). */
function pruneCheckpoint(ck: Checkpoint, rule: Rule): Checkpoint {
  const arch = resolveArchitecture(parseConfig(ck.config), new Map([...ck.tensors].map(([n, t]) => [n, t.shape])));
  const tensors = new Map(ck.tensors);
  for (const block of arch.blocks) {
    for (const spec of block.linears) {
      const t = ck.tensors.get(spec.weight)!;
      // Conv1D-stored weights are not used here (rotary families only).
      tensors.set(spec.weight, { shape: t.shape, data: magnitudePrune(t.data, spec.out, spec.in, rule) });
    }
  }
  return { config: ck.config, tensors };
}

/** Greedy tokens with the dense kernels and with each sparse kernel in `forced` equal the full-sequence reference. */
async function expectSameTokens(label: string, run: ModelRunner, prompt: number[], count: number, forced: DecodeKernel[][]): Promise<void> {
  const ref = await generateGreedy(run, prompt, count);
  const dense = await generate(run, prompt, count, { kernels: 'dense' });
  expect(dense.tokens, label).toEqual(ref);
  expect(Object.values(dense.kernelChoice).every((k) => k === 'dense')).toBe(true);
  for (const candidates of forced) {
    const sparse = await generate(run, prompt, count, { kernels: 'sparse', candidates });
    expect(sparse.tokens, `${label}: ${candidates.join(',')}`).toEqual(ref);
    const used = new Set(Object.values(sparse.kernelChoice));
    if (candidates.length === 1) expect([...used]).toEqual(candidates);
    expect(sparse.tokensPerSecond).toBeGreaterThan(0);
    expect(Object.keys(sparse.msPerLayerType)).toContain('other');
  }
}

describe('KV-cache kernels against float64', () => {
  it('kv_append then decode_attention: grouped heads, one and several new rows, at position 0 and later, sliding windows', async () => {
    const gpu = await testGpu();
    for (const { heads, kvHeads, headDim, rows, pos, window } of [
      { heads: 3, kvHeads: 1, headDim: 4, rows: 1, pos: 0, window: null },
      { heads: 4, kvHeads: 2, headDim: 8, rows: 3, pos: 5, window: null },
      { heads: 2, kvHeads: 2, headDim: 12, rows: 1, pos: 6, window: 3 },
      { heads: 6, kvHeads: 3, headDim: 4, rows: 4, pos: 2, window: 2 },
    ]) {
      const qCols = heads * headDim;
      const kvCols = kvHeads * headDim;
      const ld = qCols + 2 * kvCols;
      const capacity = pos + rows + 2;
      const scale = 1 / Math.sqrt(headDim);
      // Cached rows 0…pos−1 already in place; the new rows' q|k|v.
      const cache = Float32Array.from(randn(capacity * 2 * kvCols, pos + 1));
      const qkv = Float32Array.from(randn(rows * ld, pos + 2));
      const KV = gpu.upload(cache);
      const QKV = gpu.upload(qkv);
      const O = gpu.tensor([rows, qCols]);
      kvAppend(gpu, QKV, KV, { rows, pos, ld, qCols, kvCols });
      decodeAttention(gpu, QKV, KV, O, { rows, pos, ld, qCols, kvCols, heads, kvHeads, headDim, scale, window });
      const gotKv = await gpu.read(KV);
      const got = await gpu.read(O);
      const kv = Float64Array.from(cache);
      for (let r = 0; r < rows; r++) for (let c = 0; c < 2 * kvCols; c++) kv[(pos + r) * 2 * kvCols + c] = qkv[r * ld + qCols + c];
      expect(maxAbsDiff(gotKv, kv)).toBe(0);
      const ref = new Float64Array(rows * qCols);
      for (let r = 0; r < rows; r++) {
        const t = pos + r;
        for (let h = 0; h < heads; h++) {
          const g = Math.floor(h / (heads / kvHeads));
          const first = window === null ? 0 : Math.max(0, t - window + 1);
          const scores: number[] = [];
          for (let j = first; j <= t; j++) {
            let sc = 0;
            for (let d = 0; d < headDim; d++) sc += qkv[r * ld + h * headDim + d] * scale * kv[j * 2 * kvCols + g * headDim + d];
            scores.push(sc);
          }
          const top = Math.max(...scores);
          const e = scores.map((v) => Math.exp(v - top));
          const sum = e.reduce((a, v) => a + v, 0);
          for (let d = 0; d < headDim; d++) {
            let o = 0;
            for (let j = first; j <= t; j++) o += (e[j - first] / sum) * kv[j * 2 * kvCols + kvCols + g * headDim + d];
            ref[r * qCols + h * headDim + d] = o;
          }
        }
      }
      expect(maxAbsDiff(got, ref), `${heads}/${kvHeads} heads of ${headDim}, ${rows} rows at ${pos}, window ${window}`).toBeLessThan(1e-5);
      for (const t of [KV, QKV, O]) t.dispose();
    }
  });
});

describe('incremental decoding', () => {
  it('next-token logits at every position equal the full-sequence pass (llama, sliding-window mistral, qwen3, gemma 3, phi-3, GPT-2, OPT)', async () => {
    const gpu = await testGpu();
    const cks: [string, Checkpoint][] = [
      ['llama', llamaCheckpoint({ seed: 3 })],
      ['mistral', llamaCheckpoint({ modelType: 'mistral', seed: 4, extraConfig: { sliding_window: 3 } })],
      ['qwen3', qwen3Checkpoint({ seed: 5 })],
      ['gemma3', gemma3Checkpoint({ seed: 6, slidingWindow: 3 })],
      ['phi3', phi3Checkpoint({ seed: 7 })],
      // LongRoPE switching to its long factors past 4 positions, mid-decode.
      ['phi3 longrope', phi3Checkpoint({ seed: 8, longropeOriginal: 4 })],
      // Learned positions: the new rows embedded at their positions (OPT's table from offset 2).
      ['gpt2', gpt2Checkpoint({ seed: 9 })],
      ['opt', optCheckpoint({ seed: 10 })],
    ];
    for (const [family, ck] of cks) {
      const arch = resolveArchitecture(parseConfig(ck.config), new Map([...ck.tensors].map(([n, t]) => [n, t.shape])));
      const run = new ModelRunner(gpu, arch, memorySource(ck.tensors));
      const V = arch.config.vocab;
      const tokens = randomTokens(7, V, 11);
      const dec = new Decoder(run, tokens.length);
      // A prompt of 3 in one pass, then one token at a time.
      const steps = [tokens.slice(0, 3), ...tokens.slice(3).map((t) => [t])];
      let pos = 0;
      for (const step of steps) {
        pos += step.length;
        const got = await dec.step(step);
        // The full pass over the prefix (LongRoPE's factors depend on its length).
        const ref = (await run.forwardLogits(tokens.slice(0, pos), 1, pos)).subarray((pos - 1) * V, pos * V);
        expect(maxAbsDiff(got, ref) / Math.max(1, maxAbs(ref)), `${family} position ${pos - 1}`).toBeLessThan(1e-5);
      }
      await expect(dec.step([0])).rejects.toThrow(/exceed the cache/);
      dec.dispose();
      run.dispose();
    }
  });

  it('2:4 and 70 % unstructured: greedy tokens identical with dense and sparse kernels, equal to generateGreedy', async () => {
    const gpu = await testGpu();
    const cases: [string, Checkpoint, Rule, DecodeKernel[][]][] = [
      ['llama 2:4', llamaCheckpoint({ seed: 21, hidden: 48, intermediate: 72 }), { n: 2, m: 4 }, [['nm'], ['csr'], ['dense', 'nm', 'csr', 'bitmask']]],
      ['qwen2 70 %', llamaCheckpoint({ modelType: 'qwen2', seed: 22 }), { sparsity: 0.7 }, [['csr'], ['bitmask']]],
      ['mistral 4:8', llamaCheckpoint({ modelType: 'mistral', seed: 23, extraConfig: { sliding_window: 4 } }), { n: 4, m: 8 }, [['nm']]],
      ['qwen3 70 %', qwen3Checkpoint({ seed: 24 }), { sparsity: 0.7 }, [['bitmask']]],
      ['gemma3 2:4', gemma3Checkpoint({ seed: 25, slidingWindow: 4 }), { n: 2, m: 4 }, [['nm']]],
      ['phi3 70 %', phi3Checkpoint({ seed: 26 }), { sparsity: 0.7 }, [['csr']]],
    ];
    for (const [label, ck, rule, forced] of cases) {
      const arch = resolveArchitecture(parseConfig(ck.config), new Map([...ck.tensors].map(([n, t]) => [n, t.shape])));
      const run = new ModelRunner(gpu, arch, memorySource(ck.tensors));
      await pruneRunner(run, rule);
      await expectSameTokens(label, run, randomTokens(4, arch.config.vocab, 5), 8, forced);
      run.dispose();
    }
  });

  it('a BF16 checkpoint keeps its 16-bit values in the sparse forms, with the same tokens', async () => {
    const gpu = await testGpu();
    const dir = mkdtempSync(join(tmpdir(), 'decode-bf16-'));
    try {
      const ck = pruneCheckpoint(llamaCheckpoint({ seed: 31 }), { n: 2, m: 4 });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(ck.config));
      writeFileSync(join(dir, 'model.safetensors'), checkpointFile(ck, 'BF16'));
      const model = await openModelDir(dir);
      const run = new ModelRunner(gpu, model.arch, model.weights);
      const w = await run.store.block(0);
      expect([...w.linears.values()][0].w.format).toBe('bf16');
      await expectSameTokens('llama bf16 2:4', run, randomTokens(3, model.arch.config.vocab, 8), 6, [['nm'], ['bitmask']]);
      run.dispose();
      await model.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the bundled model pruned at 2:4: dense and sparse tokens identical to generateGreedy; the kernel race covers every linear', async () => {
    const gpu = await testGpu();
    const model = await openModelDir(resolve(__dirname, '..', 'public', 'default-model'));
    const run = new ModelRunner(gpu, model.arch, model.weights);
    await pruneRunner(run, { n: 2, m: 4 });
    const prompt = model.tokenizer!.encode('Once upon a time');
    await expectSameTokens('bundled 2:4', run, prompt, 10, [['nm'], ['dense', 'nm', 'csr', 'bitmask']]);
    const raced = await generate(run, prompt, 2, { kernels: 'sparse' });
    expect(Object.keys(raced.kernelChoice)).toHaveLength(model.arch.blocks.reduce((s, b) => s + b.linears.length, 0));
    // A later generation given that choice (the studio's second click) times only the chosen kernel of each linear.
    const given = { ...raced.kernelChoice, '0.self_attn.q_proj': 'csr' as const, '0.mlp.up_proj': 'bitmask' as const, '0.self_attn.o_proj': 'dense' as const };
    const reused = await generate(run, prompt, 10, { kernels: 'sparse', kernelChoice: given });
    expect(reused.kernelChoice).toEqual(given);
    expect(reused.tokens).toEqual((await generate(run, prompt, 10, { kernels: 'dense' })).tokens);
    // Per role (q_proj → q, …), only the kernels chosen for its linears were timed: no race.
    const chosen: Record<string, Set<string>> = {};
    for (const [linear, kernel] of Object.entries(given)) (chosen[linear.split('.').pop()!.replace(/_proj$/, '')] ??= new Set()).add(kernel);
    for (const [role, ms] of Object.entries(reused.candidateMs)) expect(new Set(Object.keys(ms)), role).toEqual(chosen[role]);
    run.dispose();
    await model.close();
  });

  it('GPT-2 (learned positions): KV-cache tokens equal generateGreedy with sparse kernels; the cache stops at the position table', async () => {
    const gpu = await testGpu();
    const ck = gpt2Checkpoint({ seed: 41 });
    const arch = resolveArchitecture(parseConfig(ck.config), new Map([...ck.tensors].map(([n, t]) => [n, t.shape])));
    const run = new ModelRunner(gpu, arch, memorySource(ck.tensors));
    await pruneRunner(run, { sparsity: 0.7 });
    const prompt = randomTokens(3, arch.config.vocab, 2);
    const res = await generate(run, prompt, 4, { kernels: 'sparse' });
    expect(res.tokens).toEqual(await generateGreedy(run, prompt, 4));
    // Asked for more than the learned positions hold: it stops at the table's end.
    const table = run.maxSeqlen();
    expect((await generate(run, prompt, table + 5)).tokens).toHaveLength(table - prompt.length);
    expect(() => new Decoder(run, table + 1)).toThrow(/exceed this model's \d+ learned positions/);
    run.dispose();
  });

  it('prune-studio generate: the text, tokens/s, time per layer type and kernels; --json; bad options in one line', async () => {
    const dir = resolve(__dirname, '..', 'public', 'default-model');
    const run = await cli(['generate', dir, '--prompt', 'Once upon a time', '--max-new-tokens', '6', '--kernels', 'dense', '--json', '--quiet'], 120_000);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0].startsWith('Once upon a time')).toBe(true);
    expect(run.stdout).toMatch(/6 tokens, [\d.]+ tokens\/s/);
    expect(run.stdout).toMatch(/time per token by layer type \((gpu-timestamps|wall-clock)\): q [\d.]+ ms/);
    expect(run.stdout).toMatch(/mlp\.down_proj: dense ×4/);
    const report = JSON.parse(lines[lines.length - 1]);
    expect(report.tokens).toHaveLength(6);
    expect(lines[0]).toBe(`Once upon a time${report.text}`);
    const model = await openModelDir(dir);
    const runner = new ModelRunner(await testGpu(), model.arch, model.weights);
    expect(report.tokens).toEqual(await generateGreedy(runner, model.tokenizer!.encode('Once upon a time'), 6));
    runner.dispose();
    await model.close();
    const bad = await cli(['generate', dir, '--prompt', 'x', '--kernels', 'fast'], 60_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--kernels "fast" is not one of dense, sparse/);
  });
});
