/**
 * Packed checkpoints (src/formats/pack.ts, docs/compact.md): byte planes deflated per tensor. Round
 * trips of every dtype on awkward shapes (empty, one element, odd counts), unpacking to the
 * safetensors file byte for byte, the planes that shrink and those stored raw, hostile files refused
 * in one line before anything large is allocated, and whole models (compact + packed, sharded)
 * loading to bit-identical weights.
 */
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/formats/byteSource';
import { f32ToBf16Array } from '../src/formats/dtypes';
import { openPacked, openWeightFile, PACK_MAGIC, streamPacked } from '../src/formats/pack';
import { MAX_INFLATE_RATIO } from '../src/formats/packPlanes';
import { openSafetensors } from '../src/formats/safetensors';
import { streamSafetensors, type LazyTensor } from '../src/formats/streamWriter';
import { compactWeights } from '../src/formats/compactView';
import { openModel } from '../src/model/loader';
import { llamaCheckpoint, qwen3Checkpoint } from './helpers/checkpoints';
import { memFolder, pruneEdits, written } from './helpers/compactModels';
import { checkpointFiles, parseJson, shardFiles } from './helpers/hostile';
import { randn } from './helpers/reference';

async function collect(write: (sink: { write(c: Uint8Array): void }) => Promise<number>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const n = await write({ write: (c) => void chunks.push(c.slice()) });
  const out = Buffer.concat(chunks);
  expect(out.byteLength).toBe(n);
  return new Uint8Array(out);
}

/** Gaussian weights of a trained-looking scale (σ = 0.02), as BF16 bit patterns. */
const bf16Weights = (n: number, seed: number) => f32ToBf16Array(Float32Array.from(randn(n, seed), (x) => 0.02 * x));

function tensors(): LazyTensor[] {
  const f32 = Float32Array.from(randn(15, 1));
  f32[3] = -0;
  f32[4] = Number.NaN;
  return [
    { name: 'w.f32', dtype: 'F32', shape: [3, 5], data: () => f32 },
    { name: 'w.bf16', dtype: 'BF16', shape: [64, 67], data: () => bf16Weights(64 * 67, 2) },
    { name: 'one', dtype: 'F16', shape: [1, 1], data: () => new Uint16Array([0x3c00]) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: () => new Float32Array(0) },
    { name: 'mask', dtype: 'U8', shape: [7], data: () => new Uint8Array([1, 255, 0, 3, 9, 9, 9]) },
    { name: 'offsets', dtype: 'I64', shape: [3], data: () => new Uint8Array(BigInt64Array.from([0n, 5n, -9n]).buffer) },
  ];
}

const metadata = { format: 'pt', pruned_by: 'prune-studio' };

describe('packed files', () => {
  it('every dtype and shape reads back bit for bit, and unpacking gives the safetensors file byte for byte', async () => {
    const packed = await collect((sink) => streamPacked(tensors(), sink, metadata));
    const plain = await collect((sink) => streamSafetensors(tensors(), sink, metadata));
    const a = await openPacked(bytesSource(packed, 'model.safetensors.pack'));
    const b = await openSafetensors(bytesSource(plain, 'model.safetensors'));
    expect(a.metadata).toEqual(b.metadata);
    expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()]);
    const unpacked: Uint8Array[] = [plain.subarray(0, b.dataOffset)];
    for (const [name, t] of b.tensors) {
      expect([a.info(name).dtype, a.info(name).shape]).toEqual([t.dtype, t.shape]);
      const raw = await a.readRaw(name);
      expect(Buffer.from(raw).equals(Buffer.from(await b.readRaw(name))), name).toBe(true);
      unpacked.push(raw);
    }
    // The header is embedded verbatim and the tensors are stored in order: the file comes back exactly.
    expect(Buffer.concat(unpacked).equals(Buffer.from(plain))).toBe(true);
    // Partial reads (a vocabulary table in row chunks) and f32 conversion.
    expect(Buffer.from(await a.readRaw('w.bf16', 130, 6)).equals(Buffer.from(await b.readRaw('w.bf16', 130, 6)))).toBe(true);
    expect(Array.from(await a.readF32('w.f32'))).toEqual(Array.from(await b.readF32('w.f32')));
    await expect(a.readRaw('w.f32', 50, 20)).rejects.toThrow(/bytes 50\.\.70 are outside its 60 bytes/);
    // openWeightFile tells the two kinds apart by their first bytes.
    expect((await openWeightFile(bytesSource(packed, 'x'))).tensors.size).toBe(6);
    expect((await openWeightFile(bytesSource(plain, 'x'))).tensors.size).toBe(6);
  });

  it('the sign-and-exponent bytes of BF16 weights shrink; the near-random mantissa bytes are stored raw', async () => {
    const n = 256 * 512;
    const t: LazyTensor[] = [{ name: 'w', dtype: 'BF16', shape: [256, 512], data: () => bf16Weights(n, 7) }];
    const packed = await collect((sink) => streamPacked(t, sink));
    const table = planeTable(packed);
    const [low, high] = table.planes.w;
    expect(low[0]).toBe('raw');
    expect(low[2] - low[1]).toBe(n);
    expect(high[0]).toBe('deflate-raw');
    // One sign bit and the top 7 exponent bits of N(0, 0.02²): about 3 bits of entropy in 8.
    expect((high[2] - high[1]) / n).toBeLessThan(0.5);
    expect(packed.byteLength / (2 * n)).toBeLessThan(0.75);
    // Planes over 1 MiB are probed on their start first: the same outcome, without deflating the mantissas whole.
    const big = 1100 * 1000;
    const large = await collect((sink) => streamPacked([{ name: 'w', dtype: 'BF16', shape: [1100, 1000], data: () => bf16Weights(big, 8) }], sink));
    const [bigLow, bigHigh] = planeTable(large).planes.w;
    expect([bigLow[0], bigLow[2] - bigLow[1], bigHigh[0]]).toEqual(['raw', big, 'deflate-raw']);
    expect((bigHigh[2] - bigHigh[1]) / big).toBeLessThan(0.5);
  });
});

// ------------------------------------------------------------------ hostile packed files

interface Table {
  version: number;
  planes: Record<string, [string, number, number][]>;
}

function planeTable(file: Uint8Array): Table {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const length = view.getUint32(file.byteLength - 16, true);
  return JSON.parse(Buffer.from(file.subarray(file.byteLength - 16 - length, file.byteLength - 16)).toString('utf8')) as Table;
}

/** The file with its plane table replaced (the data before it unchanged). */
function withTable(file: Uint8Array, edit: (t: Table) => unknown): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const length = view.getUint32(file.byteLength - 16, true);
  const original = planeTable(file);
  const table = Buffer.from(JSON.stringify(edit(original) ?? original));
  const len = Buffer.alloc(8);
  len.writeUInt32LE(table.byteLength, 0);
  return new Uint8Array(Buffer.concat([file.subarray(0, file.byteLength - 16 - length), table, len, Buffer.from(PACK_MAGIC)]));
}

describe('hostile packed files', () => {
  it('each broken claim is refused with the file, the tensor and the problem', async () => {
    const good = await collect((sink) => streamPacked(tensors(), sink, metadata));
    const open = (bytes: Uint8Array) => openPacked(bytesSource(bytes, 'model.safetensors.pack'));
    const read = async (bytes: Uint8Array, name: string) => (await open(bytes)).readRaw(name);
    const high = (t: Table) => t.planes['w.bf16'][1];
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['not packed', () => open(new Uint8Array(64)), /model\.safetensors\.pack: this is not a packed checkpoint/],
      ['truncated', () => open(good.subarray(0, good.byteLength - 3)), /does not end with its closing magic; it is truncated/],
      ['absurd table length', () => open(Buffer.concat([good.subarray(0, good.byteLength - 16), Buffer.from([0, 0, 0, 0, 1, 0, 0, 0]), PACK_MAGIC])), /plane table claims 4294967296 bytes/],
      ['table not JSON', () => open(withTable(good, () => 0).map((x, i, a) => (i === a.byteLength - 17 ? 0x7b : x))), /plane table is not valid UTF-8 JSON/],
      ['other version', () => open(withTable(good, (t) => ({ ...t, version: 2 }))), /version-1 table of planes/],
      ['a tensor without planes', () => open(withTable(good, (t) => void delete t.planes.mask)), /no 1 planes for tensor "mask"/],
      ['too few planes', () => open(withTable(good, (t) => void t.planes['w.f32'].pop())), /no 4 planes for tensor "w\.f32"/],
      ['extra tensor', () => open(withTable(good, (t) => void (t.planes.ghost = []))), /lists 7 tensors, the header 6/],
      ['unknown codec', () => open(withTable(good, (t) => void (high(t)[0] = 'zstd'))), /plane 1 of tensor "w\.bf16" has codec "zstd"/],
      ['span outside the data', () => open(withTable(good, (t) => void (high(t)[2] = good.byteLength))), /plane 1 of tensor "w\.bf16" spans .* outside the file's data/],
      ['overlapping planes', () => open(withTable(good, (t) => void (t.planes.one[1] = [...t.planes.one[0]]))), /planes of tensors "one" and "one" overlap/],
      ['raw plane of the wrong length', () => open(withTable(good, (t) => void (t.planes['w.bf16'][0][2] -= 1))), /plane 0 of tensor "w\.bf16" stores 4287 raw bytes, which cannot give the 4288/],
      [
        'a small plane claiming to inflate past deflate\'s ratio',
        () => open(withTable(good, (t) => void (high(t)[2] = high(t)[1] + Math.floor((64 * 67) / MAX_INFLATE_RATIO) - 1))),
        /stores \d+ deflate-raw bytes, which cannot give the 4288/,
      ],
      ['corrupt deflate data', () => read(flipPlane(good, (t) => high(t)), 'w.bf16'), /tensor "w\.bf16", plane 1: a deflated plane (is corrupt|inflates to)/],
    ];
    for (const [label, run, message] of cases) await expect(run().then(() => `${label}: accepted`, (e: Error) => e.message)).resolves.toMatch(message);
    // The good file still reads (nothing above was shared).
    expect((await read(good, 'mask')).byteLength).toBe(7);
  });
});

/** The file with the middle of one plane's bytes overwritten. */
function flipPlane(file: Uint8Array, pick: (t: Table) => [string, number, number]): Uint8Array {
  const [, begin, end] = pick(planeTable(file));
  const out = file.slice();
  for (let i = begin + 2; i < Math.min(end, begin + 40); i++) out[i] = 0xff;
  return out;
}

// ------------------------------------------------------------------ whole models

describe('packed model folders', () => {
  const cases = [
    { label: 'llama BF16 50 %, compact + packed', ck: llamaCheckpoint({ hidden: 48, heads: 4, kvHeads: 2, intermediate: 52, seed: 3 }), rule: { sparsity: 0.5 }, sharded: false },
    { label: 'qwen3 BF16 2:4, compact + packed, sharded', ck: qwen3Checkpoint(), rule: { n: 2, m: 4 }, sharded: true },
  ];
  for (const c of cases) {
    it(`${c.label}: loads to the compact export's weights, smaller, and writes the compressed-tensors files back byte for byte`, async () => {
      let files = checkpointFiles(c.ck, 'BF16');
      if (c.sharded) files = shardFiles(files);
      const model = await openModel(memFolder(files));
      const edits = await pruneEdits(model, c.rule);
      const compact = await written(model, edits, true);
      const packed = await written(model, edits, true, undefined, { pack: true });
      await model.close();
      const weightNames = (f: Record<string, Uint8Array>) => Object.keys(f).filter((n) => /\.safetensors(\.pack)?$/.test(n)).sort();
      expect(weightNames(packed)).toEqual(weightNames(compact).map((n) => `${n}.pack`));
      if (c.sharded) {
        const index = parseJson(packed['model.safetensors.index.json']) as { weight_map: Record<string, string> };
        expect(Object.values(index.weight_map).every((f) => f.endsWith('.safetensors.pack'))).toBe(true);
      }
      const bytes = (f: Record<string, Uint8Array>) => weightNames(f).reduce((n, name) => n + f[name].byteLength, 0);
      // Toy widths: deflate's tables weigh on planes of a few hundred bytes (scripts/bench-compact.ts measures real shapes).
      expect(bytes(packed)).toBeLessThan(bytes(compact));
      const a = await openModel(memFolder(compact));
      const b = await openModel(memFolder(packed));
      expect(compactWeights(b.file)?.format).toBe(compactWeights(a.file)?.format);
      for (const [name, info] of a.file.tensors) {
        expect([b.file.info(name).dtype, b.file.info(name).shape]).toEqual([info.dtype, info.shape]);
        expect(Buffer.from(await b.file.readRaw(name)).equals(Buffer.from(await a.file.readRaw(name))), name).toBe(true);
      }
      // Written again unpacked (what `compact` without --pack does to a packed folder): the compressed-tensors files.
      const unpacked = await written(b, { weights: new Map(), metadata: {}, report: {} }, true);
      for (const name of weightNames(compact)) expect(Buffer.from(unpacked[name]).equals(Buffer.from(compact[name])), name).toBe(true);
      await a.close();
      await b.close();
    }, 120_000);
  }
});
