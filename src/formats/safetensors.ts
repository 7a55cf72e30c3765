/**
 * Strict safetensors reader and writer for the browser and Node.
 *
 * Format: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data region. The JSON
 * maps tensor names to {dtype, shape, data_offsets: [begin, end)} relative to the data region, plus an
 * optional "__metadata__" of string → string. Files come from strangers, so every claim in the header
 * is checked against the file before anything is allocated or read.
 */
import type { ByteSource } from './byteSource';

export type { ByteSource } from './byteSource';

export type SafetensorsDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';

/** Bytes per element. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Headers above this are refused: real ones are kilobytes to a few megabytes. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte offsets in `file` (header included): the tensor is bytes [begin, end). */
  begin: number;
  end: number;
  /** Name of the file (shard) holding the bytes. */
  file: string;
}

/** One safetensors file, or the merged view of a sharded checkpoint. */
export interface SafetensorsFile {
  name: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** The tensor's info; throws SafetensorsError naming the file when there is no such tensor. */
  info(name: string): TensorInfo;
  /** The tensor's bytes as stored (little-endian). Reads only that tensor. */
  readRaw(name: string): Promise<Uint8Array>;
  /** The tensor as f32, converting F16/BF16/F64 and integer types. Reads only that tensor. */
  readF32(name: string): Promise<Float32Array>;
}

export interface SingleSafetensorsFile extends SafetensorsFile {
  source: ByteSource;
  /** N, the JSON header's byte length. */
  headerLength: number;
  /** 8 + N: where the data region starts. */
  dataOffset: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(file: string, message: string): never {
  throw new SafetensorsError(`${file}: ${message}`);
}

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readChecked(src: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await src.read(offset, length);
  } catch (error) {
    fail(src.name, `cannot read ${length} bytes at offset ${offset}: ${(error as Error).message ?? String(error)}`);
  }
  if (bytes.byteLength !== length) fail(src.name, `short read: got ${bytes.byteLength} of ${length} bytes at offset ${offset}`);
  return bytes;
}

/** Parses and validates the JSON header; `dataSize` is the byte length of the data region. */
export function parseHeader(
  file: string,
  json: unknown,
  dataOffset: number,
  dataSize: number,
): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (!isPlainObject(json)) fail(file, 'the header is not a JSON object');
  const tensors = new Map<string, TensorInfo>();
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) fail(file, '"__metadata__" is not an object of strings');
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') fail(file, `"__metadata__" value for "${key}" is not a string`);
        metadata[key] = value;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (!isPlainObject(entry)) fail(file, `${where} is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (dtype === undefined) fail(file, `${where} has no "dtype"`);
    if (!isDType(dtype)) fail(file, `${where} has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape)) fail(file, `${where} has no "shape" array`);
    let count = 1;
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        fail(file, `${where} has an invalid dimension ${JSON.stringify(d)} in shape ${JSON.stringify(shape)} (must be a non-negative integer)`);
      }
      count *= d;
    }
    const bytes = count * DTYPE_SIZE[dtype];
    if (!Number.isSafeInteger(bytes)) fail(file, `${where} shape ${JSON.stringify(shape)} is too large`);
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(file, `${where} has no "data_offsets" pair`);
    const [begin, end] = offsets as unknown[];
    if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < 0) {
      fail(file, `${where} has invalid data_offsets ${JSON.stringify(offsets)} (must be non-negative integers)`);
    }
    if (end < begin) fail(file, `${where} has reversed data_offsets [${begin}, ${end}]`);
    if (end > dataSize) {
      fail(file, `${where} data_offsets [${begin}, ${end}] run past the end of the data (${dataSize} bytes)`);
    }
    if (end - begin !== bytes) {
      fail(
        file,
        `${where} holds ${end - begin} bytes but dtype ${dtype} with shape ${JSON.stringify(shape)} needs ${bytes}`,
      );
    }
    tensors.set(name, { name, dtype, shape: shape.slice() as number[], begin: dataOffset + begin, end: dataOffset + end, file });
  }
  // Non-empty tensors must not share bytes; a hostile file could otherwise alias one tensor to another.
  const spans = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    const cur = spans[i]!;
    if (cur.begin < prev.end) {
      fail(
        file,
        `tensors "${prev.name}" [${prev.begin - dataOffset}, ${prev.end - dataOffset}] and "${cur.name}" [${cur.begin - dataOffset}, ${cur.end - dataOffset}] overlap`,
      );
    }
  }
  return { tensors, metadata };
}

/** Reads and validates the header of one safetensors file; tensor bytes are read on demand. */
export async function openSafetensors(src: ByteSource): Promise<SingleSafetensorsFile> {
  const file = src.name;
  if (!Number.isSafeInteger(src.size) || src.size < 8) {
    fail(file, `the file is ${src.size} bytes, shorter than the 8-byte header length`);
  }
  const prefix = await readChecked(src, 0, 8);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  // Check the claimed length against the file before allocating anything for it.
  const claimed = high * 2 ** 32 + low;
  if (high !== 0 || claimed > MAX_HEADER_BYTES) {
    fail(file, `header length ${claimed} is absurd (more than ${MAX_HEADER_BYTES} bytes); this is not a safetensors file or it is corrupt`);
  }
  if (claimed > src.size - 8) {
    fail(file, `header length ${claimed} is larger than the rest of the file (${src.size - 8} bytes); the file is truncated or not safetensors`);
  }
  if (claimed < 2) fail(file, `header length ${claimed} is too small for a JSON object`);
  const headerBytes = await readChecked(src, 8, claimed);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(file, 'the header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(file, `the header is not valid JSON (${(error as Error).message})`);
  }
  const dataOffset = 8 + claimed;
  const { tensors, metadata } = parseHeader(file, json, dataOffset, src.size - dataOffset);
  const info = (name: string): TensorInfo => {
    const t = tensors.get(name);
    if (!t) fail(file, `no tensor named "${name}"${describeNames(tensors)}`);
    return t;
  };
  const readRaw = async (name: string): Promise<Uint8Array> => {
    const t = info(name);
    return readChecked(src, t.begin, t.end - t.begin);
  };
  return {
    name: file,
    source: src,
    headerLength: claimed,
    dataOffset,
    tensors,
    metadata,
    info,
    readRaw,
    readF32: async (name) => {
      const t = info(name);
      return toF32(file, t, await readRaw(name));
    },
  };
}

function describeNames(tensors: Map<string, TensorInfo>): string {
  const names = [...tensors.keys()];
  if (names.length === 0) return ' (the file has no tensors)';
  const shown = names.slice(0, 8).map((n) => `"${n}"`).join(', ');
  return ` (it has ${shown}${names.length > 8 ? `, … ${names.length - 8} more` : ''})`;
}

/** Converts stored bytes to f32. Integers convert by value (I64/U64 lose precision above 2^24). */
export function toF32(file: string, t: Pick<TensorInfo, 'name' | 'dtype'>, bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / DTYPE_SIZE[t.dtype];
  if (t.dtype === 'F32') {
    // Reuse the buffer when this read owns it outright (a fresh file read); else copy, so the result
    // never aliases the caller's memory and is 4-byte aligned.
    if (LITTLE_ENDIAN && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
      return new Float32Array(bytes.buffer, 0, n);
    }
    // new Uint8Array(view) copies; a Node Buffer's slice() would not.
    if (LITTLE_ENDIAN) return new Float32Array(new Uint8Array(bytes).buffer, 0, n);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F16': {
      const table = f16Table();
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)]!;
      break;
    }
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
    case 'U64':
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigUint64(8 * i, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case 'U32':
      for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, true);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
      break;
    case 'U16':
      for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = bytes[i]!;
      break;
    default:
      fail(file, `tensor "${t.name}" has dtype ${t.dtype}, which cannot be converted to f32`);
  }
  return out;
}

/** Accepts one of `shards` by the name the index uses, or a function that opens it. */
export type ShardResolver = ByteSource[] | ((fileName: string) => ByteSource | Promise<ByteSource>);

/**
 * A sharded checkpoint (`model.safetensors.index.json` with `weight_map`: tensor → shard file) as one
 * merged view. Every shard named in the map is opened and every mapped tensor must be in its shard.
 */
export async function openSharded(index: ByteSource, shards: ShardResolver): Promise<SafetensorsFile> {
  const file = index.name;
  if (index.size > MAX_HEADER_BYTES) fail(file, `the index is ${index.size} bytes, too large for a shard index`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readChecked(index, 0, index.size)));
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    fail(file, `the index is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json)) fail(file, 'the index is not a JSON object');
  const weightMap = json.weight_map;
  if (!isPlainObject(weightMap)) fail(file, 'the index has no "weight_map" object');
  const metadata: Record<string, string> = {};
  if (json.metadata !== undefined) {
    if (!isPlainObject(json.metadata)) fail(file, '"metadata" is not an object');
    // HF writes total_size as a number; the merged view keeps the format's string values.
    for (const [key, value] of Object.entries(json.metadata)) metadata[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '') fail(file, `weight_map entry for "${name}" is not a file name`);
    // The resolver may map names onto a file system: refuse anything but a plain file name.
    if (/[/\\]/.test(shard) || shard === '.' || shard === '..') fail(file, `weight_map entry for "${name}" names "${shard}", which is not a plain file name`);
    if (!byShard.has(shard)) byShard.set(shard, []);
    byShard.get(shard)!.push(name);
  }
  const resolve = async (shard: string): Promise<ByteSource> => {
    if (Array.isArray(shards)) {
      const found = shards.find((s) => s.name === shard || s.name.split(/[/\\]/).pop() === shard);
      if (!found) fail(file, `shard "${shard}" named in weight_map was not provided`);
      return found;
    }
    try {
      return await shards(shard);
    } catch (error) {
      fail(file, `cannot open shard "${shard}": ${(error as Error).message ?? String(error)}`);
    }
  };
  const opened = new Map<string, SingleSafetensorsFile>();
  const tensors = new Map<string, TensorInfo>();
  const owner = new Map<string, SingleSafetensorsFile>();
  for (const [shard, names] of byShard) {
    const st = await openSafetensors(await resolve(shard));
    opened.set(shard, st);
    for (const name of names) {
      const t = st.tensors.get(name);
      if (!t) fail(file, `weight_map puts "${name}" in "${shard}", but that shard has no such tensor`);
      tensors.set(name, t);
      owner.set(name, st);
    }
  }
  const first = opened.values().next().value as SingleSafetensorsFile | undefined;
  for (const [key, value] of Object.entries(first?.metadata ?? {})) if (!(key in metadata)) metadata[key] = value;
  const info = (name: string): TensorInfo => {
    const t = tensors.get(name);
    if (!t) fail(file, `no tensor named "${name}"${describeNames(tensors)}`);
    return t;
  };
  return {
    name: file,
    tensors,
    metadata,
    info,
    readRaw: (name) => {
      info(name);
      return owner.get(name)!.readRaw(name);
    },
    readF32: (name) => {
      info(name);
      return owner.get(name)!.readF32(name);
    },
  };
}

export type WritableDType = 'F32' | 'F16' | 'BF16';

export interface TensorToWrite {
  name: string;
  dtype: WritableDType;
  shape: number[];
  /**
   * Float32Array: values, converted to `dtype` (round to nearest even). Uint16Array: F16/BF16 bit
   * patterns as they are. Uint8Array: the stored little-endian bytes.
   */
  data: Float32Array | Uint16Array | Uint8Array;
}

/** Serialises tensors in the given order; the header is space-padded to 8-byte alignment as HF does. */
export function writeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new SafetensorsError(`metadata value for "${key}" is not a string`);
    }
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (!t.name || t.name === '__metadata__') throw new SafetensorsError(`invalid tensor name ${JSON.stringify(t.name)}`);
    if (Object.prototype.hasOwnProperty.call(header, t.name)) throw new SafetensorsError(`duplicate tensor name "${t.name}"`);
    if (!(t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16')) {
      throw new SafetensorsError(`tensor "${t.name}": cannot write dtype ${String(t.dtype)}`);
    }
    let count = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new SafetensorsError(`tensor "${t.name}": invalid shape ${JSON.stringify(t.shape)}`);
      count *= d;
    }
    const bytes = encode(t, count);
    chunks.push(bytes);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function encode(t: TensorToWrite, count: number): Uint8Array {
  const size = DTYPE_SIZE[t.dtype];
  const mismatch = (have: number, unit: string): never => {
    throw new SafetensorsError(`tensor "${t.name}": shape ${JSON.stringify(t.shape)} needs ${count} ${unit}, got ${have}`);
  };
  if (t.data instanceof Uint8Array) {
    if (t.data.byteLength !== count * size) mismatch(t.data.byteLength, `bytes (${count} × ${size})`);
    return t.data;
  }
  if (t.data.length !== count) mismatch(t.data.length, 'elements');
  if (t.data instanceof Uint16Array) {
    if (t.dtype === 'F32') throw new SafetensorsError(`tensor "${t.name}": 16-bit data cannot be written as F32`);
    return u16Bytes(t.data);
  }
  if (t.dtype === 'F32') {
    if (LITTLE_ENDIAN) return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const out = new Uint8Array(count * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < count; i++) view.setFloat32(4 * i, t.data[i]!, true);
    return out;
  }
  return u16Bytes(t.dtype === 'F16' ? f32ToF16Array(t.data) : f32ToBf16Array(t.data));
}

function u16Bytes(data: Uint16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setUint16(2 * i, data[i]!, true);
  return out;
}

// ---- f32 ↔ f16 / bf16, round to nearest even ----

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** f32 bits → f16 bits, round to nearest even; overflow gives ±Inf, NaN stays a quiet NaN. */
function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero) in f16: shift the full significand down, rounding on the dropped bits.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to Inf: exactly what rounding needs.
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

/** The f16 bit pattern nearest to `x` (taken as f32 first). */
export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16(scratchU32[0]!);
}

/** The value of the f16 bit pattern `h`. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/** The bf16 bit pattern nearest to `x` (taken as f32 first). */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToBf16(scratchU32[0]!);
}

function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  // Adding 0x7fff plus the kept lsb rounds half to even; a carry into the exponent gives Inf correctly.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The value of the bf16 bit pattern `h`. */
export function bf16ToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0]!;
}

let f16Lookup: Float32Array | undefined;
function f16Table(): Float32Array {
  if (!f16Lookup) {
    f16Lookup = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Lookup[h] = f16ToF32(h);
  }
  return f16Lookup;
}

export function f32ToF16Array(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16(bits[i]!);
  return out;
}

export function f16ToF32Array(bits: Uint16Array): Float32Array {
  const table = f16Table();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

export function f32ToBf16Array(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToBf16(bits[i]!);
  return out;
}

export function bf16ToF32Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}
