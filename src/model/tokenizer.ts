/**
 * The model's own tokenizer (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers,
 * which reproduces HF's normalizer, pre-tokenizer, BPE/Unigram model and post-processor (the
 * post-processor is what prepends BOS for Llama-style tokenizers).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelConfig } from './config';

export interface TextTokenizer {
  /** Token ids of the whole text, with the special tokens the post-processor adds (e.g. BOS). */
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** One more than the largest token id the tokenizer can produce. */
  vocabSize: number;
}

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/**
 * Builds the tokenizer; with `config`, checks that every id it can emit is a row of the model's
 * embedding (vocab_size may be larger: models pad their tables, never smaller).
 */
export function loadTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown, config?: ModelConfig): TextTokenizer {
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
  } catch (error) {
    throw new TokenizerError(`tokenizer.json could not be loaded: ${(error as Error).message}`);
  }
  let maxId = -1;
  for (const id of tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const vocabSize = maxId + 1;
  if (config && vocabSize > config.vocab) {
    throw new TokenizerError(
      `The tokenizer has ${vocabSize} tokens but the model's vocab_size is ${config.vocab}: they do not belong together.`,
    );
  }
  return {
    vocabSize,
    encode: (text) => tok.encode(text).ids,
    decode: (ids) => tok.decode(ids),
  };
}
