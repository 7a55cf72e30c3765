/**
 * Small random checkpoints with each architecture's real Hugging Face tensor names (written out
 * by hand here, independently of src/model/architectures.ts), for the model tests.
 */
import { writeSafetensors } from '../../src/formats/safetensors';
import type { WritableDType } from '../../src/formats/dtypes';
import { randn } from './reference';

export interface Checkpoint {
  config: Record<string, unknown>;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** The checkpoint's tensors as one safetensors file, every tensor stored as `dtype` (rounded to nearest even). */
export function checkpointFile(ck: Checkpoint, dtype: WritableDType): Uint8Array<ArrayBuffer> {
  return writeSafetensors([...ck.tensors].map(([name, t]) => ({ name, dtype, shape: t.shape, data: t.data })));
}

class Builder {
  readonly tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  private seed: number;
  constructor(seed: number) {
    this.seed = seed;
  }
  /** N(mean, std²) entries. */
  add(name: string, shape: number[], std: number, mean = 0): void {
    const n = shape.reduce((a, b) => a * b, 1);
    const r = randn(n, this.seed++);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + std * r[i];
    this.tensors.set(name, { shape, data });
  }
  /** A weight of an nn.Linear [out, in] with unit-scale outputs. */
  linear(name: string, out: number, inp: number, bias: boolean): void {
    this.add(`${name}.weight`, [out, inp], 1 / Math.sqrt(inp));
    if (bias) this.add(`${name}.bias`, [out], 0.1);
  }
}

export interface LlamaOptions {
  modelType?: 'llama' | 'qwen2' | 'mistral';
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  vocab?: number;
  tie?: boolean;
  /** llama's attention_bias (q/k/v/o biases). */
  attentionBias?: boolean;
  mlpBias?: boolean;
  ropeTheta?: number;
  hiddenAct?: string;
  seed?: number;
  extraConfig?: Record<string, unknown>;
}

export function llamaCheckpoint(o: LlamaOptions = {}): Checkpoint {
  const modelType = o.modelType ?? 'llama';
  const d = o.hidden ?? 32;
  const L = o.layers ?? 2;
  const H = o.heads ?? 4;
  const KV = o.kvHeads ?? 2;
  const hd = d / H;
  const I = o.intermediate ?? 40;
  const V = o.vocab ?? 50;
  const tie = o.tie ?? false;
  const qkvBias = modelType === 'qwen2' || (o.attentionBias ?? false);
  const oBias = modelType === 'llama' && (o.attentionBias ?? false);
  const mlpBias = modelType === 'llama' && (o.mlpBias ?? false);
  const b = new Builder(o.seed ?? 1);
  b.add('model.embed_tokens.weight', [V, d], 1);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    b.add(`${p}input_layernorm.weight`, [d], 0.1, 1);
    b.linear(`${p}self_attn.q_proj`, H * hd, d, qkvBias);
    b.linear(`${p}self_attn.k_proj`, KV * hd, d, qkvBias);
    b.linear(`${p}self_attn.v_proj`, KV * hd, d, qkvBias);
    b.linear(`${p}self_attn.o_proj`, d, H * hd, oBias);
    b.add(`${p}post_attention_layernorm.weight`, [d], 0.1, 1);
    b.linear(`${p}mlp.gate_proj`, I, d, mlpBias);
    b.linear(`${p}mlp.up_proj`, I, d, mlpBias);
    b.linear(`${p}mlp.down_proj`, d, I, mlpBias);
  }
  b.add('model.norm.weight', [d], 0.1, 1);
  if (!tie) b.add('lm_head.weight', [V, d], 1 / Math.sqrt(d));
  const config: Record<string, unknown> = {
    model_type: modelType,
    hidden_size: d,
    num_hidden_layers: L,
    num_attention_heads: H,
    num_key_value_heads: KV,
    intermediate_size: I,
    vocab_size: V,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: o.ropeTheta ?? 10000,
    hidden_act: o.hiddenAct ?? 'silu',
    tie_word_embeddings: tie,
    ...(modelType === 'llama' ? { attention_bias: o.attentionBias ?? false, mlp_bias: o.mlpBias ?? false } : {}),
    ...(o.extraConfig ?? {}),
  };
  return { config, tensors: b.tensors };
}

export interface Gpt2Options {
  hidden?: number;
  layers?: number;
  heads?: number;
  vocab?: number;
  positions?: number;
  /** '' for checkpoints saved from GPT2Model (the Hub's gpt2 files), 'transformer.' for GPT2LMHeadModel. */
  prefix?: string;
  activation?: string;
  seed?: number;
}

export function gpt2Checkpoint(o: Gpt2Options = {}): Checkpoint {
  const d = o.hidden ?? 32;
  const L = o.layers ?? 2;
  const H = o.heads ?? 4;
  const V = o.vocab ?? 50;
  const P = o.positions ?? 64;
  const p0 = o.prefix ?? 'transformer.';
  const b = new Builder(o.seed ?? 7);
  b.add(`${p0}wte.weight`, [V, d], 1);
  b.add(`${p0}wpe.weight`, [P, d], 0.5);
  for (let l = 0; l < L; l++) {
    const p = `${p0}h.${l}.`;
    b.add(`${p}ln_1.weight`, [d], 0.1, 1);
    b.add(`${p}ln_1.bias`, [d], 0.1);
    // Conv1D weights are stored [in, out].
    b.add(`${p}attn.c_attn.weight`, [d, 3 * d], 1 / Math.sqrt(d));
    b.add(`${p}attn.c_attn.bias`, [3 * d], 0.1);
    b.add(`${p}attn.c_proj.weight`, [d, d], 1 / Math.sqrt(d));
    b.add(`${p}attn.c_proj.bias`, [d], 0.1);
    // Old checkpoints carry the causal mask as buffers; the model must ignore them.
    b.add(`${p}attn.bias`, [1, 1, P, P], 1);
    b.add(`${p}attn.masked_bias`, [1], 1);
    b.add(`${p}ln_2.weight`, [d], 0.1, 1);
    b.add(`${p}ln_2.bias`, [d], 0.1);
    b.add(`${p}mlp.c_fc.weight`, [d, 4 * d], 1 / Math.sqrt(d));
    b.add(`${p}mlp.c_fc.bias`, [4 * d], 0.1);
    b.add(`${p}mlp.c_proj.weight`, [4 * d, d], 1 / Math.sqrt(4 * d));
    b.add(`${p}mlp.c_proj.bias`, [d], 0.1);
  }
  b.add(`${p0}ln_f.weight`, [d], 0.1, 1);
  b.add(`${p0}ln_f.bias`, [d], 0.1);
  const config = {
    model_type: 'gpt2',
    n_embd: d,
    n_layer: L,
    n_head: H,
    n_inner: null,
    n_positions: P,
    vocab_size: V,
    layer_norm_epsilon: 1e-5,
    activation_function: o.activation ?? 'gelu_new',
    scale_attn_weights: true,
  };
  return { config, tensors: b.tensors };
}

export interface OptOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  ffn?: number;
  vocab?: number;
  positions?: number;
  tie?: boolean;
  activation?: string;
  seed?: number;
}

export function optCheckpoint(o: OptOptions = {}): Checkpoint {
  const d = o.hidden ?? 32;
  const L = o.layers ?? 2;
  const H = o.heads ?? 4;
  const F = o.ffn ?? 64;
  const V = o.vocab ?? 50;
  const P = o.positions ?? 64;
  const tie = o.tie ?? true;
  const b = new Builder(o.seed ?? 13);
  b.add('model.decoder.embed_tokens.weight', [V, d], 1);
  // OPTLearnedPositionalEmbedding has max_position_embeddings + 2 rows (offset 2).
  b.add('model.decoder.embed_positions.weight', [P + 2, d], 0.5);
  for (let l = 0; l < L; l++) {
    const p = `model.decoder.layers.${l}.`;
    b.add(`${p}self_attn_layer_norm.weight`, [d], 0.1, 1);
    b.add(`${p}self_attn_layer_norm.bias`, [d], 0.1);
    b.linear(`${p}self_attn.q_proj`, d, d, true);
    b.linear(`${p}self_attn.k_proj`, d, d, true);
    b.linear(`${p}self_attn.v_proj`, d, d, true);
    b.linear(`${p}self_attn.out_proj`, d, d, true);
    b.add(`${p}final_layer_norm.weight`, [d], 0.1, 1);
    b.add(`${p}final_layer_norm.bias`, [d], 0.1);
    b.linear(`${p}fc1`, F, d, true);
    b.linear(`${p}fc2`, d, F, true);
  }
  b.add('model.decoder.final_layer_norm.weight', [d], 0.1, 1);
  b.add('model.decoder.final_layer_norm.bias', [d], 0.1);
  if (!tie) b.add('lm_head.weight', [V, d], 1 / Math.sqrt(d));
  const config = {
    model_type: 'opt',
    hidden_size: d,
    num_hidden_layers: L,
    num_attention_heads: H,
    ffn_dim: F,
    vocab_size: V,
    max_position_embeddings: P,
    word_embed_proj_dim: d,
    do_layer_norm_before: true,
    activation_function: o.activation ?? 'relu',
    enable_bias: true,
    tie_word_embeddings: tie,
  };
  return { config, tensors: b.tensors };
}

export function randomTokens(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

export interface Qwen3Options {
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  /** Independent of hidden / heads in Qwen3. */
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  tie?: boolean;
  seed?: number;
  extraConfig?: Record<string, unknown>;
}

/** Qwen3ForCausalLM: Llama names plus self_attn.q_norm / k_norm [head_dim]. */
export function qwen3Checkpoint(o: Qwen3Options = {}): Checkpoint {
  const d = o.hidden ?? 32;
  const L = o.layers ?? 2;
  const H = o.heads ?? 4;
  const KV = o.kvHeads ?? 2;
  const hd = o.headDim ?? 12;
  const I = o.intermediate ?? 40;
  const V = o.vocab ?? 50;
  const tie = o.tie ?? false;
  const b = new Builder(o.seed ?? 31);
  b.add('model.embed_tokens.weight', [V, d], 1);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    b.add(`${p}input_layernorm.weight`, [d], 0.1, 1);
    b.linear(`${p}self_attn.q_proj`, H * hd, d, false);
    b.linear(`${p}self_attn.k_proj`, KV * hd, d, false);
    b.linear(`${p}self_attn.v_proj`, KV * hd, d, false);
    b.add(`${p}self_attn.q_norm.weight`, [hd], 0.2, 1);
    b.add(`${p}self_attn.k_norm.weight`, [hd], 0.2, 1);
    b.linear(`${p}self_attn.o_proj`, d, H * hd, false);
    b.add(`${p}post_attention_layernorm.weight`, [d], 0.1, 1);
    b.linear(`${p}mlp.gate_proj`, I, d, false);
    b.linear(`${p}mlp.up_proj`, I, d, false);
    b.linear(`${p}mlp.down_proj`, d, I, false);
  }
  b.add('model.norm.weight', [d], 0.1, 1);
  if (!tie) b.add('lm_head.weight', [V, d], 1 / Math.sqrt(d));
  const config: Record<string, unknown> = {
    model_type: 'qwen3',
    architectures: ['Qwen3ForCausalLM'],
    hidden_size: d,
    num_hidden_layers: L,
    num_attention_heads: H,
    num_key_value_heads: KV,
    head_dim: hd,
    intermediate_size: I,
    vocab_size: V,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-6,
    rope_parameters: { rope_type: 'default', rope_theta: 1000000 },
    hidden_act: 'silu',
    attention_bias: false,
    tie_word_embeddings: tie,
    use_sliding_window: false,
    ...(o.extraConfig ?? {}),
  };
  return { config, tensors: b.tensors };
}

export interface Gemma3Options {
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  slidingWindow?: number;
  /** transformers ≥ 5 layout (layer_types, nested rope_parameters) or the older one (sliding_window_pattern, rope_local_base_freq). */
  style?: 'layer_types' | 'pattern';
  finalSoftcap?: number | null;
  queryPreAttnScalar?: number;
  seed?: number;
}

/** Gemma3ForCausalLM (gemma3_text): four norms per block, q/k norms, norm weights stored as w − 1, tied head. */
export function gemma3Checkpoint(o: Gemma3Options = {}): Checkpoint {
  const d = o.hidden ?? 32;
  const L = o.layers ?? 3;
  const H = o.heads ?? 2;
  const KV = o.kvHeads ?? 1;
  const hd = o.headDim ?? 12;
  const I = o.intermediate ?? 44;
  const V = o.vocab ?? 50;
  const b = new Builder(o.seed ?? 41);
  // Gemma's embeddings are multiplied by √hidden: keep their product near unit scale.
  b.add('model.embed_tokens.weight', [V, d], 1 / Math.sqrt(d));
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    for (const n of ['input_layernorm', 'post_attention_layernorm', 'pre_feedforward_layernorm', 'post_feedforward_layernorm']) b.add(`${p}${n}.weight`, [d], 0.2);
    b.linear(`${p}self_attn.q_proj`, H * hd, d, false);
    b.linear(`${p}self_attn.k_proj`, KV * hd, d, false);
    b.linear(`${p}self_attn.v_proj`, KV * hd, d, false);
    b.add(`${p}self_attn.q_norm.weight`, [hd], 0.2);
    b.add(`${p}self_attn.k_norm.weight`, [hd], 0.2);
    b.linear(`${p}self_attn.o_proj`, d, H * hd, false);
    b.linear(`${p}mlp.gate_proj`, I, d, false);
    b.linear(`${p}mlp.up_proj`, I, d, false);
    b.linear(`${p}mlp.down_proj`, d, I, false);
  }
  b.add('model.norm.weight', [d], 0.2);
  const window = o.slidingWindow ?? 3;
  // Every third layer global: [sliding, sliding, full, ...].
  const layerTypes = Array.from({ length: L }, (_, l) => ((l + 1) % 3 === 0 ? 'full_attention' : 'sliding_attention'));
  const rope =
    (o.style ?? 'layer_types') === 'layer_types'
      ? {
          layer_types: layerTypes,
          rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 1000000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } },
        }
      : { sliding_window_pattern: 3, rope_theta: 1000000, rope_local_base_freq: 10000 };
  const config: Record<string, unknown> = {
    model_type: 'gemma3_text',
    architectures: ['Gemma3ForCausalLM'],
    hidden_size: d,
    num_hidden_layers: L,
    num_attention_heads: H,
    num_key_value_heads: KV,
    head_dim: hd,
    intermediate_size: I,
    vocab_size: V,
    max_position_embeddings: 1024,
    rms_norm_eps: 1e-6,
    hidden_activation: 'gelu_pytorch_tanh',
    query_pre_attn_scalar: o.queryPreAttnScalar ?? 16,
    sliding_window: window,
    final_logit_softcapping: o.finalSoftcap === undefined ? 4.5 : o.finalSoftcap,
    attn_logit_softcapping: null,
    attention_bias: false,
    tie_word_embeddings: true,
    ...rope,
  };
  return { config, tensors: b.tensors };
}

export interface Phi3Options {
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  vocab?: number;
  partialRotary?: number;
  /** LongRoPE with this pretraining length (max_position_embeddings is 4×); null: no rope scaling. */
  longropeOriginal?: number | null;
  slidingWindow?: number | null;
  tie?: boolean;
  seed?: number;
}

/** Phi3ForCausalLM: fused qkv_proj [q|k|v] and gate_up_proj [gate|up], no biases. */
export function phi3Checkpoint(o: Phi3Options = {}): Checkpoint {
  const d = o.hidden ?? 32;
  const L = o.layers ?? 2;
  const H = o.heads ?? 4;
  const KV = o.kvHeads ?? 2;
  const hd = d / H;
  const I = o.intermediate ?? 36;
  const V = o.vocab ?? 50;
  const tie = o.tie ?? false;
  const partial = o.partialRotary ?? 0.5;
  const b = new Builder(o.seed ?? 51);
  b.add('model.embed_tokens.weight', [V, d], 1);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    b.add(`${p}input_layernorm.weight`, [d], 0.1, 1);
    b.linear(`${p}self_attn.qkv_proj`, (H + 2 * KV) * hd, d, false);
    b.linear(`${p}self_attn.o_proj`, d, H * hd, false);
    b.add(`${p}post_attention_layernorm.weight`, [d], 0.1, 1);
    b.linear(`${p}mlp.gate_up_proj`, 2 * I, d, false);
    b.linear(`${p}mlp.down_proj`, d, I, false);
  }
  b.add('model.norm.weight', [d], 0.1, 1);
  if (!tie) b.add('lm_head.weight', [V, d], 1 / Math.sqrt(d));
  const half = (hd * partial) / 2;
  const orig = o.longropeOriginal === undefined ? 8 : o.longropeOriginal;
  const factors = (base: number) => Array.from({ length: half }, (_, i) => base + 0.75 * i);
  const config: Record<string, unknown> = {
    model_type: 'phi3',
    pad_token_id: 0,
    bos_token_id: 1,
    eos_token_id: 2,
    architectures: ['Phi3ForCausalLM'],
    hidden_size: d,
    num_hidden_layers: L,
    num_attention_heads: H,
    num_key_value_heads: KV,
    intermediate_size: I,
    vocab_size: V,
    max_position_embeddings: orig ? 4 * orig : 256,
    original_max_position_embeddings: orig ?? 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    partial_rotary_factor: partial,
    rope_scaling: orig ? { type: 'longrope', short_factor: factors(1), long_factor: factors(2.5) } : null,
    sliding_window: o.slidingWindow ?? null,
    hidden_act: 'silu',
    tie_word_embeddings: tie,
  };
  return { config, tensors: b.tensors };
}
