/**
 * Perplexity as the pruning papers report it: tokenize the whole evaluation text once (with the
 * special tokens the tokenizer's post-processor adds, e.g. one BOS at the start), cut the ids into
 * consecutive non-overlapping windows of `seqlen`, drop the last partial window, and take
 * exp(mean NLL) over every predicted token (seqlen − 1 per window) of every window.
 */
import { checkpoint, type RunControl } from '../shared/control';
import type { ModelRunner } from './forward';
import type { TextTokenizer } from './tokenizer';

export interface PerplexityOptions {
  seqlen: number;
  /** Evaluate only the first this many windows (quick estimates, tests). */
  maxWindows?: number;
  /** Windows per GPU batch; default sized to `batchBytes`. */
  windowsPerBatch?: number;
  /** GPU memory budget of one batch's activations; default 256 MiB. */
  batchBytes?: number;
  onProgress?: (windowsDone: number, windowsTotal: number, runningPerplexity: number) => void;
  /** Pause and cancel, checked between batches of windows. */
  control?: RunControl;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean NLL (nats) per predicted token. */
  nll: number;
  /** Tokens in the evaluated windows (windows × seqlen). */
  tokens: number;
  /** Predicted tokens the mean is over (windows × (seqlen − 1)). */
  predicted: number;
  windows: number;
  /** Length of the whole tokenized text. */
  textTokens: number;
}

export class PerplexityError extends Error {
  override name = 'PerplexityError';
}

/** Perplexity of a token sequence (already tokenized). */
export async function perplexityOfTokens(runner: ModelRunner, ids: ArrayLike<number>, options: PerplexityOptions): Promise<PerplexityResult> {
  const { seqlen } = options;
  const available = Math.floor(ids.length / seqlen);
  const windows = Math.min(available, options.maxWindows ?? Infinity);
  if (windows < 1) {
    throw new PerplexityError(`The text has ${ids.length} tokens, fewer than one window of ${seqlen}; use a longer text or a shorter window.`);
  }
  const byMemory = Math.floor((options.batchBytes ?? 256 * 2 ** 20) / (runner.bytesPerRow() * seqlen));
  const byBinding = Math.floor(runner.maxBatchRows() / seqlen);
  const perBatch = Math.max(1, Math.min(windows, byBinding, options.windowsPerBatch ?? byMemory));
  let sum = 0;
  let count = 0;
  for (let w0 = 0; w0 < windows; w0 += perBatch) {
    await checkpoint(options.control);
    const n = Math.min(perBatch, windows - w0);
    const batch = Array.from({ length: n * seqlen }, (_, i) => ids[w0 * seqlen + i]);
    const nll = await runner.windowsNll(batch, n, seqlen);
    for (const v of nll) {
      if (Number.isNaN(v)) continue; // the last row of each window predicts nothing
      sum += v;
      count++;
    }
    options.onProgress?.(w0 + n, windows, Math.exp(sum / count));
  }
  const nll = sum / count;
  return { perplexity: Math.exp(nll), nll, tokens: windows * seqlen, predicted: count, windows, textTokens: ids.length };
}

/** Perplexity of a text with the model's tokenizer. */
export async function perplexityOfText(
  runner: ModelRunner,
  tokenizer: TextTokenizer,
  text: string,
  options: PerplexityOptions,
): Promise<PerplexityResult> {
  return perplexityOfTokens(runner, tokenizer.encode(text), options);
}
