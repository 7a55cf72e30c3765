/**
 * Streaming export: the streaming safetensors writer against the one-buffer writer, the shard
 * planner and index against Hugging Face's rules, the export pipeline (unsharded output unchanged,
 * sharded input kept sharded), and `prune --max-shard-size` on the bundled model end to end: eval
 * of the sharded folder equals eval of the unsharded one, and transformers reloads the shards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors, writeSafetensors, type TensorToWrite, type WritableDType } from '../src/formats/safetensors';
import { bytesSource, concatBytes } from '../src/formats/byteSource';
import { planShards, shardFileName, shardIndexJson, shardsLike } from '../src/formats/shardPlan';
import { safetensorsHeader, streamSafetensors, type LazyTensor } from '../src/formats/streamWriter';
import { openModel } from '../src/model/loader';
import { nodeFolder } from '../src/model/nodeFolder';
import { exportModel, modelFiles, type ModelEdits } from '../src/pipeline/export';
import { cli, ROOT } from './helpers/cli';
import { transformersEval, VENV_PYTHON } from './helpers/oracle';

const MODEL = join(ROOT, 'public/default-model');

function random(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    a[i] = s / 2 ** 30 - 1;
  }
  return a;
}

const concat = concatBytes;

async function streamed(tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<{ bytes: Uint8Array; chunks: Uint8Array[]; order: string[] }> {
  const chunks: Uint8Array[] = [];
  const order: string[] = [];
  const lazy: LazyTensor[] = tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    data: () => {
      // Produced only once every earlier tensor is in the sink: header + one chunk per earlier tensor.
      order.push(`${t.name}@${chunks.length}`);
      return t.data;
    },
  }));
  const written = await streamSafetensors(lazy, { write: (c) => void chunks.push(c) }, metadata);
  const bytes = concat(chunks);
  expect(written).toBe(bytes.byteLength);
  return { bytes, chunks, order };
}

describe('streaming safetensors writer', () => {
  const cases: [string, TensorToWrite[], Record<string, string> | undefined][] = [
    ['F32', [{ name: 'a', dtype: 'F32', shape: [3, 5], data: random(15, 1) }, { name: 'b', dtype: 'F32', shape: [7], data: random(7, 2) }], { format: 'pt' }],
    ['F16 and BF16 from f32, bits and bytes', [
      { name: 'h', dtype: 'F16', shape: [2, 3], data: random(6, 3) },
      { name: 'g', dtype: 'BF16', shape: [5], data: random(5, 4) },
      { name: 'bits', dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xbf80, 0]) },
      { name: 'raw', dtype: 'F16', shape: [1], data: new Uint8Array([0x00, 0x3c]) },
    ], undefined],
    ['empty tensors', [
      { name: 'e0', dtype: 'F32', shape: [0], data: new Float32Array(0) },
      { name: 'e1', dtype: 'BF16', shape: [4, 0], data: new Float32Array(0) },
      { name: 'x', dtype: 'F32', shape: [], data: new Float32Array([2.5]) },
    ], { note: 'ünïcode' }],
    ['no tensors', [], undefined],
  ];
  for (const [label, tensors, metadata] of cases) {
    it(`${label}: the same bytes as writeSafetensors, one tensor at a time`, async () => {
      const { bytes, chunks, order } = await streamed(tensors, metadata);
      expect(bytes).toEqual(writeSafetensors(tensors, metadata));
      expect(chunks).toHaveLength(1 + tensors.length);
      expect(order).toEqual(tensors.map((t, i) => `${t.name}@${i + 1}`));
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect(headerLength % 8).toBe(0);
      expect(chunks[0]!.byteLength).toBe(8 + headerLength);
      const st = await openSafetensors(bytesSource(bytes, 'x.safetensors'));
      expect([...st.tensors.keys()]).toEqual(tensors.map((t) => t.name));
    });
  }

  it('computes the header from names, dtypes and shapes alone', () => {
    const tensors: TensorToWrite[] = [{ name: 'w', dtype: 'BF16', shape: [3, 2], data: random(6, 5) }];
    const h = safetensorsHeader(tensors, { format: 'pt' });
    expect(h.dataBytes).toBe(12);
    expect(writeSafetensors(tensors, { format: 'pt' }).subarray(0, h.bytes.byteLength)).toEqual(h.bytes);
  });

  it('refuses data that does not fit the shape when the tensor is reached', async () => {
    await expect(streamed([{ name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }])).rejects.toThrow('tensor "w": shape [2,2] needs 4 elements, got 3');
  });
});

describe('shard planner', () => {
  const t = (name: string, n: number, dtype: WritableDType = 'F32') => ({ name, dtype, shape: [n] });

  it('packs tensors in order up to the limit, an oversized tensor alone, as huggingface_hub does', () => {
    // 40 + 40 + 20 bytes fill the first shard exactly; the 400-byte tensor is listed when it is met, before the open shard.
    const shards = planShards([t('a', 10), t('b', 10), t('c', 5), t('big', 100), t('d', 20), t('e', 1, 'BF16')], 100);
    expect(shards.map((s) => [s.name, s.tensors.map((x) => x.name)])).toEqual([
      ['model-00001-of-00003.safetensors', ['big']],
      ['model-00002-of-00003.safetensors', ['a', 'b', 'c']],
      ['model-00003-of-00003.safetensors', ['d', 'e']],
    ]);
    expect(planShards([t('a', 10)], 1e9)).toHaveLength(1);
    expect(shardFileName(11, 120)).toBe('model-00012-of-00120.safetensors');
  });

  it('keeps an input index: its files and its tensor → shard assignment', () => {
    const shards = shardsLike([t('a', 1), t('b', 1), t('c', 1)], new Map([['a', 'x.safetensors'], ['b', 'y.safetensors'], ['c', 'x.safetensors']]));
    expect(shards.map((s) => [s.name, s.tensors.map((x) => x.name)])).toEqual([['x.safetensors', ['a', 'c']], ['y.safetensors', ['b']]]);
  });

  it("writes the index exactly as transformers' json.dumps(index, indent=2, sort_keys=True)", () => {
    const shards = planShards([t('model.norm.weight', 4), t('lm_head.weight', 12, 'BF16'), t('model.embed_tokens.weight', 8), t('é', 2)], 40);
    const text = shardIndexJson(shards);
    const index = JSON.parse(text) as { metadata: Record<string, number>; weight_map: Record<string, string> };
    expect(index.metadata).toEqual({ total_parameters: 26, total_size: 16 + 24 + 32 + 8 });
    const python = `import json,sys; d=json.load(sys.stdin); sys.stdout.write(json.dumps(d, indent=2, sort_keys=True) + "\\n")`;
    expect(execFileSync('python3', ['-c', python], { input: text }).toString()).toBe(text);
  });
});

describe('export pipeline', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stream-export-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const edits = (weights: Map<string, Float32Array>): ModelEdits => ({ weights, metadata: { method: 'test' }, report: { ok: true } });

  it("unsharded input, no limit: one model.safetensors, byte-identical to the one-buffer writer's", async () => {
    const model = await openModel(nodeFolder(MODEL));
    try {
      const name = model.arch.blocks[0]!.linears[0]!.weight;
      const info = model.file.tensors.get(name)!;
      const replaced = random(info.shape[0]! * info.shape[1]!, 9);
      const files = await exportModel(model, edits(new Map([[name, replaced]])));
      expect(files.map((f) => f.name)).toEqual(['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'prune_report.json']);
      // What export.ts built before it streamed: every tensor in order, the replaced one as f32 values.
      const tensors: TensorToWrite[] = [];
      for (const [n, i] of model.file.tensors) tensors.push({ name: n, dtype: i.dtype as WritableDType, shape: i.shape, data: n === name ? replaced : await model.file.readRaw(n) });
      const metadata = { ...model.file.metadata, format: 'pt', pruned_by: 'prune-studio', method: 'test' };
      expect(files[0]!.bytes).toEqual(writeSafetensors(tensors, metadata));
    } finally {
      await model.close();
    }
  });

  it('sharded input stays sharded the same way; --max-shard-size reshards', async () => {
    const model = await openModel(nodeFolder(MODEL));
    const sharded = join(dir, 'sharded');
    let single: Uint8Array;
    try {
      single = (await exportModel(model, edits(new Map())))[0]!.bytes;
      const files = await exportModel(model, edits(new Map()), { maxShardSize: 500_000 });
      const names = files.map((f) => f.name);
      const shardNames = names.filter((n) => n.endsWith('.safetensors'));
      expect(shardNames.length).toBeGreaterThanOrEqual(3);
      expect(shardNames).toEqual(shardNames.map((_, i) => shardFileName(i, shardNames.length)));
      expect(names).toContain('model.safetensors.index.json');
      (await import('node:fs')).mkdirSync(sharded);
      for (const f of files) writeFileSync(join(sharded, f.name), f.bytes);
      for (const f of files.filter((x) => x.name.startsWith('model-'))) expect(f.bytes.byteLength).toBeLessThan(500_000 + 4096);
    } finally {
      await model.close();
    }
    const again = await openModel(nodeFolder(sharded));
    try {
      const files = await modelFiles(again, edits(new Map()));
      const out = await exportModel(again, edits(new Map()));
      expect(files.map((f) => f.name)).toEqual(out.map((f) => f.name));
      // Compared as buffers: a diff of megabyte arrays would take minutes to print.
      const differing = out.filter((f) => f.name !== 'prune_report.json' && !Buffer.from(f.bytes).equals(readFileSync(join(sharded, f.name))));
      expect(differing.map((f) => f.name)).toEqual([]);
      // Back to one file when the limit holds everything: as save_pretrained, no index.
      const merged = await exportModel(again, edits(new Map()), { maxShardSize: 1e9 });
      expect(merged.map((f) => f.name).filter((n) => n.includes('safetensors'))).toEqual(['model.safetensors']);
      const one = await openSafetensors(bytesSource(merged[0]!.bytes, 'merged.safetensors'));
      const base = await openSafetensors(bytesSource(single, 'single.safetensors'));
      // Same tensors; the order is the shards' (an oversized tensor's shard comes first, as in huggingface_hub).
      expect([...one.tensors.keys()].sort()).toEqual([...base.tensors.keys()].sort());
      for (const n of base.tensors.keys()) expect(Buffer.from(await one.readRaw(n)).equals(Buffer.from(await base.readRaw(n)))).toBe(true);
    } finally {
      await again.close();
    }
  });
});

describe('prune --max-shard-size', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stream-export-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes 3+ shards and an index that eval and transformers read as the unsharded model', async () => {
    const calib = join(MODEL, 'calibration.txt');
    const text = join(MODEL, 'evaluation.txt');
    const args = (out: string, ...extra: string[]) => ['prune', MODEL, '--calib', calib, '--method', 'magnitude', '--sparsity', '0.5', '--nsamples', '2', '--seqlen', '32', '--out', out, '--quiet', '--json', ...extra];
    const plain = join(dir, 'plain');
    const sharded = join(dir, 'sharded');
    const r1 = await cli(args(plain), 120_000);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    const r2 = await cli(args(sharded, '--max-shard-size', '600KB'), 120_000);
    expect(r2.stderr).toBe('');
    expect(r2.code).toBe(0);
    const shards = readdirSync(sharded).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(sharded)).not.toContain('model.safetensors');
    expect(readdirSync(sharded).some((f) => f.includes('.partial'))).toBe(false);
    const index = JSON.parse(readFileSync(join(sharded, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(shards));
    expect((JSON.parse(r2.stdout.trim().split('\n').pop()!) as { files: string[] }).files).toContain('model.safetensors.index.json');

    const evalArgs = (folder: string) => ['eval', folder, '--text', text, '--seqlen', '64', '--max-windows', '2', '--json'];
    const e1 = await cli(evalArgs(plain), 120_000);
    const e2 = await cli(evalArgs(sharded), 120_000);
    expect(e1.code).toBe(0);
    expect(e2.code).toBe(0);
    const ppl = (s: string) => (JSON.parse(s.trim().split('\n').pop()!) as { perplexity: number }).perplexity;
    expect(ppl(e2.stdout)).toBe(ppl(e1.stdout));

    // The same folder written again unsharded: the old shards and index are gone with it.
    const r3 = await cli(args(sharded), 120_000);
    expect(r3.code).toBe(0);
    expect(readdirSync(sharded).filter((f) => f.includes('safetensors'))).toEqual(['model.safetensors']);
    expect(readFileSync(join(sharded, 'model.safetensors'))).toEqual(readFileSync(join(plain, 'model.safetensors')));
    const r4 = await cli(args(sharded, '--max-shard-size', '600KB'), 120_000);
    expect(r4.code).toBe(0);

    if (existsSync(VENV_PYTHON)) {
      const [loaded] = await transformersEval([sharded], { text, seqlen: 64, maxWindows: 2, load: true });
      expect(loaded!.error).toBeUndefined();
      const info = loaded!.load!.info as Record<string, string[]>;
      expect(info.missing_keys).toEqual([]);
      expect(info.unexpected_keys).toEqual([]);
      expect(loaded!.load!.not_in_model).toEqual([]);
      expect(Object.keys(loaded!.load!.file_dtypes).sort()).toEqual(Object.keys(index.weight_map).sort());
      expect(Math.abs(loaded!.perplexity - ppl(e2.stdout)) / loaded!.perplexity).toBeLessThan(1e-4);
    }
  }, 240_000);

  it('refuses a malformed size in one line', async () => {
    const r = await cli(['prune', MODEL, '--calib', join(MODEL, 'calibration.txt'), '--method', 'magnitude', '--sparsity', '0.5', '--out', join(dir, 'x'), '--max-shard-size', '12XB']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--max-shard-size must be a positive size such as 500MB/);
  });
});
