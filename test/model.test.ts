/** Configs, architectures, loading, tokenizer and perplexity bookkeeping (CPU only). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { writeSafetensors } from '../src/formats/safetensors';
import { describeArchitecture, fromStored, resolveArchitecture, toStored, type Architecture } from '../src/model/architectures';
import { attentionScale, parseConfig, ropeInvFreq } from '../src/model/config';
import type { ModelRunner } from '../src/model/forward';
import { openModel, type ModelFolder } from '../src/model/loader';
import { openModelDir } from '../src/model/nodeFolder';
import { perplexityOfTokens } from '../src/model/perplexity';
import { referenceLogits } from '../src/model/reference';
import { loadTokenizer } from '../src/model/tokenizer';
import { gpt2Checkpoint, llamaCheckpoint, optCheckpoint, type Checkpoint } from './helpers/checkpoints';

const shared = resolve(__dirname, '../../shared');
const stories = join(shared, 'models/stories260K');
const haveStories = existsSync(join(stories, 'model.safetensors'));
if (!haveStories) console.warn(`Skipping stories260K checks: ${stories} is absent (it lives in ../shared).`);

function shapes(ck: Checkpoint): Map<string, number[]> {
  return new Map([...ck.tensors].map(([n, t]) => [n, t.shape]));
}

describe('config.json parsing', () => {
  it('reads a llama config (stories260K values)', () => {
    const c = parseConfig({
      model_type: 'llama',
      hidden_size: 64,
      intermediate_size: 172,
      num_hidden_layers: 5,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      vocab_size: 512,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      hidden_act: 'silu',
      tie_word_embeddings: true,
    });
    expect(c).toMatchObject({ family: 'llama', hidden: 64, heads: 8, kvHeads: 4, headDim: 8, intermediate: 172, norm: 'rms', gatedMlp: true, tieEmbeddings: true, qkvBias: false });
    expect(attentionScale(c, 3)).toBeCloseTo(1 / Math.sqrt(8), 12);
  });

  it('knows each family’s biases, norms, activations and positions', () => {
    expect(parseConfig(llamaCheckpoint({ modelType: 'qwen2' }).config)).toMatchObject({ qkvBias: true, oBias: false, mlpBias: false, tieEmbeddings: false });
    expect(parseConfig(llamaCheckpoint({ attentionBias: true, mlpBias: true }).config)).toMatchObject({ qkvBias: true, oBias: true, mlpBias: true });
    expect(parseConfig(gpt2Checkpoint().config)).toMatchObject({ family: 'gpt2', norm: 'layer', activation: 'gelu_tanh', positions: 'learned', intermediate: 128, tieEmbeddings: true });
    expect(parseConfig(optCheckpoint().config)).toMatchObject({ family: 'opt', activation: 'relu', positionOffset: 2, normEps: 1e-5 });
    const scaled = parseConfig({ ...gpt2Checkpoint().config, scale_attn_by_inverse_layer_idx: true });
    expect(attentionScale(scaled, 2)).toBeCloseTo(1 / Math.sqrt(8) / 3, 12);
  });

  it('refuses what it cannot reproduce, naming it and what is supported', () => {
    expect(() => parseConfig({ model_type: 'gpt_neox' })).toThrow(/Unsupported model_type "gpt_neox".*llama, mistral, qwen2, qwen3, gemma3_text, phi3, gpt2, opt/);
    expect(() => parseConfig({ ...llamaCheckpoint().config, hidden_act: 'gelu_10' })).toThrow(/hidden_act="gelu_10".*silu/);
    expect(() => parseConfig({ ...llamaCheckpoint().config, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(/rope_scaling type "yarn".*linear, llama3/);
    expect(() => parseConfig({ ...optCheckpoint().config, word_embed_proj_dim: 16 })).toThrow(/word_embed_proj_dim=16/);
    expect(() => parseConfig({ ...optCheckpoint().config, do_layer_norm_before: false })).toThrow(/do_layer_norm_before=false/);
    expect(() => parseConfig({ ...llamaCheckpoint().config, num_key_value_heads: 3 })).toThrow(/num_key_value_heads=3/);
    expect(() => parseConfig({ ...llamaCheckpoint().config, hidden_size: undefined })).toThrow(/hidden_size/);
  });

  it('applies linear and llama3 rope scaling to the inverse frequencies', () => {
    const base = { ...llamaCheckpoint({ hidden: 64, heads: 1, kvHeads: 1 }).config, rope_theta: 500000 };
    const plain = ropeInvFreq(parseConfig(base));
    const linear = ropeInvFreq(parseConfig({ ...base, rope_scaling: { type: 'linear', factor: 4 } }));
    plain.forEach((f, i) => expect(linear[i]).toBeCloseTo(f / 4, 15));
    const l3 = ropeInvFreq(
      parseConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }),
    );
    let kept = 0;
    let slowed = 0;
    let blended = 0;
    plain.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < 8192 / 4) {
        expect(l3[i]).toBe(f);
        kept++;
      } else if (wavelen > 8192) {
        expect(l3[i]).toBeCloseTo(f / 8, 15);
        slowed++;
      } else {
        expect(l3[i]).toBeLessThanOrEqual(f);
        expect(l3[i]).toBeGreaterThanOrEqual(f / 8);
        blended++;
      }
    });
    expect(kept * slowed * blended).toBeGreaterThan(0);
  });
});

describe('architectures', () => {
  it('lists linears with HF names, nn.Linear shapes and pruning groups', () => {
    const llama = resolveArchitecture(parseConfig(llamaCheckpoint().config), shapes(llamaCheckpoint()));
    const b1 = llama.blocks[1];
    expect(b1.linears.map((l) => [l.weight, l.out, l.in])).toEqual([
      ['model.layers.1.self_attn.q_proj.weight', 32, 32],
      ['model.layers.1.self_attn.k_proj.weight', 16, 32],
      ['model.layers.1.self_attn.v_proj.weight', 16, 32],
      ['model.layers.1.self_attn.o_proj.weight', 32, 32],
      ['model.layers.1.mlp.gate_proj.weight', 40, 32],
      ['model.layers.1.mlp.up_proj.weight', 40, 32],
      ['model.layers.1.mlp.down_proj.weight', 32, 40],
    ]);
    expect(b1.groups).toEqual([['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], ['self_attn.o_proj'], ['mlp.gate_proj', 'mlp.up_proj'], ['mlp.down_proj']]);
    expect(llama.lmHead).toBe('lm_head.weight');

    const gpt2 = resolveArchitecture(parseConfig(gpt2Checkpoint().config), shapes(gpt2Checkpoint()));
    expect(gpt2.prefix).toBe('transformer.');
    expect(gpt2.blocks[0].groups).toEqual([['attn.c_attn'], ['attn.c_proj'], ['mlp.c_fc'], ['mlp.c_proj']]);
    expect(gpt2.blocks[0].linears.map((l) => [l.name, l.out, l.in, l.conv1d, l.bias])).toEqual([
      ['attn.c_attn', 96, 32, true, 'transformer.h.0.attn.c_attn.bias'],
      ['attn.c_proj', 32, 32, true, 'transformer.h.0.attn.c_proj.bias'],
      ['mlp.c_fc', 128, 32, true, 'transformer.h.0.mlp.c_fc.bias'],
      ['mlp.c_proj', 32, 128, true, 'transformer.h.0.mlp.c_proj.bias'],
    ]);
    expect(gpt2.lmHead).toBe('transformer.wte.weight');
    expect(resolveArchitecture(parseConfig(gpt2Checkpoint().config), shapes(gpt2Checkpoint({ prefix: '' }))).embed).toBe('wte.weight');

    const opt = resolveArchitecture(parseConfig(optCheckpoint().config), shapes(optCheckpoint()));
    expect(opt.blocks[0].groups).toEqual([['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], ['self_attn.out_proj'], ['fc1'], ['fc2']]);
    expect(opt.positions).toBe('model.decoder.embed_positions.weight');
    expect(opt.finalNorm.weight).toBe('model.decoder.final_layer_norm.weight');
  });

  it('names the missing or misshapen tensor', () => {
    const ck = llamaCheckpoint();
    const config = parseConfig(ck.config);
    const missing = shapes(ck);
    missing.delete('model.layers.1.mlp.up_proj.weight');
    expect(() => resolveArchitecture(config, missing)).toThrow(/lacks tensor model\.layers\.1\.mlp\.up_proj\.weight/);
    const wrong = shapes(ck);
    wrong.set('model.layers.0.self_attn.k_proj.weight', [32, 32]);
    expect(() => resolveArchitecture(config, wrong)).toThrow(/model\.layers\.0\.self_attn\.k_proj\.weight has shape \[32, 32\].*\[16, 32\]/);
    const untied = shapes(ck);
    untied.delete('lm_head.weight');
    expect(() => resolveArchitecture(config, untied)).toThrow(/lm_head\.weight.*tie_word_embeddings=false/);
    expect(() => resolveArchitecture(config, new Map([['foo', [1]]]))).toThrow(/no token embedding \(model\.embed_tokens\.weight or embed_tokens\.weight\)/);
    const qwen = llamaCheckpoint({ modelType: 'qwen2' });
    const noBias = shapes(qwen);
    noBias.delete('model.layers.0.self_attn.q_proj.bias');
    expect(() => resolveArchitecture(parseConfig(qwen.config), noBias)).toThrow(/q_proj\.bias/);
  });

  it('transposes Conv1D weights to nn.Linear layout and back', () => {
    const arch = describeArchitecture(parseConfig(gpt2Checkpoint({ hidden: 8, heads: 2 }).config));
    const spec = arch.blocks[0].linears[0]; // c_attn: stored [8, 24], linear [24, 8]
    const stored = Float32Array.from({ length: 8 * 24 }, (_, i) => i);
    const w = fromStored(spec, stored);
    expect(w[1 * 8 + 0]).toBe(stored[0 * 24 + 1]); // W[out=1, in=0] = stored[in=0, out=1]
    expect(toStored(spec, w)).toEqual(stored);
  });
});

describe('loading a model folder', () => {
  it('opens config + safetensors + tokenizer from any file provider and checks vocabularies', async () => {
    const ck = llamaCheckpoint({ vocab: 600, tie: true });
    const bytes = writeSafetensors([...ck.tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data })));
    const files: Record<string, string | Uint8Array> = { 'config.json': JSON.stringify(ck.config), 'model.safetensors': bytes };
    if (haveStories) {
      files['tokenizer.json'] = readFileSync(join(stories, 'tokenizer.json'), 'utf8');
      files['tokenizer_config.json'] = readFileSync(join(stories, 'tokenizer_config.json'), 'utf8');
    }
    const folder: ModelFolder = {
      name: 'mem',
      files: () => Object.keys(files),
      text: async (f) => files[f] as string,
      bytes: async (f) => bytesSource(files[f] as Uint8Array, f),
    };
    const model = await openModel(folder);
    expect(model.arch.blocks).toHaveLength(2);
    const w = await model.weights.readF32('model.layers.1.mlp.down_proj.weight');
    expect(w).toEqual(ck.tensors.get('model.layers.1.mlp.down_proj.weight')!.data);
    if (haveStories) {
      expect(model.tokenizer!.vocabSize).toBe(512);
      // The same tokenizer with a model whose table is smaller than its vocabulary.
      files['config.json'] = JSON.stringify({ ...ck.config, vocab_size: 300 });
      const small = llamaCheckpoint({ vocab: 300, tie: true });
      files['model.safetensors'] = writeSafetensors([...small.tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data })));
      await expect(openModel(folder)).rejects.toThrow(/tokenizer has 512 tokens but the model's vocab_size is 300/);
    }
    delete files['config.json'];
    await expect(openModel(folder)).rejects.toThrow(/no config\.json/);
  });

  it.skipIf(!haveStories)('opens stories260K from disk; the tokenizer adds one BOS and round-trips', async () => {
    const model = await openModelDir(stories);
    expect(model.config).toMatchObject({ modelType: 'llama', hidden: 64, layers: 5, heads: 8, kvHeads: 4, vocab: 512, tieEmbeddings: true });
    expect(model.arch.prefix).toBe('model.');
    const text = 'Once upon a time, there was a little dog.\n\nHe liked to run.';
    const ids = model.tokenizer!.encode(text);
    expect(ids[0]).toBe(1);
    expect(ids.filter((t) => t === 1)).toHaveLength(1);
    expect(model.tokenizer!.decode(ids.slice(1))).toBe(text);
    await model.close();
  });

  it.skipIf(!haveStories)('refuses a tokenizer larger than the model vocabulary, naming both sizes', () => {
    const tj = JSON.parse(readFileSync(join(stories, 'tokenizer.json'), 'utf8'));
    const config = parseConfig({ ...llamaCheckpoint({ vocab: 100 }).config });
    expect(() => loadTokenizer(tj, {}, config)).toThrow(/512 tokens.*vocab_size is 100/);
  });
});

describe('perplexity bookkeeping', () => {
  it('uses consecutive full windows, drops the partial one and averages over predicted tokens', async () => {
    const calls: number[][] = [];
    // A stand-in runner: the NLL of row r is the token id, NaN on each window's last row.
    const fake = {
      bytesPerRow: () => 1000,
      maxBatchRows: () => 1e9,
      windowsNll: async (tokens: ArrayLike<number>, windows: number, seqlen: number) => {
        calls.push([windows, tokens[0]]);
        return Float64Array.from({ length: windows * seqlen }, (_, r) => ((r + 1) % seqlen === 0 ? NaN : tokens[r]));
      },
    } as unknown as ModelRunner;
    const ids = Array.from({ length: 23 }, (_, i) => i);
    const r = await perplexityOfTokens(fake, ids, { seqlen: 5, windowsPerBatch: 3 });
    expect(calls).toEqual([[3, 0], [1, 15]]);
    expect(r).toMatchObject({ windows: 4, tokens: 20, predicted: 16, textTokens: 23 });
    const predicted = [0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18];
    expect(r.nll).toBeCloseTo(predicted.reduce((a, b) => a + b, 0) / 16, 12);
    expect(r.perplexity).toBeCloseTo(Math.exp(r.nll), 12);
    await expect(perplexityOfTokens(fake, ids, { seqlen: 30 })).rejects.toThrow(/23 tokens, fewer than one window of 30/);
  });
});

describe('float64 reference', () => {
  it('is causal and restarts positions per call', () => {
    const ck = llamaCheckpoint({ seed: 2 });
    const arch: Architecture = resolveArchitecture(parseConfig(ck.config), shapes(ck));
    const get = (n: string) => ck.tensors.get(n)!.data;
    const V = arch.config.vocab;
    const a = referenceLogits(arch, get, [3, 7, 11, 5]);
    const b = referenceLogits(arch, get, [3, 7, 11, 42]);
    // Changing the last token changes only the last row.
    for (let i = 0; i < 3 * V; i++) expect(a[i]).toBe(b[i]);
    expect(a.subarray(3 * V).some((v, i) => v !== b[3 * V + i])).toBe(true);
  });
});
