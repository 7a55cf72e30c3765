/**
 * Hugging Face `config.json` → one normalised description of the decoder-only models we run.
 * Anything we cannot reproduce exactly is refused here, with the offending field named, so that a
 * pruning run never starts on a model whose forward pass would silently differ from the original.
 */

import type { Activation } from '../shared/activation';
import { ConfigError } from './errors';
import { bool, int, num, optionalPositive, tokenId, type Json } from './configJson';
import { cosSinFactor, invFreq, parseRope, type Rope, type RopeScaling } from './rope';

export type { Activation, Rope, RopeScaling };
export { ConfigError };
/** llama: Llama, Mistral, Qwen2, Qwen3 (separate q/k/v, gate/up/down); phi3: fused qkv and gate_up; gemma3: Gemma 3 text. */
export type Family = 'llama' | 'gpt2' | 'opt' | 'phi3' | 'gemma3';

export const SUPPORTED_MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma3_text', 'phi3', 'gpt2', 'opt'] as const;
const FAMILY_OF: Record<string, Family> = {
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'llama',
  qwen3: 'llama',
  phi3: 'phi3',
  gemma3_text: 'gemma3',
  gpt2: 'gpt2',
  opt: 'opt',
};

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
  /** Rotary embedding (Llama family) or learned absolute positions (GPT-2, OPT). ropeTheta/ropeScaling: the global layers' rope. */
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
  /** Rope of the sliding-window layers when it differs from the global one (Gemma 3's rope_local_base_freq). */
  localRope: Rope | null;
  /** Rotated dimensions of each head (head_dim · partial_rotary_factor; 0 without rotary). */
  rotaryDim: number;
  /** Sliding-window layers attend to at most this many tokens (themselves included); null: none. */
  slidingWindow: number | null;
  /** Per layer: whether it is a sliding-window layer (empty: none is). */
  slidingLayers: readonly boolean[];
  /** Per-head RMSNorm of q and k before rotary (Qwen3, Gemma 3). */
  qkNorm: boolean;
  /** Norms scale by (normOffset + weight): Gemma stores its RMSNorm weights as w − 1. */
  normOffset: 0 | 1;
  /** Gemma's extra norms on the attention and MLP outputs before the residual adds. */
  sandwichNorms: boolean;
  /** Factor on the token embeddings (Gemma: √hidden). */
  embedScale: number;
  /** Gemma: attention scores scale by query_pre_attn_scalar^−½ instead of head_dim^−½. */
  queryPreAttnScalar: number | null;
  /** Gemma: logits = cap · tanh(logits / cap); null: none. */
  finalSoftcap: number | null;
  /** GPT-2's `scale_attn_weights` / `scale_attn_by_inverse_layer_idx`. */
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
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

/** Which layers use the sliding window, as transformers decides per model type (`layer_types` when given). */
function slidingLayers(cfg: Json, modelType: string, layers: number, window: number | null): boolean[] {
  if (window === null) return new Array<boolean>(layers).fill(false);
  const types = cfg.layer_types;
  if (Array.isArray(types)) {
    if (types.length !== layers || types.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      throw new ConfigError(`config.json: "layer_types" must list ${layers} entries, each "sliding_attention" or "full_attention".`);
    }
    return types.map((t) => t === 'sliding_attention');
  }
  if (modelType === 'gemma3_text') {
    // Older Gemma 3 configs: every `sliding_window_pattern`-th layer is global, the others local.
    const pattern = int(cfg, 'sliding_window_pattern', 6);
    return Array.from({ length: layers }, (_, l) => (l + 1) % pattern !== 0);
  }
  if (modelType === 'qwen2' || modelType === 'qwen3') {
    const from = typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : 28;
    return Array.from({ length: layers }, (_, l) => l >= from);
  }
  return new Array<boolean>(layers).fill(true); // Mistral, Phi-3: every layer
}

/** The sliding window of the model (null: none), where each model type keeps it. */
function slidingWindowOf(cfg: Json, modelType: string): number | null {
  const w = cfg.sliding_window;
  if (modelType === 'llama') return null;
  if ((modelType === 'qwen2' || modelType === 'qwen3') && cfg.use_sliding_window !== true) return null;
  if (modelType === 'gemma3_text' && (w === undefined || w === null)) return 4096; // Gemma3TextConfig's default
  if (w === undefined || w === null) return null;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1) throw new ConfigError(`config.json: "sliding_window" must be a positive integer, got ${JSON.stringify(w)}.`);
  return w;
}

/** The rotary models: Llama, Mistral, Qwen2, Qwen3, Phi-3 and Gemma 3 text. */
function parseRotaryFamily(cfg: Json, modelType: string): ModelConfig {
  const family: Family = modelType === 'phi3' ? 'phi3' : modelType === 'gemma3_text' ? 'gemma3' : 'llama';
  const gemma = family === 'gemma3';
  const hidden = int(cfg, 'hidden_size');
  const heads = int(cfg, 'num_attention_heads');
  const layers = int(cfg, 'num_hidden_layers');
  const kvHeads = int(cfg, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    throw new ConfigError(`num_attention_heads=${heads} is not a multiple of num_key_value_heads=${kvHeads}.`);
  }
  const headDim = int(cfg, 'head_dim', hidden / heads);
  if (!Number.isInteger(headDim)) throw new ConfigError(`hidden_size=${hidden} is not divisible by num_attention_heads=${heads}; give head_dim.`);
  if (headDim % 2 !== 0) throw new ConfigError(`head_dim=${headDim} must be even for rotary embeddings.`);
  if (gemma && cfg.use_bidirectional_attention === true) throw new ConfigError('Gemma 3 with use_bidirectional_attention=true (an encoder) is not supported.');
  // transformers ≥ 5 writes `rope_parameters` (Gemma 3: one dict per layer type); older ones rope_theta + rope_scaling.
  const params = (cfg.rope_parameters ?? cfg.rope_scaling) as Json | null | undefined;
  const nested = gemma && params && typeof params.full_attention === 'object';
  const globalParams = (nested ? params.full_attention : gemma && !cfg.rope_parameters ? cfg.rope_scaling : params) as Json | null | undefined;
  const partial = num(cfg, 'partial_rotary_factor', typeof globalParams?.partial_rotary_factor === 'number' ? globalParams.partial_rotary_factor : 1);
  const rotaryDim = Math.floor(headDim * partial);
  if (!(partial > 0 && partial <= 1) || rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new ConfigError(`partial_rotary_factor=${partial} gives ${rotaryDim} rotated dimensions of head_dim=${headDim}; they must be a positive even number.`);
  }
  const defaultTheta = gemma ? 1e6 : 10000;
  const theta = num(cfg, 'rope_theta', typeof globalParams?.rope_theta === 'number' ? globalParams.rope_theta : defaultTheta);
  // Phi-3's config renames su and yarn to longrope (Phi3Config); elsewhere they are what they say.
  const aliases: Record<string, string> = family === 'phi3' ? { su: 'longrope', yarn: 'longrope' } : {};
  if (family === 'phi3' && globalParams) {
    const type = String(globalParams.rope_type ?? globalParams.type ?? 'default');
    if (!['default', 'longrope', 'su', 'yarn'].includes(type)) throw new ConfigError(`Unsupported rope_scaling type "${type}" for phi3. Supported: default (none), longrope.`);
  }
  // Phi3Config's original_max_position_embeddings defaults to 4096 (what its LongRoPE compares with).
  const ropeCfg = family === 'phi3' ? { original_max_position_embeddings: 4096, ...cfg } : cfg;
  const rope = parseRope(ropeCfg, globalParams, theta, rotaryDim, aliases);
  let localRope: Rope | null = null;
  if (gemma) {
    const localParams = (nested ? params.sliding_attention : null) as Json | null | undefined;
    const localTheta = num(cfg, 'rope_local_base_freq', typeof localParams?.rope_theta === 'number' ? localParams.rope_theta : 10000);
    localRope = parseRope(cfg, localParams, localTheta, rotaryDim);
  }
  const slidingWindow = slidingWindowOf(cfg, modelType);
  const attentionBias = family !== 'phi3' && modelType !== 'mistral' && modelType !== 'qwen2' ? bool(cfg, 'attention_bias', false) : false;
  return {
    family,
    modelType,
    hidden,
    layers,
    heads,
    kvHeads,
    headDim,
    intermediate: int(cfg, 'intermediate_size'),
    vocab: int(cfg, 'vocab_size'),
    maxPositions: int(cfg, 'max_position_embeddings', 2048),
    norm: 'rms',
    normEps: num(cfg, 'rms_norm_eps', 1e-6),
    activation: gemma ? activation(cfg, 'hidden_activation', 'gelu_pytorch_tanh') : activation(cfg, 'hidden_act', 'silu'),
    gatedMlp: true,
    positions: 'rotary',
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    localRope,
    rotaryDim,
    positionOffset: 0,
    // Qwen2 always has q/k/v biases (and none on o_proj); the others have them on all four when attention_bias.
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: attentionBias,
    mlpBias: modelType === 'llama' ? bool(cfg, 'mlp_bias', false) : false,
    tieEmbeddings: bool(cfg, 'tie_word_embeddings', gemma),
    slidingWindow,
    slidingLayers: slidingLayers(cfg, modelType, layers, slidingWindow),
    qkNorm: gemma || modelType === 'qwen3',
    normOffset: gemma ? 1 : 0,
    sandwichNorms: gemma,
    // Gemma3TextScaledWordEmbedding: the f32 tensor of hidden_size ** 0.5 (as the model runs in float32).
    embedScale: gemma ? Math.fround(Math.sqrt(hidden)) : 1,
    queryPreAttnScalar: gemma ? num(cfg, 'query_pre_attn_scalar', 256) : null,
    // Gemma3ForCausalLM caps the logits; Gemma3Attention keeps attn_logit_softcapping but, in
    // transformers 5, does not pass it to the attention function, so it is not applied here either.
    finalSoftcap: gemma ? optionalPositive(cfg, 'final_logit_softcapping') : null,
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    bosTokenId: tokenId(cfg, 'bos_token_id'),
    eosTokenId: tokenId(cfg, 'eos_token_id'),
  };
}

/** What GPT-2 and OPT (learned positions, LayerNorm, one norm per sublayer) have none of. */
const LEARNED_POSITIONS = {
  localRope: null,
  rotaryDim: 0,
  slidingWindow: null,
  slidingLayers: [],
  qkNorm: false,
  normOffset: 0,
  sandwichNorms: false,
  embedScale: 1,
  queryPreAttnScalar: null,
  finalSoftcap: null,
} as const;

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
    ...LEARNED_POSITIONS,
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
    ...LEARNED_POSITIONS,
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
  const family = typeof modelType === 'string' && Object.hasOwn(FAMILY_OF, modelType) ? FAMILY_OF[modelType] : undefined;
  if (!family) {
    const hint = modelType === 'gemma3' ? ' A multimodal Gemma 3 (gemma3) is not; its text model (gemma3_text, Gemma3ForCausalLM) is.' : '';
    throw new ConfigError(
      `Unsupported model_type ${JSON.stringify(modelType)}. Supported: ${SUPPORTED_MODEL_TYPES.join(', ')} (SmolLM and TinyLlama are llama; Phi-4-mini is phi3).${hint}`,
    );
  }
  if (cfg.is_encoder_decoder === true) throw new ConfigError('Encoder-decoder models are not supported; only decoder-only language models.');
  if (family === 'gpt2') return parseGpt2(cfg);
  if (family === 'opt') return parseOpt(cfg);
  return parseRotaryFamily(cfg, modelType as string);
}

/** The rope of layer l: Gemma 3's sliding layers have their own. */
export function ropeOf(config: ModelConfig, layer: number): Rope {
  if (config.localRope && isSliding(config, layer)) return config.localRope;
  return { theta: config.ropeTheta, scaling: config.ropeScaling };
}

/** Whether layer l attends through the sliding window. */
export function isSliding(config: ModelConfig, layer: number): boolean {
  return config.slidingWindow !== null && config.slidingLayers[layer] === true;
}

/** Rotary inverse frequencies (float64, length rotaryDim / 2) of layer l for windows of `seqlen` tokens, with HF's rope scaling. */
export function ropeInvFreq(config: ModelConfig, seqlen = 0, layer = -1): Float64Array {
  return invFreq(ropeOf(config, layer), config.rotaryDim, seqlen);
}

/** The factor on cos and sin of layer l (LongRoPE's attention scaling; 1 otherwise). */
export function ropeCosSinFactor(config: ModelConfig, layer = -1): number {
  return cosSinFactor(ropeOf(config, layer));
}

/** Softmax scale of layer l's attention scores. */
export function attentionScale(config: ModelConfig, layer: number): number {
  if (config.queryPreAttnScalar !== null) return 1 / Math.sqrt(config.queryPreAttnScalar);
  let scale = config.scaleAttnWeights ? 1 / Math.sqrt(config.headDim) : 1;
  if (config.scaleAttnByInverseLayerIdx) scale /= layer + 1;
  return scale;
}
