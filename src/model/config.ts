/**
 * Hugging Face `config.json` → one normalised description of the decoder-only models we run.
 * Anything we cannot reproduce exactly is refused here, with the offending field named, so that a
 * pruning run never starts on a model whose forward pass would silently differ from the original.
 */

import type { Activation } from '../shared/activation';

export type { Activation };
export type Family = 'llama' | 'gpt2' | 'opt';

export const SUPPORTED_MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'gpt2', 'opt'] as const;
const FAMILY_OF: Record<string, Family> = { llama: 'llama', mistral: 'llama', qwen2: 'llama', gpt2: 'gpt2', opt: 'opt' };

/** HF activation names we implement, and what they compute. `gelu_fast` is algebraically gelu_new. */
const ACTIVATIONS: Record<string, Activation> = {
  silu: 'silu',
  swish: 'silu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu: 'gelu',
  relu: 'relu',
};

export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelConfig {
  family: Family;
  /** `model_type` as written in config.json (llama, mistral, qwen2, gpt2, opt). */
  modelType: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Width of the MLP's hidden layer. */
  intermediate: number;
  vocab: number;
  maxPositions: number;
  norm: 'rms' | 'layer';
  normEps: number;
  activation: Activation;
  /** SwiGLU-style gate·up MLP (Llama family) or a plain fc → act → fc MLP. */
  gatedMlp: boolean;
  /** Rotary embedding (Llama family) or learned absolute positions (GPT-2, OPT). */
  positions: 'rotary' | 'learned';
  ropeTheta: number;
  ropeScaling: RopeScaling;
  /** OPT's learned positions are indexed from 2 (a fairseq legacy). */
  positionOffset: number;
  /** Biases of the q/k/v, output, and MLP projections. */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  tieEmbeddings: boolean;
  /** Attention may look at most this many tokens back (Mistral/Qwen2); null: unlimited. */
  slidingWindow: number | null;
  /** GPT-2's `scale_attn_weights` / `scale_attn_by_inverse_layer_idx`. */
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config.json lacks "${key}", which this ${String(cfg.model_type)} model needs.`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`config.json: "${key}" must be a number, got ${JSON.stringify(v)}.`);
  return v;
}

function int(cfg: Json, key: string, fallback?: number): number {
  const v = num(cfg, key, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`config.json: "${key}" must be a positive integer, got ${v}.`);
  return v;
}

function bool(cfg: Json, key: string, fallback: boolean): boolean {
  const v = cfg[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(`config.json: "${key}" must be true or false, got ${JSON.stringify(v)}.`);
  return v;
}

function tokenId(cfg: Json, key: string): number | null {
  const v = cfg[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return null;
}

function activation(cfg: Json, key: string, fallback: string): Activation {
  const raw = cfg[key] ?? fallback;
  const act = typeof raw === 'string' ? ACTIVATIONS[raw] : undefined;
  if (!act) {
    throw new ConfigError(
      `Unsupported activation ${key}=${JSON.stringify(raw)}. Supported: ${Object.keys(ACTIVATIONS).join(', ')}.`,
    );
  }
  return act;
}

function ropeScaling(cfg: Json): { theta: number; scaling: RopeScaling } {
  // transformers ≥ 5 writes `rope_parameters` {rope_type, rope_theta, ...}; older ones `rope_theta` + `rope_scaling`.
  const params = (cfg.rope_parameters ?? cfg.rope_scaling) as Json | null | undefined;
  const theta = num(cfg, 'rope_theta', typeof params?.rope_theta === 'number' ? params.rope_theta : 10000);
  if (cfg.partial_rotary_factor !== undefined && cfg.partial_rotary_factor !== null && cfg.partial_rotary_factor !== 1) {
    throw new ConfigError(`Unsupported partial_rotary_factor=${String(cfg.partial_rotary_factor)}: only full rotary embeddings (1.0) are supported.`);
  }
  if (!params) return { theta, scaling: { type: 'default' } };
  const type = String(params.rope_type ?? params.type ?? 'default');
  const factor = typeof params.factor === 'number' ? params.factor : NaN;
  switch (type) {
    case 'default':
      return { theta, scaling: { type: 'default' } };
    case 'linear':
      if (!(factor > 0)) throw new ConfigError('rope_scaling "linear" needs a positive "factor".');
      return { theta, scaling: { type: 'linear', factor } };
    case 'llama3': {
      const low = Number(params.low_freq_factor);
      const high = Number(params.high_freq_factor);
      const orig = Number(params.original_max_position_embeddings);
      if (!(factor > 0) || !(low > 0) || !(high > low) || !(orig > 0)) {
        throw new ConfigError('rope_scaling "llama3" needs factor, low_freq_factor < high_freq_factor and original_max_position_embeddings.');
      }
      return { theta, scaling: { type: 'llama3', factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: orig } };
    }
    default:
      throw new ConfigError(`Unsupported rope_scaling type "${type}". Supported: default (none), linear, llama3.`);
  }
}

function parseLlamaFamily(cfg: Json, modelType: string): ModelConfig {
  const hidden = int(cfg, 'hidden_size');
  const heads = int(cfg, 'num_attention_heads');
  const kvHeads = int(cfg, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    throw new ConfigError(`num_attention_heads=${heads} is not a multiple of num_key_value_heads=${kvHeads}.`);
  }
  const headDim = int(cfg, 'head_dim', hidden / heads);
  if (!Number.isInteger(headDim)) throw new ConfigError(`hidden_size=${hidden} is not divisible by num_attention_heads=${heads}; give head_dim.`);
  if (headDim % 2 !== 0) throw new ConfigError(`head_dim=${headDim} must be even for rotary embeddings.`);
  const { theta, scaling } = ropeScaling(cfg);
  // Mistral applies its window to every layer; Qwen2 only when use_sliding_window is set (then to
  // layers ≥ max_window_layers). Either way a window longer than the evaluated sequence changes
  // nothing, so we keep the smallest one and let the forward pass refuse longer sequences.
  let slidingWindow: number | null = null;
  if (modelType === 'mistral' && typeof cfg.sliding_window === 'number') slidingWindow = cfg.sliding_window;
  if (modelType === 'qwen2' && cfg.use_sliding_window === true) {
    const maxWindowLayers = typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : 0;
    if (typeof cfg.sliding_window === 'number' && maxWindowLayers < int(cfg, 'num_hidden_layers')) slidingWindow = cfg.sliding_window;
  }
  const attentionBias = modelType === 'llama' ? bool(cfg, 'attention_bias', false) : false;
  return {
    family: 'llama',
    modelType,
    hidden,
    layers: int(cfg, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediate: int(cfg, 'intermediate_size'),
    vocab: int(cfg, 'vocab_size'),
    maxPositions: int(cfg, 'max_position_embeddings', 2048),
    norm: 'rms',
    normEps: num(cfg, 'rms_norm_eps', 1e-6),
    activation: activation(cfg, 'hidden_act', 'silu'),
    gatedMlp: true,
    positions: 'rotary',
    ropeTheta: theta,
    ropeScaling: scaling,
    positionOffset: 0,
    // Qwen2 always has q/k/v biases (and none on o_proj); Llama has them on all four when attention_bias.
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: attentionBias,
    mlpBias: modelType === 'llama' ? bool(cfg, 'mlp_bias', false) : false,
    tieEmbeddings: bool(cfg, 'tie_word_embeddings', false),
    slidingWindow,
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    bosTokenId: tokenId(cfg, 'bos_token_id'),
    eosTokenId: tokenId(cfg, 'eos_token_id'),
  };
}

function parseGpt2(cfg: Json): ModelConfig {
  const hidden = int(cfg, 'n_embd');
  const heads = int(cfg, 'n_head');
  if (hidden % heads !== 0) throw new ConfigError(`n_embd=${hidden} is not divisible by n_head=${heads}.`);
  if (bool(cfg, 'add_cross_attention', false)) throw new ConfigError('GPT-2 with add_cross_attention=true (an encoder-decoder) is not supported.');
  return {
    family: 'gpt2',
    modelType: 'gpt2',
    hidden,
    layers: int(cfg, 'n_layer'),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    intermediate: int(cfg, 'n_inner', 4 * hidden),
    vocab: int(cfg, 'vocab_size'),
    maxPositions: int(cfg, 'n_positions', 1024),
    norm: 'layer',
    normEps: num(cfg, 'layer_norm_epsilon', 1e-5),
    activation: activation(cfg, 'activation_function', 'gelu_new'),
    gatedMlp: false,
    positions: 'learned',
    ropeTheta: 0,
    ropeScaling: { type: 'default' },
    positionOffset: 0,
    qkvBias: true,
    oBias: true,
    mlpBias: true,
    // GPT2LMHeadModel ties lm_head to wte unless the config says otherwise.
    tieEmbeddings: bool(cfg, 'tie_word_embeddings', true),
    slidingWindow: null,
    scaleAttnWeights: bool(cfg, 'scale_attn_weights', true),
    scaleAttnByInverseLayerIdx: bool(cfg, 'scale_attn_by_inverse_layer_idx', false),
    bosTokenId: tokenId(cfg, 'bos_token_id'),
    eosTokenId: tokenId(cfg, 'eos_token_id'),
  };
}

function parseOpt(cfg: Json): ModelConfig {
  const hidden = int(cfg, 'hidden_size');
  const heads = int(cfg, 'num_attention_heads');
  if (hidden % heads !== 0) throw new ConfigError(`hidden_size=${hidden} is not divisible by num_attention_heads=${heads}.`);
  const proj = int(cfg, 'word_embed_proj_dim', hidden);
  if (proj !== hidden) {
    throw new ConfigError(
      `OPT with word_embed_proj_dim=${proj} ≠ hidden_size=${hidden} (project_in/project_out, e.g. opt-350m) is not supported.`,
    );
  }
  if (!bool(cfg, 'do_layer_norm_before', true)) {
    throw new ConfigError('OPT with do_layer_norm_before=false (post-LayerNorm, e.g. opt-350m) is not supported; only pre-LayerNorm OPT models are.');
  }
  if (!bool(cfg, 'layer_norm_elementwise_affine', true)) {
    throw new ConfigError('OPT with layer_norm_elementwise_affine=false is not supported.');
  }
  if (bool(cfg, '_remove_final_layer_norm', false)) {
    throw new ConfigError('OPT with _remove_final_layer_norm=true is not supported.');
  }
  const bias = bool(cfg, 'enable_bias', true);
  return {
    family: 'opt',
    modelType: 'opt',
    hidden,
    layers: int(cfg, 'num_hidden_layers'),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    intermediate: int(cfg, 'ffn_dim'),
    vocab: int(cfg, 'vocab_size'),
    maxPositions: int(cfg, 'max_position_embeddings', 2048),
    norm: 'layer',
    // OPT's LayerNorms use PyTorch's default eps; the config has no field for it.
    normEps: 1e-5,
    activation: activation(cfg, 'activation_function', 'relu'),
    gatedMlp: false,
    positions: 'learned',
    ropeTheta: 0,
    ropeScaling: { type: 'default' },
    positionOffset: 2,
    qkvBias: bias,
    oBias: bias,
    mlpBias: bias,
    tieEmbeddings: bool(cfg, 'tie_word_embeddings', true),
    slidingWindow: null,
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    bosTokenId: tokenId(cfg, 'bos_token_id'),
    eosTokenId: tokenId(cfg, 'eos_token_id'),
  };
}

/** Parses a config.json object (or its text). Throws ConfigError naming what is unsupported. */
export function parseConfig(json: unknown): ModelConfig {
  const cfg = (typeof json === 'string' ? JSON.parse(json) : json) as Json;
  if (!cfg || typeof cfg !== 'object') throw new ConfigError('config.json is not a JSON object.');
  const modelType = cfg.model_type;
  const family = typeof modelType === 'string' ? FAMILY_OF[modelType] : undefined;
  if (!family) {
    throw new ConfigError(
      `Unsupported model_type ${JSON.stringify(modelType)}. Supported: ${SUPPORTED_MODEL_TYPES.join(', ')} (SmolLM and TinyLlama are llama).`,
    );
  }
  if (cfg.is_encoder_decoder === true) throw new ConfigError('Encoder-decoder models are not supported; only decoder-only language models.');
  if (family === 'gpt2') return parseGpt2(cfg);
  if (family === 'opt') return parseOpt(cfg);
  return parseLlamaFamily(cfg, modelType as string);
}

/** Rotary inverse frequencies (float64), with HF's rope scaling applied. Length headDim/2. */
export function ropeInvFreq(config: ModelConfig): Float64Array {
  const half = config.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(config.ropeTheta, (2 * i) / config.headDim);
  const s = config.ropeScaling;
  if (s.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] /= s.factor;
  } else if (s.type === 'llama3') {
    // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between blended.
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) {
        inv[i] /= s.factor;
      } else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** Softmax scale of layer l's attention scores. */
export function attentionScale(config: ModelConfig, layer: number): number {
  let scale = config.scaleAttnWeights ? 1 / Math.sqrt(config.headDim) : 1;
  if (config.scaleAttnByInverseLayerIdx) scale /= layer + 1;
  return scale;
}
