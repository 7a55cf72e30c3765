/**
 * A model folder comes from a stranger: every count and size in config.json is checked here, against
 * sane bounds and against the tensors the checkpoint actually holds, before anything is allocated or
 * iterated by it (a config claiming a billion layers would otherwise build a billion block
 * descriptions). The bounds are far above any released model; each refusal is one line naming the
 * file, the field and what would be valid. tokenizer.json's counts are checked in tokenizer.ts with
 * the same bounds; the safetensors headers and index in src/formats.
 */
import type { SafetensorsFile } from '../formats/safetensors';
import { ConfigError } from './errors';

/** Upper bounds on config.json sizes: a few times the largest public decoder-only models. */
export const LIMITS = {
  layers: 1024,
  hidden: 1 << 16,
  heads: 1 << 12,
  headDim: 1 << 12,
  intermediate: 1 << 20,
  vocab: 1 << 22,
  positions: 1 << 24,
  merges: 1 << 23,
} as const;

/** Bytes of the JSON files read whole. */
export const JSON_LIMITS: Record<string, number> = {
  'config.json': 16 << 20,
  'tokenizer.json': 128 << 20,
  'tokenizer_config.json': 16 << 20,
};

type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function shown(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)} (a string)`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isObject(v)) return 'an object';
  return String(v);
}

const configError = (field: string, v: unknown, valid: string) =>
  new ConfigError(`config.json: "${field}" is ${shown(v)}; it must be ${valid}.`);

/** An integer in [min, max]; null or absent passes (parseConfig then applies its default or refusal). */
function integer(cfg: Json, field: string, min: number, max: number, where = field): void {
  const v = cfg[field];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw configError(where, v, `an integer from ${min} to ${max}`);
}

/** A finite number in [min, max] (in (0, max] when min is 0 and `zeroOk` is false). */
function real(cfg: Json, field: string, min: number, max: number, where = field, zeroOk = min > 0): void {
  const v = cfg[field];
  if (v === undefined || v === null) return;
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= min && (zeroOk || v > 0) && v <= max;
  if (!ok) throw configError(where, v, `a number ${min > 0 || zeroOk ? `from ${min}` : 'above 0'} up to ${max}`);
}

const LAYER_FIELDS = ['num_hidden_layers', 'n_layer'];
const WIDTH_FIELDS = ['hidden_size', 'n_embd', 'word_embed_proj_dim'];
const HEAD_FIELDS = ['num_attention_heads', 'n_head', 'num_key_value_heads'];
const INTERMEDIATE_FIELDS = ['intermediate_size', 'ffn_dim', 'n_inner'];
const POSITION_FIELDS = ['max_position_embeddings', 'n_positions', 'n_ctx', 'original_max_position_embeddings', 'sliding_window'];
const EPS_FIELDS = ['rms_norm_eps', 'layer_norm_epsilon', 'layer_norm_eps'];

/** rope_scaling / rope_parameters: one dict, or (Gemma 3) one per layer type. */
function checkRope(params: unknown, field: string, nested: boolean): void {
  if (params === undefined || params === null) return;
  if (!isObject(params)) throw configError(field, params, 'an object or null');
  // Gemma 3 (transformers ≥ 5): one dict per layer type.
  const layerTypes = Object.keys(params).filter((key) => key.endsWith('_attention'));
  if (nested && layerTypes.length > 0) {
    for (const key of layerTypes) checkRope(params[key], `${field}.${key}`, false);
    return;
  }
  const type = params.rope_type ?? params.type;
  if (type !== undefined && typeof type !== 'string') throw configError(`${field}.rope_type`, type, 'a string');
  // A base below 1 or a vanishing factor sends the inverse frequencies to infinity.
  real(params, 'rope_theta', 1, 1e15, `${field}.rope_theta`);
  real(params, 'factor', 1e-3, 1e6, `${field}.factor`);
  for (const key of ['low_freq_factor', 'high_freq_factor', 'attention_factor', 'beta_fast', 'beta_slow', 'mscale', 'mscale_all_dim']) {
    real(params, key, 0, 1e6, `${field}.${key}`, true);
  }
  real(params, 'partial_rotary_factor', 0, 1, `${field}.partial_rotary_factor`);
  integer(params, 'original_max_position_embeddings', 1, LIMITS.positions, `${field}.original_max_position_embeddings`);
  for (const key of ['short_factor', 'long_factor']) {
    const list = params[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || list.length > LIMITS.headDim / 2 || list.some((x) => typeof x !== 'number' || !Number.isFinite(x) || x <= 0)) {
      throw configError(`${field}.${key}`, list, `a list of at most ${LIMITS.headDim / 2} positive numbers`);
    }
  }
}

/** A token id (or a list of them, as eos_token_id may be) inside the vocabulary. */
function checkTokenId(cfg: Json, field: string, vocab: number): void {
  const v = cfg[field];
  if (v === undefined || v === null) return;
  const ids = Array.isArray(v) ? v : [v];
  const valid = `a token id from 0 to ${vocab - 1} (vocab_size is ${vocab}), a short list of them, or null`;
  if (ids.length > 1024) throw configError(field, v, valid);
  for (const id of ids) if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab) throw configError(field, v, valid);
}

/**
 * The raw config.json, before parseConfig reads it: every size, count and rotary parameter that the
 * supported families read is in range (or absent, for parseConfig to default or refuse).
 */
export function validateConfigJson(json: unknown): void {
  if (!isObject(json)) throw new ConfigError(`config.json: the file holds ${shown(json)}; it must be a JSON object.`);
  for (const f of LAYER_FIELDS) integer(json, f, 1, LIMITS.layers);
  for (const f of WIDTH_FIELDS) integer(json, f, 1, LIMITS.hidden);
  for (const f of HEAD_FIELDS) integer(json, f, 1, LIMITS.heads);
  integer(json, 'head_dim', 1, LIMITS.headDim);
  for (const f of INTERMEDIATE_FIELDS) integer(json, f, 1, LIMITS.intermediate);
  integer(json, 'vocab_size', 1, LIMITS.vocab);
  for (const f of POSITION_FIELDS) integer(json, f, 1, LIMITS.positions);
  integer(json, 'max_window_layers', 0, LIMITS.positions);
  integer(json, 'sliding_window_pattern', 1, LIMITS.layers);
  for (const f of EPS_FIELDS) real(json, f, 0, 1, f, true);
  real(json, 'rope_theta', 1, 1e15);
  real(json, 'rope_local_base_freq', 1, 1e15);
  real(json, 'partial_rotary_factor', 0, 1);
  real(json, 'query_pre_attn_scalar', 0, 1e9);
  real(json, 'final_logit_softcapping', 0, 1e9);
  real(json, 'attn_logit_softcapping', 0, 1e9);
  checkRope(json.rope_scaling, 'rope_scaling', true);
  checkRope(json.rope_parameters, 'rope_parameters', true);
  const layerTypes = json.layer_types;
  if (layerTypes !== undefined && layerTypes !== null && (!Array.isArray(layerTypes) || layerTypes.length > LIMITS.layers)) {
    throw configError('layer_types', layerTypes, `a list of at most ${LIMITS.layers} layer types`);
  }
  const vocab = typeof json.vocab_size === 'number' ? json.vocab_size : LIMITS.vocab;
  for (const f of ['bos_token_id', 'eos_token_id']) checkTokenId(json, f, vocab);
}

/** Block indices in tensor names: `model.layers.7.`, `transformer.h.7.`, `model.decoder.layers.7.`. */
const BLOCK_INDEX = /(?:^|\.)(?:layers|h)\.(\d{1,9})\./;

/**
 * The config's layer count against the checkpoint's blocks, before the architecture is described:
 * a config claiming more layers than the weights hold is refused in one line, not after building
 * a description of each claimed layer.
 */
export function validateAgainstTensors(json: Json, layers: number, file: SafetensorsFile, weightsFile: string): void {
  const present = new Set<number>();
  for (const name of file.tensors.keys()) {
    const m = BLOCK_INDEX.exec(name);
    if (m) present.add(Number(m[1]));
  }
  let contiguous = 0;
  while (present.has(contiguous)) contiguous++;
  if (layers > contiguous) {
    const field = LAYER_FIELDS.find((f) => json[f] !== undefined) ?? 'num_hidden_layers';
    if (contiguous === 0) {
      throw new ConfigError(`config.json: "${field}" is ${layers}, but ${weightsFile} has no tensors of block 0; is config.json for this checkpoint?`);
    }
    throw new ConfigError(
      `config.json: "${field}" is ${layers}, but ${weightsFile} holds ${contiguous} block${contiguous === 1 ? '' : 's'} (layers 0–${contiguous - 1}); it must be at most ${contiguous}, or config.json belongs to another checkpoint.`,
    );
  }
}
