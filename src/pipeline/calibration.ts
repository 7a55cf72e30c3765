import type { TextTokenizer } from '../model/tokenizer';

export interface WindowOptions {
  nsamples: number;
  seqlen: number;
  seed: number;
}

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

/** mulberry32: a small seeded generator, so a seed names one exact set of windows everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `nsamples` windows of `seqlen` consecutive tokens at seeded random offsets of the tokenized
 * text, concatenated: [nsamples·seqlen]. As the papers sample C4, windows may overlap.
 */
export function sampleWindows(tokens: ArrayLike<number>, o: WindowOptions): Uint32Array {
  const { nsamples, seqlen } = o;
  if (!Number.isInteger(nsamples) || nsamples < 1) throw new CalibrationError(`The number of calibration samples must be a positive integer, got ${nsamples}.`);
  if (!Number.isInteger(seqlen) || seqlen < 2) throw new CalibrationError(`The calibration window must be at least 2 tokens, got ${seqlen}.`);
  if (tokens.length < seqlen) {
    throw new CalibrationError(`The calibration text has ${tokens.length} tokens, fewer than one window of ${seqlen}: use a longer text or a shorter window.`);
  }
  const random = seededRandom(o.seed);
  const out = new Uint32Array(nsamples * seqlen);
  const span = tokens.length - seqlen + 1;
  for (let s = 0; s < nsamples; s++) {
    const start = Math.floor(random() * span);
    for (let t = 0; t < seqlen; t++) out[s * seqlen + t] = tokens[start + t];
  }
  return out;
}

/** Tokenizes the calibration text once and samples its windows. */
export function calibrationWindows(tokenizer: TextTokenizer, text: string, o: WindowOptions): Uint32Array {
  if (!text.trim()) throw new CalibrationError('The calibration text is empty.');
  return sampleWindows(tokenizer.encode(text), o);
}
