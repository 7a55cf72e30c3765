/**
 * Seeded random hostile model folders, over every supported family: one field of config.json, one
 * claim of a safetensors header, one entry of a shard index or one part of tokenizer.json changed
 * at a time. Each case must end, within its time limit, in a model that opens and runs a tiny
 * float64 forward pass, or in one Error of ours whose message is one line naming the file; the
 * folder is never changed. A few cases go through `prune-studio eval` for the exit code and the
 * one-line stderr. FUZZ_SEED and FUZZ_CASES (cases per family and kind) widen a local run.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModelDir } from '../src/model/nodeFolder';
import { referenceLogits } from '../src/model/reference';
import { gemma3Checkpoint, gpt2Checkpoint, llamaCheckpoint, optCheckpoint, phi3Checkpoint, qwen3Checkpoint } from './helpers/checkpoints';
import { cli } from './helpers/cli';
import {
  buildContainer,
  checkpointFiles,
  hashFolder,
  json,
  parseContainer,
  parseJson,
  readFolder,
  shardFiles,
  text,
  withEmptyTensors,
  writeFolder,
  type Files,
} from './helpers/hostile';
import { rng } from './helpers/reference';

const STORIES = join(__dirname, '../../shared/models/stories260K');
const haveStories = existsSync(join(STORIES, 'model.safetensors'));
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const PER_KIND = Number(process.env.FUZZ_CASES ?? 12);
/** The bound for a whole case; opening and validating aims far lower. */
const CASE_LIMIT_MS = 20_000;
const OUR_ERRORS = new Set(['ConfigError', 'CheckpointError', 'SafetensorsError', 'TokenizerError', 'ModelFolderError']);

type Random = () => number;
const pick = <T>(r: Random, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const clone = <T>(v: T): T => structuredClone(v);

// ------------------------------------------------------------------ the families

const root = mkdtempSync(join(tmpdir(), 'prune-fuzz-'));
const storiesCopy = join(root, 'stories260K');
const sourceHash = haveStories ? hashFolder(STORIES) : '';
if (haveStories) cpSync(STORIES, storiesCopy, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

function families(): Array<{ name: string; files: Files }> {
  const tokenizer: Files = {};
  if (haveStories) {
    const stories = readFolder(storiesCopy);
    tokenizer['tokenizer.json'] = stories['tokenizer.json']!;
    tokenizer['tokenizer_config.json'] = stories['tokenizer_config.json']!;
  }
  // Vocabularies of 512 so that stories260K's tokenizer fits every family's embedding.
  const list = [
    { name: 'llama', files: checkpointFiles(llamaCheckpoint({ vocab: 512, layers: 2 }), 'F16', tokenizer) },
    { name: 'mistral', files: checkpointFiles(llamaCheckpoint({ modelType: 'mistral', vocab: 512, extraConfig: { sliding_window: 16 } }), 'F32', tokenizer) },
    { name: 'qwen2', files: checkpointFiles(llamaCheckpoint({ modelType: 'qwen2', vocab: 512, tie: true }), 'BF16', tokenizer) },
    { name: 'gpt2', files: checkpointFiles(gpt2Checkpoint({ vocab: 512 }), 'F32', tokenizer) },
    { name: 'opt', files: checkpointFiles(optCheckpoint({ vocab: 512 }), 'F32', tokenizer) },
    { name: 'qwen3', files: checkpointFiles(qwen3Checkpoint({ vocab: 512 }), 'BF16', tokenizer) },
    { name: 'gemma3_text', files: checkpointFiles(gemma3Checkpoint({ vocab: 512 }), 'F32', tokenizer) },
    { name: 'phi3', files: checkpointFiles(phi3Checkpoint({ vocab: 512 }), 'F16', tokenizer) },
  ];
  if (haveStories) {
    const stories = readFolder(storiesCopy);
    delete stories['generation_config.json'];
    list.unshift({ name: 'stories260K', files: stories });
  }
  return list;
}

// ------------------------------------------------------------------ mutations

/** Values a hostile config could hold instead of a number: sizes, counts, types. */
function hostileValue(r: Random, original: unknown): unknown {
  const n = typeof original === 'number' ? original : 8;
  return pick(r, [
    0, -1, -n, 1, 2, n + 1, n * 2, n - 1, n / 3, 1.5, 1e9, 1e11, 2 ** 31, 2 ** 53, 1e308, Number.MIN_VALUE,
    '32', '', 'NaN', null, true, false, [], [n], {}, { value: n },
  ]);
}

/** Fields the families read, present or not; a hostile config may add any. */
const CONFIG_FIELDS = [
  'hidden_size', 'n_embd', 'num_hidden_layers', 'n_layer', 'num_attention_heads', 'n_head', 'num_key_value_heads',
  'head_dim', 'intermediate_size', 'ffn_dim', 'n_inner', 'vocab_size', 'max_position_embeddings', 'n_positions',
  'rms_norm_eps', 'layer_norm_epsilon', 'rope_theta', 'partial_rotary_factor', 'sliding_window', 'max_window_layers',
  'use_sliding_window', 'tie_word_embeddings', 'bos_token_id', 'eos_token_id', 'word_embed_proj_dim', 'model_type',
  'hidden_act', 'activation_function', 'attention_bias', 'mlp_bias', 'layer_types', 'query_pre_attn_scalar',
  'sliding_window_pattern', 'rope_local_base_freq', 'final_logit_softcapping', 'original_max_position_embeddings',
];

/** Raw literals JSON.parse accepts or refuses, where an object would write a number. */
const RAW_LITERALS = ['1e400', '-1e400', 'NaN', 'Infinity', '-0', '1e-400', '00', '0x10', '9007199254740993'];

function mutateConfig(r: Random, files: Files): string {
  const cfg = parseJson(files['config.json']!);
  const field = pick(r, [...CONFIG_FIELDS, ...Object.keys(cfg)]);
  const roll = r();
  if (roll < 0.15) {
    // A literal JSON.parse reads as Infinity or refuses (NaN is not JSON).
    const literal = pick(r, RAW_LITERALS);
    const body = JSON.stringify({ ...cfg, [field]: '__RAW__' }).replace('"__RAW__"', literal);
    files['config.json'] = text(body);
    return `config.json ${field} = ${literal} (raw)`;
  }
  if (roll < 0.22) {
    const body = new TextDecoder().decode(files['config.json']!);
    files['config.json'] = text(body.slice(0, Math.floor(r() * body.length)));
    return 'config.json truncated';
  }
  if (roll < 0.3) {
    const rope = pick(r, [
      { rope_type: 'linear', factor: hostileValue(r, 2) },
      { rope_type: 'llama3', factor: 8, low_freq_factor: hostileValue(r, 1), high_freq_factor: 4, original_max_position_embeddings: hostileValue(r, 64) },
      { rope_type: hostileValue(r, 'x') },
      { rope_type: 'longrope', short_factor: [hostileValue(r, 1)], long_factor: new Array(Math.floor(r() * 9)).fill(1.5) },
      { full_attention: { rope_type: 'default', rope_theta: hostileValue(r, 1e4) }, sliding_attention: hostileValue(r, 1) },
      hostileValue(r, 1),
    ]);
    const key = r() < 0.5 ? 'rope_scaling' : 'rope_parameters';
    files['config.json'] = json({ ...cfg, [key]: rope });
    return `config.json ${key} = ${JSON.stringify(rope)}`;
  }
  if (roll < 0.36) {
    delete cfg[field];
    files['config.json'] = json(cfg);
    return `config.json without ${field}`;
  }
  const value = hostileValue(r, cfg[field]);
  files['config.json'] = json({ ...cfg, [field]: value });
  return `config.json ${field} = ${JSON.stringify(value)}`;
}

type Entry = { dtype: unknown; shape: unknown; data_offsets: unknown };

function mutateHeaderOf(r: Random, files: Files, file: string): string {
  const { header, data } = parseContainer(files[file]!);
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  const name = pick(r, names);
  const entry = clone(header[name]) as Entry;
  const shape = entry.shape as number[];
  const [begin, end] = entry.data_offsets as [number, number];
  const kind = Math.floor(r() * 12);
  let what: string;
  switch (kind) {
    case 0:
      entry.dtype = pick(r, ['F16', 'BF16', 'F32', 'F64', 'I8', 'U8', 'I32', 'I64', 'BOOL', 'F8_E4M3', 'Q4_0', '', 5, null]);
      what = `dtype ${JSON.stringify(entry.dtype)}`;
      break;
    case 1: {
      const s = shape.slice() as unknown[];
      s[Math.floor(r() * s.length)] = hostileValue(r, shape[0]);
      entry.shape = s;
      what = `shape ${JSON.stringify(s)}`;
      break;
    }
    case 2:
      entry.shape = pick(r, [[], [...shape, 1], [...shape, 0], [0, 2 ** 52, 2 ** 52], new Array(100_000).fill(1), 'x', null]);
      what = `shape of ${Array.isArray(entry.shape) ? entry.shape.length : 0} dims`;
      break;
    case 3: {
      const d = pick(r, [1, -1, 2, 4, -4, data.length, 2 ** 40]);
      entry.data_offsets = pick(r, [
        [begin + d, end + d],
        [begin, end + d],
        [end, begin],
        [-begin - 1, end],
        [begin + 0.5, end],
        [begin],
        [String(begin), end],
        null,
        [begin, 2 ** 53],
      ]);
      what = `data_offsets ${JSON.stringify(entry.data_offsets)}`;
      break;
    }
    case 4:
      delete header[name];
      return `${file} without ${name}`;
    case 5:
      header[name.replace(/\.(\d+)\./, '.999999999.')] = entry;
      delete header[name];
      return `${file} ${name} renamed to a far layer`;
    case 6: {
      const n = pick(r, [10, 5000, 140_000]);
      files[file] = withEmptyTensors(files[file]!, n);
      return `${file} with ${n} extra empty tensors`;
    }
    case 7:
      header.__metadata__ = pick(r, [{ format: 5 }, 'pt', [], { format: 'pt', total: { nested: true } }]);
      files[file] = buildContainer(header, data);
      return `${file} __metadata__ ${JSON.stringify(header.__metadata__)}`;
    case 8: {
      const raw = JSON.stringify(header);
      const lie = pick(r, [0n, 1n, BigInt(raw.length - 1), BigInt(raw.length + 9), 1n << 40n, (1n << 64n) - 1n]);
      files[file] = buildContainer(raw, data, lie);
      return `${file} header length claimed ${lie}`;
    }
    case 9: {
      const raw = JSON.stringify(header);
      files[file] = buildContainer(pick(r, [raw.slice(0, raw.length - 3), `[${raw}]`, '{}', `${'['.repeat(50_000)}${']'.repeat(50_000)}`, `{"a":${'['.repeat(50_000)}${']'.repeat(50_000)}}`]), data);
      return `${file} header text broken`;
    }
    case 10:
      files[file] = buildContainer(header, data.subarray(0, Math.floor(r() * data.length)));
      return `${file} data truncated`;
    default:
      header[name] = pick(r, [null, 5, 'x', [], { dtype: 'F32' }]);
      files[file] = buildContainer(header, data);
      return `${file} ${name} entry = ${JSON.stringify(header[name])}`;
  }
  header[name] = entry;
  files[file] = buildContainer(header, data);
  return `${file} ${name} ${what}`;
}

function mutateHeader(r: Random, files: Files): string {
  return mutateHeaderOf(r, files, 'model.safetensors');
}

function mutateIndex(r: Random, files: Files): string {
  Object.assign(files, shardFiles(files));
  delete files['model.safetensors'];
  const shards = Object.keys(files).filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f));
  if (r() < 0.3) return `sharded; ${mutateHeaderOf(r, files, pick(r, shards))}`;
  const index = parseJson(files['model.safetensors.index.json']!);
  const map = index.weight_map as Record<string, unknown>;
  const name = pick(r, Object.keys(map));
  const kind = Math.floor(r() * 7);
  let what: string;
  if (kind === 0) {
    map[name] = pick(r, ['missing.safetensors', '../model-00001-of-00002.safetensors', '/etc/passwd', '', '.', '..', 5, null, 'config.json', 'tokenizer.json']);
    what = `weight_map["${name}"] = ${JSON.stringify(map[name])}`;
  } else if (kind === 1) {
    map[name] = shards.find((s) => s !== map[name]);
    what = `weight_map["${name}"] moved to the other shard`;
  } else if (kind === 2) {
    delete map[name];
    what = `weight_map without ${name}`;
  } else if (kind === 3) {
    const n = pick(r, [100, 140_000]);
    for (let i = 0; i < n; i++) map[`ghost.${i}`] = shards[0];
    what = `weight_map with ${n} tensors no shard has`;
  } else if (kind === 4) {
    index.weight_map = pick(r, [null, [], 'x', 5]);
    what = `weight_map = ${JSON.stringify(index.weight_map)}`;
  } else if (kind === 5) {
    index.metadata = pick(r, [null, 5, 'x', { total_size: -1 }, { total_size: 'lots' }]);
    what = `metadata = ${JSON.stringify(index.metadata)}`;
  } else {
    const raw = JSON.stringify(index);
    files['model.safetensors.index.json'] = text(raw.slice(0, Math.floor(r() * raw.length)));
    return 'model.safetensors.index.json truncated';
  }
  files['model.safetensors.index.json'] = json(index);
  return `model.safetensors.index.json ${what}`;
}

function mutateTokenizer(r: Random, files: Files): string {
  if (r() < 0.1) {
    files['tokenizer_config.json'] = text(pick(r, ['[]', '5', '"x"', '{"bos_token": 5}', '{', 'null']));
    return `tokenizer_config.json = ${new TextDecoder().decode(files['tokenizer_config.json'])}`;
  }
  const tok = parseJson(files['tokenizer.json']!);
  const model = tok.model as Record<string, unknown>;
  const vocab = model.vocab as Record<string, unknown>;
  const added = tok.added_tokens as Array<Record<string, unknown>>;
  const kind = Math.floor(r() * 9);
  let what: string;
  if (kind === 0) {
    const token = pick(r, Object.keys(vocab));
    vocab[token] = hostileValue(r, vocab[token]);
    what = `model.vocab["${token}"] = ${JSON.stringify(vocab[token])}`;
  } else if (kind === 1) {
    model.vocab = hostileValue(r, 0);
    what = `model.vocab = ${JSON.stringify(model.vocab)}`;
  } else if (kind === 2) {
    model.merges = pick(r, ['x', [1, 2], [['a']], [null], {}, null]);
    what = `model.merges = ${JSON.stringify(model.merges)}`;
  } else if (kind === 3) {
    model.type = pick(r, ['Nope', 5, null, 'Unigram', 'WordPiece']);
    what = `model.type = ${JSON.stringify(model.type)}`;
  } else if (kind === 4 && added.length > 0) {
    const t = pick(r, added);
    t.id = hostileValue(r, t.id);
    what = `added_tokens id = ${JSON.stringify(t.id)}`;
  } else if (kind === 5) {
    tok.added_tokens = hostileValue(r, 0);
    what = `added_tokens = ${JSON.stringify(tok.added_tokens)}`;
  } else if (kind === 6) {
    const part = pick(r, ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']);
    tok[part] = pick(r, [{ type: 'Nope' }, 5, 'x', [], { type: 'Sequence', normalizers: 5 }]);
    what = `${part} = ${JSON.stringify(tok[part])}`;
  } else if (kind === 7) {
    tok.model = hostileValue(r, 0);
    what = `model = ${JSON.stringify(tok.model)}`;
  } else {
    const raw = JSON.stringify(tok);
    files['tokenizer.json'] = text(raw.slice(0, Math.floor(r() * raw.length)));
    return 'tokenizer.json truncated';
  }
  files['tokenizer.json'] = json(tok);
  return `tokenizer.json ${what}`;
}

const KINDS = { config: mutateConfig, header: mutateHeader, index: mutateIndex, tokenizer: mutateTokenizer } as const;

// ------------------------------------------------------------------ one case

interface Outcome {
  kind: 'opened' | 'refused';
  ms: number;
  message?: string;
}

async function withinLimit<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the folder; when it opens, a float64 forward of a few tokens must run. */
async function runCase(dir: string, what: string): Promise<Outcome> {
  const before = hashFolder(dir);
  const started = performance.now();
  let outcome: Outcome;
  try {
    const model = await withinLimit(openModelDir(dir), what);
    const ms = performance.now() - started;
    try {
      const tensors = new Map<string, Float32Array>();
      for (const name of model.arch.tensors.keys()) tensors.set(name, await model.weights.readF32(name));
      const ids = (model.tokenizer?.encode('Once upon a time') ?? [1, 2, 3]).slice(0, 6).map((t) => t % model.config.vocab);
      const logits = referenceLogits(model.arch, (name) => tensors.get(name)!, ids);
      expect(logits.length, what).toBe(ids.length * model.config.vocab);
    } finally {
      await model.close();
    }
    outcome = { kind: 'opened', ms };
  } catch (error) {
    const ms = performance.now() - started;
    const e = error as Error;
    expect(e, `${what}: threw ${String(error)}`).toBeInstanceOf(Error);
    expect(OUR_ERRORS.has(e.name), `${what}: a ${e.name} is not a refusal of ours: ${e.message}\n${e.stack}`).toBe(true);
    expect(e.message, `${what}: the message is not one line`).not.toMatch(/\n/);
    expect(e.message.length, `${what}: the message is too long: ${e.message.slice(0, 300)}…`).toBeLessThan(400);
    outcome = { kind: 'refused', ms, message: e.message };
  }
  expect(hashFolder(dir), `${what}: the folder changed`).toBe(before);
  return outcome;
}

/** The file a refusal must name for a mutation of `kind`. */
function namesFile(kind: keyof typeof KINDS, what: string, message: string): boolean {
  const files = ['config.json', 'model.safetensors', 'index.json', 'model-0000', 'tokenizer.json', 'tokenizer_config.json'];
  if (kind === 'tokenizer') return /tokenizer(_config)?\.json/.test(message);
  if (kind === 'config') return message.includes('config.json');
  // A lie in the weights may show only as a mismatch with the config: that message names config.json.
  if (what.includes('tokenizer')) return /tokenizer/.test(message);
  return files.some((f) => message.includes(f));
}

// ------------------------------------------------------------------ the suite

describe('hostile model folders (seeded fuzz)', () => {
  const timings: number[] = [];
  const totals: number[] = [];
  const tally = { opened: 0, refused: 0 };
  afterAll(() => {
    if (timings.length === 0) return;
    const sorted = [...timings].sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    console.log(
      `fuzz: ${sorted.length} cases (seed ${SEED}): ${tally.opened} opened and ran a forward pass, ${tally.refused} refused in one line; ` +
        `open+validate per case: mean ${mean.toFixed(1)} ms, median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ` +
        `whole case (write, open, forward, hash): mean ${(totals.reduce((a, b) => a + b, 0) / totals.length).toFixed(1)} ms, max ${Math.max(...totals).toFixed(1)} ms`,
    );
  });

  for (const family of families()) {
    for (const kind of Object.keys(KINDS) as Array<keyof typeof KINDS>) {
      it(`${family.name}: ${PER_KIND} mutations of the ${kind}`, async () => {
        const r = rng(SEED ^ (family.name.length * 7919) ^ (kind.length * 104729) ^ family.name.charCodeAt(0));
        for (let i = 0; i < PER_KIND; i++) {
          const caseStarted = performance.now();
          const files: Files = { ...family.files };
          const what = `${family.name} #${i}: ${KINDS[kind](r, files)}`;
          const dir = writeFolder(join(root, `${family.name}-${kind}-${i}`), files);
          const outcome = await runCase(dir, what);
          timings.push(outcome.ms);
          tally[outcome.kind]++;
          if (outcome.message !== undefined) expect(namesFile(kind, what, outcome.message), `${what}: "${outcome.message}" does not name the file`).toBe(true);
          if (process.env.FUZZ_VERBOSE) console.log(`${what} → ${outcome.kind} ${outcome.ms.toFixed(1)} ms ${outcome.message ?? ''}`);
          rmSync(dir, { recursive: true, force: true });
          totals.push(performance.now() - caseStarted);
          expect(totals.at(-1), what).toBeLessThan(CASE_LIMIT_MS);
        }
      });
    }
  }

  it.skipIf(!haveStories)('left the shared stories260K folder unchanged', () => {
    expect(hashFolder(STORIES)).toBe(sourceHash);
  });
});

// ------------------------------------------------------------------ through the CLI

describe.skipIf(!haveStories)('hostile folders through prune-studio eval', () => {
  const evalText = join(root, 'text.txt');
  const make = (name: string, change: (files: Files) => void): string => {
    const files = readFolder(storiesCopy);
    change(files);
    return writeFolder(join(root, `cli-${name}`), files);
  };
  const config = (patch: Record<string, unknown>) => (files: Files) => {
    files['config.json'] = json({ ...parseJson(files['config.json']!), ...patch });
  };

  const cases: Array<[string, (files: Files) => void, RegExp]> = [
    ['num_hidden_layers 1e9', config({ num_hidden_layers: 1_000_000_000 }), /config\.json: "num_hidden_layers" is 1000000000; it must be an integer from 1 to 1024/],
    ['a million empty tensors', (f) => (f['model.safetensors'] = withEmptyTensors(f['model.safetensors']!, 1_000_000)), /model\.safetensors: the header lists more than 131072 tensors/],
    ['max_position_embeddings 1e11', config({ max_position_embeddings: 100_000_000_000 }), /config\.json: "max_position_embeddings" is 100000000000; it must be an integer from 1 to 16777216/],
    ['num_hidden_layers beyond the weights', config({ num_hidden_layers: 9 }), /"num_hidden_layers" is 9, but model\.safetensors holds 5 blocks/],
    ['a negative token id', (f) => {
      const tok = parseJson(f['tokenizer.json']!);
      (tok.model as { vocab: Record<string, number> }).vocab['<s>'] = -7;
      f['tokenizer.json'] = json(tok);
    }, /tokenizer\.json: "model\.vocab" gives "<s>" the id -7/],
    ['a shape that needs more bytes than stored', (f) => {
      const { header, data } = parseContainer(f['model.safetensors']!);
      (header['model.norm.weight'] as { shape: number[] }).shape = [1_000_000_000];
      f['model.safetensors'] = buildContainer(header, data);
    }, /model\.safetensors: tensor "model\.norm\.weight" holds 256 bytes but dtype F32 with shape \[1000000000\] needs 4000000000/],
  ];

  it.each(cases)('%s: one line on stderr, exit code 1, within seconds', async (name, change, pattern) => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(evalText, 'Once upon a time there was a little dog. '.repeat(20));
    const dir = make(name.replace(/\W+/g, '-'), change);
    const before = hashFolder(dir);
    const started = performance.now();
    const run = await cli(['eval', dir, '--text', evalText, '--seqlen', '64'], CASE_LIMIT_MS);
    const ms = performance.now() - started;
    console.log(`cli ${name}: exit ${run.code} in ${(ms / 1000).toFixed(2)} s: ${run.stderr.trim()}`);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^prune-studio: error: /);
    expect(run.stderr).toMatch(pattern);
    expect(run.stderr).toContain(dir);
    expect(hashFolder(dir)).toBe(before);
    expect(ms).toBeLessThan(CASE_LIMIT_MS);
  });

  it('a context at the bound is accepted, and eval runs on it as on the original', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(evalText, 'Once upon a time there was a little dog. '.repeat(20));
    const dir = make('context-at-bound', config({ max_position_embeddings: 16_777_216 }));
    const started = performance.now();
    const run = await cli(['eval', dir, '--text', evalText, '--seqlen', '64', '--max-windows', '2', '--json', '--quiet'], CASE_LIMIT_MS);
    console.log(`cli context at the bound: exit ${run.code} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { perplexity: number; windows: number };
    expect(report.windows).toBe(2);
    expect(Number.isFinite(report.perplexity)).toBe(true);
  });
});
