/**
 * Rotary position embeddings as Hugging Face configures them: the base, the scaling type
 * (`rope_scaling`, or `rope_parameters` in transformers ≥ 5, possibly one dict per layer type as
 * Gemma 3 writes it), the rotated width (`partial_rotary_factor`), and the inverse frequencies and
 * cos/sin factor that follow (modeling_rope_utils.py). Unknown scaling types are refused by name.
 */
import { ConfigError } from './errors';

export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /**
   * LongRoPE (Phi-3): per-frequency divisors, the short ones for sequences up to the pretraining
   * length and the long ones beyond it; cos and sin are multiplied by `attentionFactor`.
   */
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };

export interface Rope {
  theta: number;
  scaling: RopeScaling;
}

type Json = Record<string, unknown>;

const SUPPORTED = 'default (none), linear, llama3, longrope';

function numbers(v: unknown, length: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== 'number' || !(x > 0))) {
    throw new ConfigError(`rope_scaling "longrope" needs ${what} as ${length} positive numbers (rotary width / 2).`);
  }
  return v as number[];
}

/**
 * One rope from its parameter dict (null: none) and the base it falls back to. `rotaryDim` is the
 * rotated width of a head; `aliases` maps type names a model family renames (Phi-3: su, yarn → longrope).
 */
export function parseRope(
  cfg: Json,
  params: Json | null | undefined,
  theta: number,
  rotaryDim: number,
  aliases: Record<string, string> = {},
): Rope {
  if (!params) return { theta, scaling: { type: 'default' } };
  const raw = String(params.rope_type ?? params.type ?? 'default');
  const type = aliases[raw] ?? raw;
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
    case 'longrope': {
      // transformers takes the config's top-level original_max_position_embeddings first (Phi-3 keeps it there).
      const orig = Number(cfg.original_max_position_embeddings ?? params.original_max_position_embeddings ?? cfg.max_position_embeddings);
      if (!(orig > 1)) throw new ConfigError('rope_scaling "longrope" needs original_max_position_embeddings.');
      const half = rotaryDim / 2;
      const shortFactor = numbers(params.short_factor, half, 'short_factor');
      const longFactor = numbers(params.long_factor, half, 'long_factor');
      // Without an explicit factor, the context extension is max / original positions.
      const f = factor > 0 ? factor : Number(cfg.max_position_embeddings) / orig;
      let attentionFactor = typeof params.attention_factor === 'number' ? params.attention_factor : NaN;
      if (!(attentionFactor > 0)) attentionFactor = f <= 1 ? 1 : Math.sqrt(1 + Math.log(f) / Math.log(orig));
      return { theta, scaling: { type: 'longrope', shortFactor, longFactor, originalMaxPositions: orig, attentionFactor } };
    }
    default:
      throw new ConfigError(`Unsupported rope_scaling type "${raw}". Supported: ${SUPPORTED}.`);
  }
}

/** Rotary inverse frequencies (float64) of `rotaryDim` rotated dimensions for windows of `seqlen` tokens. */
export function invFreq(rope: Rope, rotaryDim: number, seqlen: number): Float64Array {
  const half = rotaryDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(rope.theta, (2 * i) / rotaryDim);
  const s = rope.scaling;
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
  } else if (s.type === 'longrope') {
    // transformers picks the factors by the longest position in the batch: a window of seqlen tokens.
    const ext = seqlen > s.originalMaxPositions ? s.longFactor : s.shortFactor;
    for (let i = 0; i < half; i++) inv[i] /= ext[i];
  }
  return inv;
}

/** The factor on cos and sin (LongRoPE's attention scaling; 1 otherwise). */
export function cosSinFactor(rope: Rope): number {
  return rope.scaling.type === 'longrope' ? rope.scaling.attentionFactor : 1;
}
