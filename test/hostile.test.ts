/**
 * The hostile folders the issue found, refused in process within a second with the line that names
 * file and field, and the guards behind them: the header pre-scan, the bounds, the checks against
 * the tensors present, files that are not regular files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { countTopLevelMembers } from '../src/formats/jsonScan';
import { MAX_RANK, MAX_TENSORS, openSafetensors, openSharded, parseHeader } from '../src/formats/safetensors';
import { MAX_SHARDS } from '../src/formats/shards';
import { openModelDir } from '../src/model/nodeFolder';
import { loadTokenizer } from '../src/model/tokenizer';
import { LIMITS, validateConfigJson } from '../src/model/validate';
import { gpt2Checkpoint, llamaCheckpoint } from './helpers/checkpoints';
import { buildContainer, checkpointFiles, hashFolder, json, parseContainer, parseJson, readFolder, withEmptyTensors, writeFolder, type Files } from './helpers/hostile';

const STORIES = join(__dirname, '../../shared/models/stories260K');
const haveStories = existsSync(join(STORIES, 'model.safetensors'));
const root = mkdtempSync(join(tmpdir(), 'prune-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
const folder = (files: Files): string => writeFolder(join(root, `f${counter++}`), files);

/** The refusal of opening `dir`, with how long it took. */
async function refusal(dir: string): Promise<{ message: string; ms: number }> {
  const started = performance.now();
  const error = await openModelDir(dir).then(
    (m) => {
      void m.close();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  const ms = performance.now() - started;
  expect(error, 'the folder opened').toBeInstanceOf(Error);
  expect(error!.message).not.toMatch(/\n/);
  return { message: error!.message, ms };
}

describe.skipIf(!haveStories)('the three folders of the issue, made from stories260K', () => {
  const sourceHash = haveStories ? hashFolder(STORIES) : '';
  const stories = (): Files => readFolder(STORIES);
  const withConfig = (patch: Record<string, unknown>): Files => {
    const files = stories();
    files['config.json'] = json({ ...parseJson(files['config.json']!), ...patch });
    return files;
  };

  it('"num_hidden_layers": 1000000000 is refused at once (it was a heap out-of-memory after 77 s)', async () => {
    const { message, ms } = await refusal(folder(withConfig({ num_hidden_layers: 1_000_000_000 })));
    console.log(`num_hidden_layers 1e9: ${ms.toFixed(1)} ms: ${message}`);
    expect(message).toBe('config.json: "num_hidden_layers" is 1000000000; it must be an integer from 1 to 1024.');
    expect(ms).toBeLessThan(1000);
  });

  it('a header with a million extra empty tensors is refused before it is parsed (it was busy for over 20 s)', async () => {
    const files = stories();
    files['model.safetensors'] = withEmptyTensors(files['model.safetensors']!, 1_000_000);
    const { message, ms } = await refusal(folder(files));
    console.log(`a million empty tensors: ${ms.toFixed(1)} ms: ${message}`);
    expect(message).toBe(
      `model.safetensors: the header lists more than ${MAX_TENSORS} tensors; at most ${MAX_TENSORS} per file are accepted (real checkpoints have a few thousand at most)`,
    );
    expect(ms).toBeLessThan(2000);
  });

  it('"max_position_embeddings": 100000000000 is refused at once (eval --seqlen 64 was busy for over 60 s)', async () => {
    const { message, ms } = await refusal(folder(withConfig({ max_position_embeddings: 100_000_000_000 })));
    console.log(`max_position_embeddings 1e11: ${ms.toFixed(1)} ms: ${message}`);
    expect(message).toBe('config.json: "max_position_embeddings" is 100000000000; it must be an integer from 1 to 16777216.');
    expect(ms).toBeLessThan(1000);
  });

  it('more layers than the weights hold names both counts', async () => {
    const { message } = await refusal(folder(withConfig({ num_hidden_layers: 6 })));
    expect(message).toBe(
      'config.json: "num_hidden_layers" is 6, but model.safetensors holds 5 blocks (layers 0–4); it must be at most 5, or config.json belongs to another checkpoint.',
    );
  });

  it('the real folder still opens, and was never changed', async () => {
    const model = await openModelDir(STORIES);
    expect(model.config.layers).toBe(5);
    await model.close();
    expect(hashFolder(STORIES)).toBe(sourceHash);
  });
});

describe('config.json bounds', () => {
  const base = llamaCheckpoint().config;
  const refuse = (patch: Record<string, unknown>) => () => validateConfigJson({ ...base, ...patch });

  it('names the field and the valid range for counts, sizes and rotary parameters', () => {
    expect(refuse({ hidden_size: 1e6 })).toThrow('config.json: "hidden_size" is 1000000; it must be an integer from 1 to 65536.');
    expect(refuse({ vocab_size: -3 })).toThrow(`"vocab_size" is -3; it must be an integer from 1 to ${LIMITS.vocab}`);
    expect(refuse({ num_attention_heads: '8' })).toThrow('"num_attention_heads" is "8" (a string); it must be an integer from 1 to 4096');
    expect(refuse({ intermediate_size: 40.5 })).toThrow('"intermediate_size" is 40.5');
    expect(refuse({ head_dim: 1e5 })).toThrow('"head_dim" is 100000');
    expect(refuse({ rms_norm_eps: -1e-5 })).toThrow('"rms_norm_eps" is -0.00001; it must be a number from 0 up to 1');
    expect(refuse({ rope_theta: Infinity })).toThrow('"rope_theta" is Infinity');
    expect(refuse({ rope_scaling: { rope_type: 'linear', factor: 5e-324 } })).toThrow('"rope_scaling.factor" is 5e-324; it must be a number from 0.001 up to 1000000');
    expect(refuse({ rope_scaling: { rope_type: 'llama3', factor: 8, original_max_position_embeddings: 1e12 } })).toThrow(
      '"rope_scaling.original_max_position_embeddings" is 1000000000000',
    );
    expect(refuse({ rope_parameters: { full_attention: { rope_theta: -1 } } })).toThrow('"rope_parameters.full_attention.rope_theta" is -1; it must be a number from 1 up to');
    expect(refuse({ rope_parameters: { full_attention: { rope_theta: 1e4 }, sliding_attention: 1 } })).toThrow('"rope_parameters.sliding_attention" is 1; it must be an object or null');
    expect(refuse({ rope_scaling: 'yarn' })).toThrow('"rope_scaling" is "yarn" (a string); it must be an object or null');
    expect(refuse({ sliding_window: 2 ** 40 })).toThrow('"sliding_window" is 1099511627776');
    expect(refuse({ layer_types: new Array(2000).fill('full_attention') })).toThrow('"layer_types" is an array of 2000');
    expect(refuse({ eos_token_id: [2, 1e9] })).toThrow('"eos_token_id" is an array of 2; it must be a token id from 0 to 49 (vocab_size is 50)');
    expect(() => validateConfigJson([1, 2])).toThrow('config.json: the file holds an array of 2; it must be a JSON object.');
  });

  it('accepts every family as the tests build it, and real bounds', () => {
    expect(() => validateConfigJson(base)).not.toThrow();
    expect(() => validateConfigJson(gpt2Checkpoint().config)).not.toThrow();
    // Llama 4 Scout claims 10M positions; Llama 3.1's rope scaling; eos as a list.
    expect(() =>
      validateConfigJson({
        ...base,
        max_position_embeddings: 10_485_760,
        rope_theta: 500000,
        rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
        eos_token_id: [1, 2],
      }),
    ).not.toThrow();
  });

  it('a config.json above 16 MiB is refused by its size, before it is read', async () => {
    const ck = llamaCheckpoint();
    const files = checkpointFiles(ck);
    const padded = JSON.stringify({ ...ck.config, padding: 'x'.repeat(17 << 20) });
    files['config.json'] = new TextEncoder().encode(padded);
    const { message } = await refusal(folder(files));
    expect(message).toMatch(/^config\.json is \d+ bytes; it must be at most 16777216 bytes/);
  });
});

describe('safetensors headers', () => {
  const ck = llamaCheckpoint();
  const st = checkpointFiles(ck)['model.safetensors']!;

  it('the pre-scan counts top-level members exactly, strings and nesting included', () => {
    expect(countTopLevelMembers('{}', 10)).toBe(0);
    expect(countTopLevelMembers('{"a":1}', 10)).toBe(1);
    expect(countTopLevelMembers('{"a,b":[1,2,{"c":3,"d":4}],"e":"x\\",y","f":{}}', 10)).toBe(3);
    expect(countTopLevelMembers('{"a":1,"b":2,"c":3,"d":4}', 2)).toBe(3); // stops once past the limit
  });

  it('refuses more entries than the bound, before parsing and in parseHeader, and accepts the bound', async () => {
    const many = withEmptyTensors(st, MAX_TENSORS + 1);
    await expect(openSafetensors(bytesSource(many, 'many.safetensors'))).rejects.toThrow(`many.safetensors: the header lists more than ${MAX_TENSORS} tensors`);
    const parsed: Record<string, unknown> = {};
    for (let i = 0; i <= MAX_TENSORS; i++) parsed[`t${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
    expect(() => parseHeader('parsed.safetensors', parsed, 8, 0)).toThrow(`parsed.safetensors: the header lists ${MAX_TENSORS + 1} tensors`);
    // Exactly at the bound is still a valid file.
    const { header } = parseContainer(st);
    const atBound = withEmptyTensors(st, MAX_TENSORS - Object.keys(header).length);
    const file = await openSafetensors(bytesSource(atBound, 'bound.safetensors'));
    expect(file.tensors.size).toBe(MAX_TENSORS);
  });

  it('refuses a shape of too many dimensions before walking it, and empty tensors with absurd dimensions', async () => {
    const { header, data } = parseContainer(st);
    const deep = { ...header, extra: { dtype: 'F32', shape: new Array(1_000_000).fill(1), data_offsets: [0, 0] } };
    await expect(openSafetensors(bytesSource(buildContainer(deep, data), 'deep.safetensors'))).rejects.toThrow(
      `deep.safetensors: tensor "extra" has a shape of 1000000 dimensions; at most ${MAX_RANK} are accepted`,
    );
    const wide = { ...header, extra: { dtype: 'F32', shape: [0, 2 ** 40, 2 ** 40], data_offsets: [0, 0] } };
    await expect(openSafetensors(bytesSource(buildContainer(wide, data), 'wide.safetensors'))).rejects.toThrow(/tensor "extra" shape \[0,1099511627776,1099511627776\] is too large/);
  });

  it('refuses an index naming more shards than any checkpoint has', async () => {
    const map: Record<string, string> = {};
    for (let i = 0; i <= MAX_SHARDS; i++) map[`t${i}`] = `model-${i}.safetensors`;
    const index = bytesSource(json({ weight_map: map }), 'model.safetensors.index.json');
    await expect(openSharded(index, () => bytesSource(st, 'x'))).rejects.toThrow(`"weight_map" names more than ${MAX_SHARDS} shard files`);
  });
});

describe('tokenizer.json', () => {
  it.skipIf(!haveStories)('refuses ids that are negative, fractional or huge, and malformed merges, naming the token', () => {
    const tok = parseJson(readFolder(STORIES)['tokenizer.json']!);
    const model = tok.model as { vocab: Record<string, unknown>; merges: unknown[] };
    const withVocab = (id: unknown) => ({ ...tok, model: { ...model, vocab: { ...model.vocab, '▁the': id } } });
    expect(() => loadTokenizer(withVocab(-1), {})).toThrow(`tokenizer.json: "model.vocab" gives "▁the" the id -1; ids must be integers from 0 to ${LIMITS.vocab - 1}.`);
    expect(() => loadTokenizer(withVocab(2.5), {})).toThrow('the id 2.5');
    expect(() => loadTokenizer(withVocab(2 ** 40), {})).toThrow('the id 1099511627776');
    expect(() => loadTokenizer({ ...tok, model: { ...model, merges: [null] } }, {})).toThrow('tokenizer.json: "model.merges" entry 0 is null');
    expect(() => loadTokenizer({ ...tok, added_tokens: [{ id: 1e12, content: '<x>' }] }, {})).toThrow('"added_tokens" gives "<x>" the id 1000000000000');
    expect(() => loadTokenizer(tok, 'x')).toThrow('tokenizer_config.json: the file holds "x" (a string); it must be a JSON object.');
  });
});

describe('files that are not regular files', () => {
  it('a config.json linked to /dev/zero and a FIFO for the weights are refused, not read forever', async () => {
    const files = checkpointFiles(llamaCheckpoint());
    const zero = folder({ 'model.safetensors': files['model.safetensors']! });
    symlinkSync('/dev/zero', join(zero, 'config.json'));
    expect((await refusal(zero)).message).toBe(`f${counter - 1}: config.json is not a regular file.`);

    const fifo = folder({ 'config.json': files['config.json']! });
    execFileSync('mkfifo', [join(fifo, 'model.safetensors')]);
    expect((await refusal(fifo)).message).toMatch(/model\.safetensors is not a regular file/);
  });

  it('links to regular files, as the Hugging Face cache lays out snapshots, still open', async () => {
    const files = checkpointFiles(llamaCheckpoint());
    const blobs = folder(files);
    const snapshot = join(root, 'snapshot');
    writeFolder(snapshot, {});
    for (const name of Object.keys(files)) symlinkSync(join(blobs, name), join(snapshot, name));
    const model = await openModelDir(snapshot);
    expect(model.arch.blocks).toHaveLength(2);
    await model.close();
  });
});
