import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobSource, bytesSource, type ByteSource } from '../src/formats/byteSource';
import { openFileSource } from '../src/formats/nodeFile';
import {
  bf16ToF32,
  bf16ToF32Array,
  f16ToF32,
  f16ToF32Array,
  f32ToBf16,
  f32ToBf16Array,
  f32ToF16,
  f32ToF16Array,
  openSafetensors,
  openSharded,
  SafetensorsError,
  writeSafetensors,
} from '../src/formats/safetensors';

const MODEL = join(__dirname, '../../shared/models/stories260K/model.safetensors');

/** A file from a raw header string and data, with an optional lie about the header length. */
function craft(header: string | object, data: Uint8Array = new Uint8Array(0), claimedLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

async function rejects(bytes: Uint8Array, pattern: RegExp, name = 'hostile.safetensors'): Promise<void> {
  const err = await openSafetensors(bytesSource(bytes, name)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a SafetensorsError matching ${pattern}`).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toContain(name);
  expect((err as Error).message).toMatch(pattern);
}

const f32 = (values: number[]) => new Float32Array(values);
const t = (dtype: string, shape: number[], offsets: [number, number]) => ({ dtype, shape, data_offsets: offsets });

describe('safetensors round trip', () => {
  it('writes and reads F32, F16 and BF16 with metadata, lazily per tensor', async () => {
    const a = f32([1, -2.5, 0, -0, 3.25, 65504]);
    const b = f32([0.1, -0.2, 1e-5, 7]);
    const c = f32([1, 2, 3, 1e30, -1e-30, 0]);
    const bytes = writeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: a },
        { name: 'b', dtype: 'F16', shape: [4], data: b },
        { name: 'c', dtype: 'BF16', shape: [3, 2], data: c },
        { name: 'raw16', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
        { name: 'empty', dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
      ],
      { format: 'pt', note: 'ü' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    // Count reads to show that a tensor read touches only its own bytes.
    const reads: [number, number][] = [];
    const inner = bytesSource(bytes, 'rt.safetensors');
    const src: ByteSource = { ...inner, read: (o, l) => (reads.push([o, l]), inner.read(o, l)) };
    const file = await openSafetensors(src);
    expect(file.metadata).toEqual({ format: 'pt', note: 'ü' });
    expect([...file.tensors.keys()]).toEqual(['a', 'b', 'c', 'raw16', 'empty']);
    expect(file.info('b')).toMatchObject({ dtype: 'F16', shape: [4] });
    reads.length = 0;
    expect(Array.from(await file.readF32('a'))).toEqual(Array.from(a));
    expect(reads).toEqual([[file.info('a').begin, 24]]);
    expect(Object.is((await file.readF32('a'))[3], -0)).toBe(true);
    const bb = await file.readF32('b');
    for (let i = 0; i < 4; i++) expect(bb[i]).toBe(f16ToF32(f32ToF16(b[i]!)));
    expect(Array.from(await file.readF32('c'))).toEqual(Array.from(c).map((v) => bf16ToF32(f32ToBf16(v))));
    expect(Array.from(await file.readF32('raw16'))).toEqual([1, -2]);
    expect((await file.readF32('empty')).length).toBe(0);
    expect((await file.readRaw('b')).byteLength).toBe(8);
    await expect(file.readF32('nope')).rejects.toThrow(/no tensor named "nope".*"a"/);
  });

  it('reads every dtype it knows, converting to f32', async () => {
    const enc = (fill: (v: DataView) => void, n: number) => {
      const u = new Uint8Array(n);
      fill(new DataView(u.buffer));
      return u;
    };
    const parts: [string, number[], Uint8Array, number[]][] = [
      ['F64', [2], enc((v) => (v.setFloat64(0, 1.5, true), v.setFloat64(8, -1e300, true)), 16), [1.5, -Infinity]],
      ['I64', [2], enc((v) => (v.setBigInt64(0, -5n, true), v.setBigInt64(8, 1n << 40n, true)), 16), [-5, 2 ** 40]],
      ['U64', [1], enc((v) => v.setBigUint64(0, 7n, true), 8), [7]],
      ['I32', [2], enc((v) => (v.setInt32(0, -7, true), v.setInt32(4, 9, true)), 8), [-7, 9]],
      ['U32', [1], enc((v) => v.setUint32(0, 4e9, true), 4), [Math.fround(4e9)]],
      ['I16', [1], enc((v) => v.setInt16(0, -300, true), 2), [-300]],
      ['U16', [1], enc((v) => v.setUint16(0, 60000, true), 2), [60000]],
      ['I8', [2], new Uint8Array([0xff, 5]), [-1, 5]],
      ['U8', [2], new Uint8Array([0xff, 5]), [255, 5]],
      ['BOOL', [2], new Uint8Array([1, 0]), [1, 0]],
    ];
    const header: Record<string, object> = {};
    const chunks: Uint8Array[] = [];
    let off = 0;
    for (const [dtype, shape, data] of parts) {
      header[dtype] = t(dtype, shape, [off, off + data.length]);
      chunks.push(data);
      off += data.length;
    }
    const data = new Uint8Array(off);
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    const file = await openSafetensors(bytesSource(craft(header, data), 'dtypes.safetensors'));
    for (const [dtype, , , expected] of parts) expect(Array.from(await file.readF32(dtype)), dtype).toEqual(expected);
    const f8 = await openSafetensors(bytesSource(craft({ x: t('F8_E4M3', [1], [0, 1]) }, new Uint8Array(1)), 'f8.safetensors'));
    await expect(f8.readF32('x')).rejects.toThrow(/F8_E4M3.*cannot be converted/);
    expect((await f8.readRaw('x')).length).toBe(1);
  });

  it('reads through a Blob and through a Node file handle', async () => {
    const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 2], data: f32([1, 2, 3, 4]) }]);
    const viaBlob = await openSafetensors(blobSource(new Blob([bytes]), 'blob.safetensors'));
    expect(Array.from(await viaBlob.readF32('w'))).toEqual([1, 2, 3, 4]);
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    try {
      writeFileSync(join(dir, 'x.safetensors'), bytes);
      const src = await openFileSource(join(dir, 'x.safetensors'));
      expect(src.name).toBe('x.safetensors');
      const file = await openSafetensors(src);
      expect(Array.from(await file.readF32('w'))).toEqual([1, 2, 3, 4]);
      await src.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads from a Node Buffer that is a view into a larger pool', async () => {
    const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [3], data: f32([1, 2, 3]) }]);
    const pool = Buffer.alloc(bytes.length + 100, 0x41);
    pool.set(bytes, 13);
    const file = await openSafetensors(bytesSource(pool.subarray(13, 13 + bytes.length), 'pooled.safetensors'));
    expect(Array.from(await file.readF32('w'))).toEqual([1, 2, 3]);
  });

  it('refuses to write inconsistent tensors', () => {
    expect(() => writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 2], data: f32([1]) }])).toThrow(SafetensorsError);
    expect(() =>
      writeSafetensors([
        { name: 'w', dtype: 'F32', shape: [1], data: f32([1]) },
        { name: 'w', dtype: 'F32', shape: [1], data: f32([1]) },
      ]),
    ).toThrow(/duplicate/);
    expect(() => writeSafetensors([{ name: 'w', dtype: 'F32', shape: [1], data: new Uint16Array(1) }])).toThrow(/F32/);
  });
});

describe('safetensors rejects hostile files', () => {
  const ok = t('F32', [2], [0, 8]);
  const data8 = new Uint8Array(8);

  it('file shorter than 8 bytes', async () => {
    await rejects(new Uint8Array(5), /5 bytes, shorter than/);
    await rejects(new Uint8Array(0), /0 bytes/);
  });

  it('header length larger than the file or absurd, without allocating it', async () => {
    await rejects(craft({ w: ok }, data8, 10_000n), /header length 10000 is larger than the rest of the file/);
    await rejects(craft({ w: ok }, data8, 1n << 62n), /absurd/);
    await rejects(craft({ w: ok }, data8, 200_000_000n), /absurd/);
    await rejects(craft({ w: ok }, data8, 0n), /too small/);
  });

  it('header that is not UTF-8 JSON object', async () => {
    await rejects(craft(new TextDecoder('latin1').decode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))), /UTF-8|JSON/);
    const bad = craft('{"a": 1}');
    bad[10] = 0xff;
    await rejects(bad, /not valid UTF-8/);
    await rejects(craft('{"w": '), /not valid JSON/);
    await rejects(craft('[1, 2]'), /not a JSON object/);
    await rejects(craft('null'), /not a JSON object/);
  });

  it('missing or ill-typed fields', async () => {
    await rejects(craft({ w: 5 }), /tensor "w" is not an object/);
    await rejects(craft({ w: { shape: [2], data_offsets: [0, 8] } }, data8), /tensor "w" has no "dtype"/);
    await rejects(craft({ w: { dtype: 'F32', data_offsets: [0, 8] } }, data8), /no "shape"/);
    await rejects(craft({ w: { dtype: 'F32', shape: [2] } }, data8), /no "data_offsets"/);
    await rejects(craft({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, data8), /no "data_offsets"/);
    await rejects(craft({ w: t('F32', [2], ['0' as unknown as number, 8]) }, data8), /invalid data_offsets/);
    await rejects(craft({ w: t('F32', [2], [-8, 0]) }, data8), /invalid data_offsets/);
    await rejects(craft({ __metadata__: { a: 1 }, w: ok }, data8), /"__metadata__" value for "a" is not a string/);
    await rejects(craft({ __metadata__: 'x', w: ok }, data8), /"__metadata__" is not an object/);
  });

  it('unknown dtype', async () => {
    await rejects(craft({ w: t('F128', [2], [0, 8]) }, data8), /tensor "w" has unknown dtype "F128"/);
    await rejects(craft({ w: t('f32', [2], [0, 8]) }, data8), /unknown dtype "f32"/);
  });

  it('negative or non-integer shapes', async () => {
    await rejects(craft({ w: t('F32', [-2], [0, 8]) }, data8), /invalid dimension -2/);
    await rejects(craft({ w: t('F32', [2.5], [0, 8]) }, data8), /invalid dimension 2.5/);
    await rejects(craft({ w: t('F32', ['2' as unknown as number], [0, 8]) }, data8), /invalid dimension "2"/);
    await rejects(craft({ w: t('F32', [2 ** 40, 2 ** 40], [0, 8]) }, data8), /too large/);
  });

  it('data_offsets out of range, reversed, overlapping or the wrong size', async () => {
    await rejects(craft({ w: t('F32', [2], [0, 8]) }, new Uint8Array(4)), /run past the end of the data \(4 bytes\)/);
    await rejects(craft({ w: t('F32', [0], [8, 4]) }, data8), /reversed data_offsets \[8, 4\]/);
    await rejects(craft({ w: t('F32', [3], [0, 8]) }, data8), /holds 8 bytes but dtype F32 with shape \[3\] needs 12/);
    await rejects(
      craft({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) }, new Uint8Array(12)),
      /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/,
    );
    await rejects(craft({ a: t('F32', [2], [0, 8]), b: t('F32', [2], [0, 8]) }, data8), /overlap/);
  });

  it('allows holes in the data region and empty tensors', async () => {
    const file = await openSafetensors(
      bytesSource(craft({ a: t('F32', [1], [4, 8]), e: t('F32', [0], [2, 2]) }, new Uint8Array(16)), 'holes.safetensors'),
    );
    expect(file.tensors.size).toBe(2);
  });
});

describe('sharded checkpoints', () => {
  const shard = (name: string, tensors: { name: string; values: number[] }[]) =>
    bytesSource(
      writeSafetensors(
        tensors.map((x) => ({ name: x.name, dtype: 'F32' as const, shape: [x.values.length], data: f32(x.values) })),
        { format: 'pt' },
      ),
      name,
    );
  const index = (map: Record<string, string>) =>
    bytesSource(new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 20 }, weight_map: map })), 'model.safetensors.index.json');
  const s1 = shard('model-00001-of-00002.safetensors', [{ name: 'a', values: [1, 2] }]);
  const s2 = shard('model-00002-of-00002.safetensors', [
    { name: 'b', values: [3] },
    { name: 'c', values: [4, 5] },
  ]);

  it('merges shards into one view', async () => {
    const merged = await openSharded(
      index({ a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' }),
      [s1, s2],
    );
    expect([...merged.tensors.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(merged.metadata).toEqual({ total_size: '20', format: 'pt' });
    expect(merged.info('c').file).toBe('model-00002-of-00002.safetensors');
    expect(Array.from(await merged.readF32('c'))).toEqual([4, 5]);
    expect(Array.from(await merged.readF32('a'))).toEqual([1, 2]);
    const viaResolver = await openSharded(index({ b: 'model-00002-of-00002.safetensors' }), (name) => (name === s2.name ? s2 : s1));
    expect(Array.from(await viaResolver.readF32('b'))).toEqual([3]);
  });

  it('rejects bad indexes', async () => {
    await expect(openSharded(index({ a: 'missing.safetensors' }), [s1])).rejects.toThrow(/shard "missing.safetensors".*not provided/);
    await expect(openSharded(index({ z: 'model-00001-of-00002.safetensors' }), [s1])).rejects.toThrow(/that shard has no such tensor/);
    await expect(openSharded(index({ a: '../etc/passwd' }), [s1])).rejects.toThrow(/not a plain file name/);
    await expect(openSharded(bytesSource(new TextEncoder().encode('{"metadata":{}}'), 'idx.json'), [s1])).rejects.toThrow(
      /idx.json: the index has no "weight_map"/,
    );
    await expect(openSharded(bytesSource(new TextEncoder().encode('{oops'), 'idx.json'), [s1])).rejects.toThrow(/not valid UTF-8 JSON/);
  });
});

describe('f16 and bf16 conversions', () => {
  it('f16: exact values, limits, Inf, NaN, signed zero', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(0)).toBe(0);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(f32ToF16(1e6)).toBe(0x7c00);
    const nan = f32ToF16(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(Number.isNaN(f16ToF32(nan))).toBe(true);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7bff)).toBe(65504);
  });

  it('f16: round to nearest even at the overflow edge, in normals and subnormals', () => {
    // 65520 is halfway between 65504 (odd mantissa) and 65536 (Inf): ties to even → Inf.
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    // 1 + 2^-11 is the tie between 1 and 1 + 2^-10: ties to the even 1.
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    // Subnormals: smallest 2^-24, largest (1023)·2^-24; 2^-25 is a tie → 0; just above → 1 ulp.
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f32ToF16(1023 * 2 ** -24)).toBe(0x03ff);
    expect(f32ToF16(2 ** -25)).toBe(0);
    expect(f32ToF16(-(2 ** -25))).toBe(0x8000);
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(1);
    expect(f32ToF16(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 → even 2
    expect(f32ToF16(1e-10)).toBe(0);
    // Rounding up out of the subnormal range gives the smallest normal.
    expect(f32ToF16(1023.5 * 2 ** -24)).toBe(0x0400);
    expect(f16ToF32(0x0400)).toBe(2 ** -14);
  });

  it('f16: every finite bit pattern survives f16 → f32 → f16', () => {
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
      const back = f32ToF16(f16ToF32(h));
      if (back !== h) throw new Error(`0x${h.toString(16)} → 0x${back.toString(16)}`);
    }
    const values = f32([0, -0, 1.5, 3.14159, -7e-6, 7e4]);
    const arr = f16ToF32Array(f32ToF16Array(values));
    for (let i = 0; i < values.length; i++) expect(arr[i]).toBe(f16ToF32(f32ToF16(values[i]!)));
  });

  it('bf16: rounding, Inf, NaN, subnormals', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(-0)).toBe(0x8000);
    expect(f32ToBf16(Infinity)).toBe(0x7f80);
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    const nan = f32ToBf16(NaN);
    expect(Number.isNaN(bf16ToF32(nan))).toBe(true);
    // 1 + 2^-8 is the tie between 1 and 1 + 2^-7: ties to even 1; 1 + 3·2^-8 → 1 + 2^-6.
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    // The largest f32 rounds up to Inf; the largest bf16 is exact.
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80);
    expect(bf16ToF32(0x7f7f)).toBe(3.3895313892515355e38);
    // Subnormals keep their top bits.
    expect(f32ToBf16(2 ** -133)).toBe(0x0001);
    expect(bf16ToF32(0x0001)).toBe(2 ** -133);
    expect(Array.from(bf16ToF32Array(f32ToBf16Array(f32([0, 2, -0.5]))))).toEqual([0, 2, -0.5]);
    // A pruned zero stays exactly zero in either format.
    expect(bf16ToF32(f32ToBf16(0))).toBe(0);
    expect(f16ToF32(f32ToF16(0))).toBe(0);
  });
});

describe.skipIf(!existsSync(MODEL))('the shared stories260K checkpoint', () => {
  it('reads the header and one tensor', async () => {
    const src = await openFileSource(MODEL);
    try {
      const file = await openSafetensors(src);
      expect(file.metadata.format).toBe('pt');
      const q = file.info('model.layers.0.self_attn.q_proj.weight');
      expect(q).toMatchObject({ dtype: 'F32', shape: [64, 64] });
      expect(file.info('model.embed_tokens.weight').shape).toEqual([512, 64]);
      const w = await file.readF32('model.layers.0.self_attn.q_proj.weight');
      expect(w.length).toBe(4096);
      expect(w.every(Number.isFinite)).toBe(true);
      expect(w.some((v) => v !== 0)).toBe(true);
    } finally {
      await src.close();
    }
  });
});
if (!existsSync(MODEL)) console.warn(`skipping the stories260K test: ${MODEL} is absent (it lives in ../shared)`);
