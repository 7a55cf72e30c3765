/**
 * Compact sparse checkpoints (docs/compact.md): the compressed-tensors layouts against the stored
 * bytes on awkward shapes; whole-model round trips of several families at 50 % and 2:4 (F32, F16,
 * BF16, sharded) to bit-identical weights and the same perplexity; hostile compact files refused in
 * one line; an independent decoder in Python (numpy + safetensors, following the spec, since
 * compressed-tensors is not in the local package mirror); `prune --compact`, `compact` and `eval`
 * end to end on stories260K.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineSession } from '../src/engine/session';
import { DEFAULT_ALPS } from '../src/shared/methods';
import { memoryKv } from '../src/shared/kv';
import { decodeCompact, encodeCompact, type CompactFormat } from '../src/formats/compactLayout';
import { compactWeights } from '../src/formats/compactView';
import { f32ToBf16Array, f32ToF16Array, toLeBytes, type WritableDType } from '../src/formats/dtypes';
import { ModelRunner } from '../src/model/forward';
import { openModel, type OpenedModel } from '../src/model/loader';
import { perplexityOfTokens } from '../src/model/perplexity';
import { gpt2Checkpoint, llamaCheckpoint, qwen3Checkpoint, randomTokens, type Checkpoint } from './helpers/checkpoints';
import { bundledAssets } from './helpers/bundledRun';
import { cli, ROOT } from './helpers/cli';
import { testGpu } from './helpers/gpu';
import { memFolder, pruneEdits, written } from './helpers/compactModels';
import { buildContainer, checkpointFiles, json, parseContainer, parseJson, shardFiles, type Files } from './helpers/hostile';
import { oraclePython } from './helpers/oracle';
import { randn } from './helpers/reference';

const root = mkdtempSync(join(tmpdir(), 'prune-compact-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sizeOf = (files: Files, pick: (name: string) => boolean = (n) => n.endsWith('.safetensors')) =>
  Object.entries(files).reduce((n, [name, bytes]) => n + (pick(name) ? bytes.byteLength : 0), 0);

// ------------------------------------------------------------------ layouts

/** Stored bytes of `values` as `dtype`. */
function stored(values: Float32Array, dtype: WritableDType): Uint8Array {
  return toLeBytes(dtype === 'F32' ? values : dtype === 'F16' ? f32ToF16Array(values) : f32ToBf16Array(values));
}

/** A [rows, cols] weight with `keep` of every group kept (or about `density` of all), an all-zero row, a fully dense row and −0 entries. */
function sparseWeight(rows: number, cols: number, seed: number, rule: { density: number } | { keep: number; group: number }): Float32Array {
  const w = Float32Array.from(randn(rows * cols, seed));
  const u = randn(rows * cols, seed + 1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if ('density' in rule) {
        if (r === 0 && rows > 2) w[i] = 0;
        else if (r === 1 && rows > 2) continue;
        else if (Math.abs(u[i]) > rule.density * 2) w[i] = 0;
      } else if (c % rule.group >= rule.keep) w[i] = 0;
    }
  }
  // −0 where a value is kept (its bits are not zero, so it stays a value).
  if ('density' in rule && rows * cols > 3) {
    w[rows * cols - 1] = -0;
    w[Math.floor((rows * cols) / 2)] = -0;
  } else w[0] = -0;
  return w;
}

describe('compact layouts', () => {
  const shapes: [number, number][] = [[1, 1], [1, 13], [3, 8], [5, 44], [7, 4], [4, 67], [9, 32]];
  for (const dtype of ['F32', 'F16', 'BF16'] as WritableDType[]) {
    it(`sparse-bitmask round-trips ${dtype} bits exactly (one row, one column, odd widths, empty and full rows, −0)`, () => {
      for (const [i, [rows, cols]] of shapes.entries()) {
        const bytes = stored(sparseWeight(rows, cols, 10 + i, { density: 0.45 }), dtype);
        const parts = encodeCompact('sparse-bitmask', dtype, rows, cols, bytes);
        expect(parts.get('bitmask')!.byteLength).toBe(rows * Math.ceil(cols / 8));
        const offsets = new BigInt64Array(parts.get('row_offsets')!.slice().buffer);
        const decoded = decodeCompact(dtype, rows, cols, { compressed: parts.get('compressed')!, bitmask: parts.get('bitmask')!, rowOffsets: Array.from(offsets, Number) });
        expect(Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
      }
    });
    it(`sparse-24-bitmask stores two of every four ${dtype} values, padding groups with fewer`, () => {
      for (const [i, [rows, cols]] of shapes.filter(([, c]) => c % 4 === 0).entries()) {
        const w = sparseWeight(rows, cols, 30 + i, { keep: 2, group: 4 });
        // A group keeping fewer than two non-zeros still stores two.
        w.fill(0, 0, 4);
        const bytes = stored(w, dtype);
        const parts = encodeCompact('sparse-24-bitmask', dtype, rows, cols, bytes);
        expect(parts.get('compressed')!.byteLength).toBe((rows * cols * (dtype === 'F32' ? 4 : 2)) / 2);
        expect(parts.has('row_offsets')).toBe(false);
        const decoded = decodeCompact(dtype, rows, cols, { compressed: parts.get('compressed')!, bitmask: parts.get('bitmask')! });
        expect(Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
      }
      expect(() => encodeCompact('sparse-24-bitmask', dtype, 1, 4, stored(new Float32Array([1, 2, 3, 0]), dtype))).toThrow(/at most 2 of every 4/);
    });
  }
});

// ------------------------------------------------------------------ whole models

interface Case {
  label: string;
  ck: Checkpoint;
  dtype: WritableDType;
  rule: { sparsity: number } | { n: number; m: number };
  format: CompactFormat;
  sharded?: boolean;
  perplexity?: boolean;
}

const CASES: Case[] = [
  { label: 'llama F32 50 %', ck: llamaCheckpoint({ intermediate: 44 }), dtype: 'F32', rule: { sparsity: 0.5 }, format: 'sparse-bitmask', perplexity: true },
  { label: 'qwen3 BF16 2:4', ck: qwen3Checkpoint(), dtype: 'BF16', rule: { n: 2, m: 4 }, format: 'sparse-24-bitmask', perplexity: true },
  { label: 'llama BF16 50 %, sharded input', ck: llamaCheckpoint({ hidden: 48, heads: 4, kvHeads: 2, intermediate: 52, seed: 3 }), dtype: 'BF16', rule: { sparsity: 0.5 }, format: 'sparse-bitmask', sharded: true },
  // GPT-2's Conv1D stores [in, out]: its 2:4 groups run across the stored rows, so sparse-bitmask.
  { label: 'gpt2 F16 2:4', ck: gpt2Checkpoint(), dtype: 'F16', rule: { n: 2, m: 4 }, format: 'sparse-bitmask' },
];

describe('compact export round trips', () => {
  for (const c of CASES) {
    it(`${c.label}: ${c.format}, smaller, bit-identical weights, the dense export written back byte for byte${c.perplexity ? ', the same perplexity' : ''}`, async () => {
      let files = checkpointFiles(c.ck, c.dtype);
      if (c.sharded) files = shardFiles(files);
      const model = await openModel(memFolder(files));
      const edits = await pruneEdits(model, c.rule);
      const dense = await written(model, edits, false);
      const compact = await written(model, edits, true);
      // Resharded small: a weight's parts may land in different shards.
      const resharded = c.sharded ? await written(model, edits, true, 20_000) : null;
      await model.close();
      if (c.sharded) expect(Object.keys(compact).filter((n) => n.endsWith('.safetensors')).length).toBe(2);
      const config = parseJson(compact['config.json']) as { quantization_config: { quant_method: string; sparsity_config: { format: string; targets: string[] } } };
      expect(config.quantization_config.quant_method).toBe('compressed-tensors');
      expect(config.quantization_config.sparsity_config.format).toBe(c.format);
      expect(parseJson(dense['config.json']).quantization_config).toBeUndefined();

      const a = await openModel(memFolder(dense));
      if (resharded) {
        expect(Object.keys(resharded).filter((n) => n.endsWith('.safetensors')).length).toBeGreaterThan(2);
        const r = await openModel(memFolder(resharded));
        for (const name of a.file.tensors.keys()) expect(Buffer.from(await r.file.readRaw(name)).equals(Buffer.from(await a.file.readRaw(name))), name).toBe(true);
        await r.close();
      }
      const b = await openModel(memFolder(compact));
      const view = compactWeights(b.file)!;
      expect(view.format).toBe(c.format);
      expect(view.weights.size).toBe(edits.weights.size);
      let prunedDense = 0;
      let prunedCompact = 0;
      // Bytes a compressed weight adds beyond one bit per weight: sparse-bitmask's row offsets (8 a row) and each shape (16).
      let overhead = 0;
      for (const [name, info] of a.file.tensors) {
        const other = b.file.info(name);
        expect([other.dtype, other.shape]).toEqual([info.dtype, info.shape]);
        expect(Buffer.from(await b.file.readRaw(name)).equals(Buffer.from(await a.file.readRaw(name)))).toBe(true);
        if (view.weights.has(name)) {
          prunedDense += info.end - info.begin;
          overhead += 16 + (c.format === 'sparse-bitmask' ? 8 * info.shape[0] : 0) + info.shape[0];
        }
      }
      for (const shard of Object.keys(compact).filter((n) => n.endsWith('.safetensors'))) {
        for (const [name, e] of Object.entries(parseContainer(compact[shard]).header)) {
          if (/\.(compressed|bitmask|row_offsets|shape)$/.test(name)) prunedCompact += (e as { data_offsets: number[] }).data_offsets[1] - (e as { data_offsets: number[] }).data_offsets[0];
        }
      }
      // Half the values plus one bit per weight (padded to whole bytes a row), plus the offsets and shapes.
      const bitsPerValue = c.dtype === 'F32' ? 32 : 16;
      expect(prunedCompact).toBeLessThanOrEqual(prunedDense * (0.5 + 1 / bitsPerValue) + overhead);
      // At these toy widths the row offsets weigh (8 bytes per row of 32–52 values); from ~300 columns on they are under 2 %.
      if (c.format === 'sparse-24-bitmask' || c.dtype === 'F32') expect(prunedCompact / prunedDense).toBeLessThanOrEqual(0.6);
      expect(sizeOf(compact)).toBeLessThan(sizeOf(dense));

      // The dense export of the compact folder is the dense export, byte for byte.
      const again = await written(b, { weights: new Map(), metadata: {}, report: {} }, false);
      for (const name of Object.keys(dense).filter((n) => n !== 'prune_report.json')) expect(Buffer.from(again[name]).equals(Buffer.from(dense[name])), name).toBe(true);

      if (c.perplexity) {
        const gpu = await testGpu();
        const ids = randomTokens(64, b.config.vocab, 5);
        const ppl = async (m: OpenedModel) => {
          const runner = new ModelRunner(gpu, m.arch, m.weights);
          try {
            return (await perplexityOfTokens(runner, ids, { seqlen: 32 })).perplexity;
          } finally {
            runner.dispose();
          }
        };
        expect(await ppl(b)).toBe(await ppl(a));
      }
      await a.close();
      await b.close();
    }, 120_000);
  }
});

// ------------------------------------------------------------------ hostile compact files

describe('hostile compact files', () => {
  let base: Files;
  const mutate = (edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>, data: Uint8Array) => void, config?: (c: Record<string, unknown>) => void): Files => {
    const { header, data } = parseContainer(base['model.safetensors']);
    const copy = data.slice();
    const h = JSON.parse(JSON.stringify(header)) as Parameters<typeof edit>[0];
    edit(h, copy);
    const out: Files = { ...base, 'model.safetensors': buildContainer(h, copy) };
    if (config) {
      const c = parseJson(base['config.json']);
      config(c);
      out['config.json'] = json(c);
    }
    return out;
  };
  const W = 'model.layers.0.mlp.up_proj';

  /** The one-line refusal of opening the folder and reading every weight. */
  async function refusal(files: Files): Promise<string> {
    try {
      const model = await openModel(memFolder(files));
      for (const name of model.file.tensors.keys()) await model.weights.readF32(name);
      await model.close();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      return message;
    }
    throw new Error('the folder was accepted');
  }

  it('each broken claim is refused with the file, the tensor and the problem', async () => {
    const model = await openModel(memFolder(checkpointFiles(llamaCheckpoint({ intermediate: 44 }), 'BF16')));
    base = await written(model, await pruneEdits(model, { sparsity: 0.5 }), true);
    await model.close();
    const cases: [string, Files, RegExp][] = [
      ['bitmask shorter than the shape', mutate((h) => {
        const b = h[`${W}.bitmask`];
        b.shape = [43, 4];
        b.data_offsets[1] -= 4;
      }), /model\.safetensors.*up_proj\.bitmask.*needs a U8 bitmask of shape \[44, 4\]/],
      ['row offset out of range', mutate((h, d) => new DataView(d.buffer).setBigInt64(h[`${W}.row_offsets`].data_offsets[0] + 8, 10n ** 12n, true)), /up_proj.*row_offsets\[1\] is 1000000000000/],
      ['bitmask keeps more than stored', mutate((h, d) => void (d[h[`${W}.bitmask`].data_offsets[1] - 1] |= 0xff)), /up_proj.*bitmask keeps more values than the \d+ stored/],
      ['dense shape disagrees', mutate((h, d) => new DataView(d.buffer).setBigInt64(h[`${W}.shape`].data_offsets[0], 45n, true)), /up_proj\.bitmask.*\[45, 32\]/],
      ['a part missing', mutate((h) => void delete h[`${W}.row_offsets`]), /"model\.layers\.0\.mlp\.up_proj\.compressed" has no ".*row_offsets" next to it/],
      ['no format declared', mutate(() => undefined, (c) => delete c.quantization_config), /compact sparse weight, but config\.json has no quantization_config\.sparsity_config/],
      ['quantized', mutate(() => undefined, (c) => ((c.quantization_config as Record<string, unknown>).config_groups = { group_0: { targets: ['Linear'] } })), /config_groups: quantized compressed-tensors weights are not read/],
      ['other quantization', mutate(() => undefined, (c) => (c.quantization_config = { quant_method: 'gptq' })), /quant_method "gptq"/],
    ];
    for (const [label, files, pattern] of cases) expect(await refusal(files), label).toMatch(pattern);
  });
});

// ------------------------------------------------------------------ independent decoder

/** Decodes every compact weight with numpy.unpackbits (bitorder little) as the spec says, and compares its bits with the dense export's. */
const PY_DECODE = String.raw`
import json, sys, numpy as np, torch
from safetensors.torch import load_file
bits = lambda t: t.view(torch.int16 if t.element_size() == 2 else torch.int32).numpy()
for dense_dir, compact_dir in zip(sys.argv[1::2], sys.argv[2::2]):
    fmt = json.load(open(compact_dir + '/config.json'))['quantization_config']['sparsity_config']['format']
    d = load_file(dense_dir + '/model.safetensors'); c = load_file(compact_dir + '/model.safetensors')
    checked = 0
    for name in d:
        p = name[:-len('.weight')] if name.endswith('.weight') else name
        if p + '.compressed' not in c:
            assert np.array_equal(bits(c[name]), bits(d[name])), name; continue
        rows, cols = c[p + '.shape'].flatten().tolist()
        mask = np.unpackbits(c[p + '.bitmask'].numpy(), axis=-1, count=cols, bitorder='little').astype(bool)
        values = bits(c[p + '.compressed']).flatten()
        out = np.zeros((rows, cols), dtype=values.dtype); out[mask] = values
        if fmt == 'sparse-bitmask':
            counts = mask.sum(axis=1); assert np.array_equal(c[p + '.row_offsets'].numpy(), np.cumsum(counts) - counts), p
        assert c[p + '.compressed'].dtype == d[name].dtype and np.array_equal(out, bits(d[name])), p
        checked += 1
    print(json.dumps({'format': fmt, 'checked': checked}))
`;

describe('an independent decoder', () => {
  it('numpy + safetensors decode the compact weights to the dense export, bit for bit, in both formats', async () => {
    const python = oraclePython();
    const pairs: string[] = [];
    const expected: { format: string; checked: number }[] = [];
    for (const c of CASES.slice(0, 2)) {
      const model = await openModel(memFolder(checkpointFiles(c.ck, c.dtype)));
      const edits = await pruneEdits(model, c.rule);
      const dirs = [false, true].map((compact) => join(root, `${c.format}-${compact ? 'compact' : 'dense'}`));
      for (const [i, dir] of dirs.entries()) {
        const files = await written(model, edits, i === 1);
        spawnSync('mkdir', ['-p', dir]);
        for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
      }
      await model.close();
      pairs.push(...dirs);
      expected.push({ format: c.format, checked: edits.weights.size });
    }
    // One Python for both folders: starting torch is most of the time.
    const r = spawnSync(python, ['-c', PY_DECODE, ...pairs], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual(expected);
  }, 180_000);
});

// ------------------------------------------------------------------ the studio's engine

describe('what this sparsity buys here (engine)', () => {
  it('counts the bytes of the dense and compact exports and measures decode speed for a sparse and a structured run', async () => {
    const session = new EngineSession({ openGpu: testGpu, assets: bundledAssets, kv: memoryKv() });
    await session.loadDefault();
    const calibration = { nsamples: 2, seqlen: 32, seed: 0 };
    await session.pruneModel({ method: 'magnitude', pattern: { kind: 'nm', n: 2, m: 4 }, alps: DEFAULT_ALPS }, calibration, () => undefined);
    const sparse = await session.sparsityPayoff('sparse', 4, () => undefined);
    const written = await session.exportModel('sparse', { compact: true });
    const weightBytes = written.filter((f) => f.name.endsWith('.safetensors')).reduce((n, f) => n + f.bytes.byteLength, 0);
    expect(sparse.compact).toMatchObject({ format: 'sparse-24-bitmask', weights: weightBytes, download: written.reduce((n, f) => n + f.bytes.byteLength, 0) });
    expect(sparse.compact!.compressed).toBe(sparse.compact!.linears);
    expect(sparse.compact!.weights / sparse.dense.weights).toBeLessThan(1);
    // Packed: the same compact files, deflated by byte plane; the studio downloads exactly these bytes.
    const packed = await session.exportModel('sparse', { compact: true, pack: true });
    expect(packed.map((f) => f.name)).toContain('model.safetensors.pack');
    expect(sparse.packed).toMatchObject({ weights: packed.find((f) => f.name === 'model.safetensors.pack')!.bytes.byteLength, download: packed.reduce((n, f) => n + f.bytes.byteLength, 0) });
    expect(sparse.packed!.weights).toBeLessThan(sparse.compact!.weights);
    expect(sparse.parameters.nonzero).toBeLessThan(sparse.parameters.total);
    expect(sparse.speed).toMatchObject({ sameTokens: true, tokens: 4 });
    expect(sparse.speed!.baseline.tokensPerSecond).toBeGreaterThan(0);
    expect(sparse.speed!.candidate.tokensPerSecond).toBeGreaterThan(0);

    await session.pruneStructured({ selection: 'weight-norm', fraction: 0.5, spap: {} }, calibration, () => undefined);
    const structured = await session.sparsityPayoff('structured', 2, () => undefined);
    expect(structured.compact).toBeNull();
    expect(structured.packed).toBeNull();
    expect(structured.parameters.total).toBeLessThan(structured.parameters.before!);
    expect(structured.speed!.candidate.label).toBe('smaller model');
    const bytesOnly = await session.sparsityPayoff('sparse', 0, () => undefined);
    expect(bytesOnly.speed).toBeNull();
    expect(bytesOnly.compact!.weights).toBe(sparse.compact!.weights);
  }, 300_000);
});

// ------------------------------------------------------------------ the CLI

const STORIES = join(ROOT, '../shared/models/stories260K');
const TEXT = join(ROOT, '../shared/data/tinystories-val.txt');

describe.runIf(existsSync(join(STORIES, 'model.safetensors')))('prune --compact, compact and eval on stories260K', () => {
  it('the compact folder evaluates like the dense one, and compact of the dense folder writes the same bytes', async () => {
    const text = readFileSync(TEXT, 'utf8');
    writeFileSync(join(root, 'calib.txt'), text.slice(0, 20_000));
    writeFileSync(join(root, 'eval.txt'), text.slice(40_000, 52_000));
    const at = (n: string) => join(root, n);
    const pruneArgs = ['prune', STORIES, '--calib', at('calib.txt'), '--method', 'magnitude', '--pattern', '2:4', '--nsamples', '2', '--seqlen', '64', '--quiet'];
    for (const [out, extra] of [['dense', []], ['compact', ['--compact']]] as const) {
      const r = await cli([...pruneArgs, '--out', at(out), ...extra], 300_000);
      expect(r.code, r.stderr).toBe(0);
    }
    const converted = await cli(['compact', at('dense'), '--out', at('converted'), '--json'], 120_000);
    expect(converted.code, converted.stderr).toBe(0);
    const report = JSON.parse(converted.stdout.trim().split('\n').pop()!) as { format: string; compressed: number; linears: number; ratio: number };
    expect(report).toMatchObject({ format: 'sparse-24-bitmask' });
    expect(report.compressed).toBe(report.linears);
    for (const name of ['model.safetensors', 'config.json']) expect(readFileSync(at(`converted/${name}`)).equals(readFileSync(at(`compact/${name}`))), name).toBe(true);
    const ppl = async (dir: string) => {
      const r = await cli(['eval', at(dir), '--text', at('eval.txt'), '--seqlen', '128', '--json'], 120_000);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { perplexity: number }).perplexity;
    };
    // Packed and unpacked again: the compressed-tensors file comes back byte for byte.
    for (const [from, to, extra] of [['dense', 'packed', ['--pack']], ['packed', 'unpacked', []]] as const) {
      const r = await cli(['compact', at(from), '--out', at(to), ...extra], 120_000);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(existsSync(at('packed/model.safetensors'))).toBe(false);
    expect(readFileSync(at('packed/model.safetensors.pack')).byteLength).toBeLessThan(readFileSync(at('compact/model.safetensors')).byteLength);
    expect(readFileSync(at('unpacked/model.safetensors')).equals(readFileSync(at('compact/model.safetensors')))).toBe(true);
    expect(await ppl('packed')).toBe(await ppl('dense'));
    expect(await ppl('compact')).toBe(await ppl('dense'));
    const refused = await cli(['compact', at('dense')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--out <dir>/);
  }, 900_000);
});
