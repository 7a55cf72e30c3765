// Checks the bundled default model in public/default-model/ (built by
// scripts/default-model/train.py): tokenizer round trips and BOS, the Llama
// config, the safetensors header against the config, the size budget, and the
// shipped calibration/evaluation texts.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';

const dir = resolve(__dirname, '..', 'public', 'default-model');
const shared = resolve(__dirname, '..', '..', 'shared');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- config.json fields are checked one by one below
const readJson = (name: string): any => JSON.parse(readFileSync(join(dir, name), 'utf8'));
const readText = (name: string): string => readFileSync(join(dir, name), 'utf8');

const config = readJson('config.json');
const metrics = readJson('metrics.json');
const tokenizerJson = readJson('tokenizer.json');
const tokenizerConfig = readJson('tokenizer_config.json');
const evaluation = readText('evaluation.txt');
const calibration = readText('calibration.txt');
const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);

/** Same checksum as train.py: sum((i + 1) * id) mod 2^31. */
function idsChecksum(ids: number[]): number {
  let s = 0;
  for (let i = 0; i < ids.length; i++) s = (s + (i + 1) * ids[i]) % 2147483648;
  return s;
}

interface TensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function readSafetensorsHeader(buf: Buffer): { headerLen: number; header: Record<string, TensorInfo> } {
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  delete header.__metadata__;
  return { headerLen, header };
}

describe('default model tokenizer', () => {
  it('is a byte-fallback BPE with <unk>, <s>, </s> and a BOS post-processor', () => {
    expect(tokenizerJson.model.type).toBe('BPE');
    expect(tokenizerJson.model.byte_fallback).toBe(true);
    expect(tokenizerJson.model.unk_token).toBe('<unk>');
    expect(tokenizerJson.post_processor.type).toBe('TemplateProcessing');
    expect(tokenizer.token_to_id('<unk>')).toBe(0);
    expect(tokenizer.token_to_id('<s>')).toBe(config.bos_token_id);
    expect(tokenizer.token_to_id('</s>')).toBe(config.eos_token_id);
    expect(tokenizer.token_to_id('<0x0A>')).toBeDefined();
    const vocab = tokenizer.get_vocab();
    expect(vocab.size).toBe(config.vocab_size);
    expect(Math.max(...vocab.values())).toBe(config.vocab_size - 1);
    expect(tokenizerConfig.bos_token).toBe('<s>');
    expect(tokenizerConfig.clean_up_tokenization_spaces).toBe(false);
  });

  it('adds BOS and round-trips evaluation sentences', () => {
    const lines = evaluation.split('\n').filter((l) => l.length > 0).slice(0, 40);
    expect(lines.length).toBe(40);
    for (const line of lines) {
      const sentences = line.match(/[^.!?]+[.!?]+"?/g) ?? [];
      for (const text of [line, ...sentences.map((s) => s.trim())]) {
        const { ids } = tokenizer.encode(text);
        expect(ids[0]).toBe(config.bos_token_id);
        expect(ids.slice(1)).not.toContain(config.bos_token_id);
        expect(ids).not.toContain(0); // no <unk>
        expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text);
      }
    }
    expect(tokenizer.encode('Lily', { add_special_tokens: false }).ids[0]).not.toBe(config.bos_token_id);
  });

  it('encodes the whole evaluation and calibration texts exactly as train.py did', () => {
    for (const [text, m] of [
      [evaluation, metrics.evaluation],
      [calibration, metrics.calibration],
    ] as const) {
      const { ids } = tokenizer.encode(text);
      expect(ids.length).toBe(m.tokens);
      expect(idsChecksum(ids)).toBe(m.ids_checksum);
      expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text);
      for (const id of ids) expect(id).toBeLessThan(config.vocab_size);
    }
    expect(tokenizer.encode(evaluation).ids.slice(0, 32)).toEqual(metrics.evaluation.first_ids);
  });

  it('round-trips text outside the corpus through byte fallback', () => {
    for (const text of ['Zoë ate 12 crêpes — ok? 🙂', 'tab\there\nnew line', 'Hello World']) {
      const { ids } = tokenizer.encode(text);
      expect(ids[0]).toBe(config.bos_token_id);
      expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text);
    }
  });
});

describe('default model config and weights', () => {
  it('has a complete Llama config', () => {
    expect(config.model_type).toBe('llama');
    expect(config.architectures).toEqual(['LlamaForCausalLM']);
    expect(config.hidden_act).toBe('silu');
    expect(config.torch_dtype).toBe('float32');
    for (const k of [
      'hidden_size',
      'intermediate_size',
      'num_attention_heads',
      'num_key_value_heads',
      'num_hidden_layers',
      'max_position_embeddings',
      'vocab_size',
      'bos_token_id',
      'eos_token_id',
    ]) {
      expect(Number.isInteger(config[k]), k).toBe(true);
    }
    expect(config.rms_norm_eps).toBeGreaterThan(0);
    expect(config.rope_theta).toBeGreaterThan(0);
    expect(typeof config.tie_word_embeddings).toBe('boolean');
    expect(config.hidden_size % config.num_attention_heads).toBe(0);
    expect(config.num_attention_heads % config.num_key_value_heads).toBe(0);
    expect(config.num_key_value_heads).toBeLessThan(config.num_attention_heads); // grouped-query attention
    expect(config.head_dim ?? config.hidden_size / config.num_attention_heads).toBe(
      config.hidden_size / config.num_attention_heads,
    );
    expect(config.max_position_embeddings).toBeGreaterThanOrEqual(256);
  });

  it('has a safetensors header that matches the config', () => {
    const path = join(dir, 'model.safetensors');
    const size = statSync(path).size;
    expect(size).toBeLessThan(5 * 1024 * 1024);
    const buf = readFileSync(path);
    const { headerLen, header } = readSafetensorsHeader(buf);
    expect((8 + headerLen) % 8).toBe(0);

    const h = config.hidden_size;
    const hd = h / config.num_attention_heads;
    const I = config.intermediate_size;
    const V = config.vocab_size;
    const expected: Record<string, number[]> = { 'model.embed_tokens.weight': [V, h], 'model.norm.weight': [h] };
    if (!config.tie_word_embeddings) expected['lm_head.weight'] = [V, h];
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const p = `model.layers.${i}.`;
      expected[p + 'self_attn.q_proj.weight'] = [config.num_attention_heads * hd, h];
      expected[p + 'self_attn.k_proj.weight'] = [config.num_key_value_heads * hd, h];
      expected[p + 'self_attn.v_proj.weight'] = [config.num_key_value_heads * hd, h];
      expected[p + 'self_attn.o_proj.weight'] = [h, config.num_attention_heads * hd];
      expected[p + 'mlp.gate_proj.weight'] = [I, h];
      expected[p + 'mlp.up_proj.weight'] = [I, h];
      expected[p + 'mlp.down_proj.weight'] = [h, I];
      expected[p + 'input_layernorm.weight'] = [h];
      expected[p + 'post_attention_layernorm.weight'] = [h];
    }
    expect(Object.keys(header).sort()).toEqual(Object.keys(expected).sort());

    // Offsets tile the data section exactly, each tensor F32 with shape-consistent length.
    const spans = Object.entries(header)
      .map(([name, t]) => {
        expect(t.dtype, name).toBe('F32');
        expect(t.shape, name).toEqual(expected[name]);
        const n = t.shape.reduce((a, b) => a * b, 1);
        expect(t.data_offsets[1] - t.data_offsets[0], name).toBe(4 * n);
        return t.data_offsets;
      })
      .sort((a, b) => a[0] - b[0]);
    let end = 0;
    for (const [a, b] of spans) {
      expect(a).toBe(end);
      end = b;
    }
    expect(8 + headerLen + end).toBe(size);

    // Weights are finite and not all zero; norms are not the untrained all-ones.
    const data = buf.subarray(8 + headerLen);
    const f32 = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    let nonzero = 0;
    let nonFinite = 0;
    for (const v of f32) {
      if (!Number.isFinite(v)) nonFinite++;
      if (v !== 0) nonzero++;
    }
    expect(nonFinite).toBe(0);
    expect(nonzero).toBeGreaterThan(0.99 * f32.length);
    const norm = header['model.norm.weight'].data_offsets;
    const normW = f32.subarray(norm[0] / 4, norm[1] / 4);
    expect(normW.some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);

    expect(createHash('sha256').update(buf).digest('hex')).toBe(metrics.model_sha256);
  });

  it('records a learned dense perplexity for 128- and 256-token windows', () => {
    for (const w of ['128', '256']) {
      const d = metrics.evaluation.dense[w];
      expect(d.window).toBe(Number(w));
      expect(d.windows).toBe(Math.floor(metrics.evaluation.tokens / Number(w)));
      expect(d.predicted_tokens).toBe(d.windows * (Number(w) - 1));
      expect(Math.exp(d.loss)).toBeCloseTo(d.perplexity, 6);
      expect(d.perplexity).toBeGreaterThan(1);
      expect(d.perplexity).toBeLessThan(config.vocab_size / 50);
    }
  });
});

describe('default model texts', () => {
  it('ships calibration and evaluation texts of 20-40 KB, disjoint, from the story grammar', () => {
    for (const text of [evaluation, calibration]) {
      const bytes = Buffer.byteLength(text, 'utf8');
      expect(bytes).toBeGreaterThanOrEqual(20_000);
      expect(bytes).toBeLessThanOrEqual(40_000);
      expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
      expect(text.endsWith('\n')).toBe(true);
      for (const line of text.split('\n').filter((l) => l)) {
        expect(line).toMatch(/^(Once upon a time, there was|One day, a|There was a)/);
      }
    }
    const evalLines = new Set(evaluation.split('\n').filter((l) => l));
    const common = calibration.split('\n').filter((l) => evalLines.has(l));
    expect(common).toEqual([]);
    expect(existsSync(join(dir, 'train.txt'))).toBe(false);
  });

  it('owes nothing to ../shared', () => {
    if (!existsSync(shared)) return;
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile() && st.size < 50 * 1024 * 1024) files.push(p);
      }
    };
    walk(shared);
    const ours = ['model.safetensors', 'tokenizer.json', 'evaluation.txt', 'calibration.txt'].map((n) =>
      createHash('sha256').update(readFileSync(join(dir, n))).digest('hex'),
    );
    // Probe strings: a few whole sentences from our texts.
    const probes = [...evaluation.split('\n').slice(0, 5), ...calibration.split('\n').slice(0, 5)]
      .map((l) => l.slice(0, 120))
      .filter((l) => l.length > 40);
    for (const f of files) {
      const buf = readFileSync(f);
      expect(ours).not.toContain(createHash('sha256').update(buf).digest('hex'));
      const text = buf.toString('latin1');
      for (const p of probes) expect(text.includes(p), `${p} in ${f}`).toBe(false);
    }
  });
});
