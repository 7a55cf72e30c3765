/**
 * The model's own tokenizer (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers,
 * which reproduces HF's normalizer, pre-tokenizer, BPE/Unigram model and post-processor (the
 * post-processor is what prepends BOS for Llama-style tokenizers).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelConfig } from './config';
import { isObject, LIMITS, shown } from './validate';

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

const tokenizerError = (field: string, problem: string) => new TokenizerError(`tokenizer.json: "${field}" ${problem}.`);

function checkId(field: string, key: string, id: unknown): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= LIMITS.vocab) {
    throw tokenizerError(field, `gives ${JSON.stringify(key)} the id ${shown(id)}; ids must be integers from 0 to ${LIMITS.vocab - 1}`);
  }
}

/**
 * The raw tokenizer.json, before the tokenizer library builds tables from it: vocabulary, merges and
 * added tokens are of bounded size with integer ids (a huge or negative id would index the embedding
 * out of range; the vocabulary against the model's vocab_size is checked once the tokenizer is built).
 */
export function validateTokenizerJson(json: unknown): void {
  if (!isObject(json)) throw new TokenizerError(`tokenizer.json: the file holds ${shown(json)}; it must be a JSON object.`);
  const model = json.model;
  if (!isObject(model)) throw tokenizerError('model', `is ${shown(model)}; it must be an object with "type" and "vocab"`);
  const vocab = model.vocab;
  if (Array.isArray(vocab)) {
    // Unigram: [piece, score] pairs, the id being the position.
    if (vocab.length > LIMITS.vocab) throw tokenizerError('model.vocab', `has ${vocab.length} entries; at most ${LIMITS.vocab} are accepted`);
    vocab.forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number' || !Number.isFinite(entry[1])) {
        throw tokenizerError('model.vocab', `entry ${i} is ${shown(entry)}; each must be a [piece, score] pair`);
      }
    });
  } else if (isObject(vocab)) {
    const entries = Object.entries(vocab);
    if (entries.length > LIMITS.vocab) throw tokenizerError('model.vocab', `has ${entries.length} entries; at most ${LIMITS.vocab} are accepted`);
    for (const [token, id] of entries) checkId('model.vocab', token, id);
  } else if (vocab !== undefined) {
    throw tokenizerError('model.vocab', `is ${shown(vocab)}; it must be an object of token → id or a list of [piece, score]`);
  }
  const merges = model.merges;
  if (merges !== undefined && (!Array.isArray(merges) || merges.length > LIMITS.merges)) {
    throw tokenizerError('model.merges', `is ${shown(merges)}; it must be a list of at most ${LIMITS.merges} merges`);
  }
  if (Array.isArray(merges)) {
    // "a b" (older files) or ["a", "b"] (tokenizers ≥ 0.20).
    const bad = merges.findIndex((m) => !(typeof m === 'string' || (Array.isArray(m) && m.length === 2 && m.every((p) => typeof p === 'string'))));
    if (bad >= 0) throw tokenizerError('model.merges', `entry ${bad} is ${shown(merges[bad])}; each must be "a b" or ["a", "b"]`);
  }
  const added = json.added_tokens;
  if (added === undefined || added === null) return;
  if (!Array.isArray(added) || added.length > LIMITS.vocab) {
    throw tokenizerError('added_tokens', `is ${shown(added)}; it must be a list of at most ${LIMITS.vocab} tokens`);
  }
  added.forEach((token, i) => {
    if (!isObject(token) || typeof token.content !== 'string') throw tokenizerError('added_tokens', `entry ${i} is ${shown(token)}; each needs a "content" string and an "id"`);
    checkId('added_tokens', token.content, token.id);
  });
}

/**
 * Builds the tokenizer; with `config`, checks that every id it can emit is a row of the model's
 * embedding (vocab_size may be larger: models pad their tables, never smaller).
 */
export function loadTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown, config?: ModelConfig): TextTokenizer {
  validateTokenizerJson(tokenizerJson);
  if (tokenizerConfig !== undefined && tokenizerConfig !== null && !isObject(tokenizerConfig)) {
    throw new TokenizerError(`tokenizer_config.json: the file holds ${shown(tokenizerConfig)}; it must be a JSON object.`);
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
  } catch (error) {
    throw new TokenizerError(`tokenizer.json could not be loaded: ${(error as Error).message ?? String(error)}`);
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
