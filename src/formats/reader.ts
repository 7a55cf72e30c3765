/**
 * Strict reader for one safetensors file. Files come from strangers, so every claim in the header is
 * checked against the file before anything is allocated or read; tensor bytes are read on demand.
 */
import type { ByteSource } from './byteSource';
import { DTYPE_SIZE, isDType, toF32, type SafetensorsDType } from './dtypes';
import { countTopLevelMembers } from './jsonScan';
import { fail } from './safetensorsError';

/** Headers above this are refused: real ones are kilobytes to a few megabytes (the Rust reader's limit too). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Tensors one file may list: real checkpoints have hundreds to a few thousand per file. */
export const MAX_TENSORS = 1 << 17;
/** Dimensions one tensor may have: weights have 1–2, buffers up to 4. */
export const MAX_RANK = 8;

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
  /**
   * The tensor's bytes as stored (little-endian). Reads only that tensor, or only `length` bytes
   * from byte `start` of it (a vocabulary table is read one row chunk at a time).
   */
  readRaw(name: string, start?: number, length?: number): Promise<Uint8Array>;
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

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exactly `length` bytes at `offset`, or a SafetensorsError naming the source. */
export async function readChecked(src: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await src.read(offset, length);
  } catch (error) {
    fail(src.name, `cannot read ${length} bytes at offset ${offset}: ${(error as Error).message ?? String(error)}`);
  }
  if (bytes.byteLength !== length) fail(src.name, `short read: got ${bytes.byteLength} of ${length} bytes at offset ${offset}`);
  return bytes;
}

/** The length of a read of bytes [start, start + length) of a tensor of `size` bytes (default: to its end), or a SafetensorsError naming the file. */
export function rangeLength(file: string, name: string, size: number, start: number, length?: number): number {
  const n = length ?? size - start;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(n) || start < 0 || n < 0 || start + n > size) {
    fail(file, `tensor "${name}": bytes ${start}..${start + n} are outside its ${size} bytes`);
  }
  return n;
}

/** `info()` over a tensor map: a missing name is an error that lists some of the names there are. */
export function tensorLookup(file: string, tensors: Map<string, TensorInfo>): (name: string) => TensorInfo {
  return (name) => {
    const t = tensors.get(name);
    if (!t) fail(file, `no tensor named "${name}"${describeNames(tensors)}`);
    return t;
  };
}

function describeNames(tensors: Map<string, TensorInfo>): string {
  const names = [...tensors.keys()];
  if (names.length === 0) return ' (the file has no tensors)';
  const shown = names.slice(0, 8).map((n) => `"${n}"`).join(', ');
  return ` (it has ${shown}${names.length > 8 ? `, … ${names.length - 8} more` : ''})`;
}

/** Validates one header entry against the data region; offsets in the result are absolute. */
function parseEntry(file: string, name: string, entry: unknown, dataOffset: number, dataSize: number): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isPlainObject(entry)) fail(file, `${where} is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (dtype === undefined) fail(file, `${where} has no "dtype"`);
  if (!isDType(dtype)) fail(file, `${where} has unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape)) fail(file, `${where} has no "shape" array`);
  if (shape.length > MAX_RANK) fail(file, `${where} has a shape of ${shape.length} dimensions; at most ${MAX_RANK} are accepted`);
  let count = 1;
  // An empty tensor may claim any other dimension, so the product of the non-zero ones is bounded too.
  let nonZero = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(file, `${where} has an invalid dimension ${JSON.stringify(d)} in shape ${JSON.stringify(shape)} (must be a non-negative integer)`);
    }
    count *= d;
    if (d > 0) nonZero *= d;
  }
  const bytes = count * DTYPE_SIZE[dtype];
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(nonZero * DTYPE_SIZE[dtype])) {
    fail(file, `${where} shape ${JSON.stringify(shape)} is too large`);
  }
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
    fail(file, `${where} holds ${end - begin} bytes but dtype ${dtype} with shape ${JSON.stringify(shape)} needs ${bytes}`);
  }
  return { name, dtype, shape: shape.slice() as number[], begin: dataOffset + begin, end: dataOffset + end, file };
}

/** Parses and validates the JSON header; `dataSize` is the byte length of the data region. */
export function parseHeader(
  file: string,
  json: unknown,
  dataOffset: number,
  dataSize: number,
): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (!isPlainObject(json)) fail(file, 'the header is not a JSON object');
  const entries = Object.keys(json).length;
  if (entries - (Object.hasOwn(json, '__metadata__') ? 1 : 0) > MAX_TENSORS) fail(file, tooManyTensors(String(entries)));
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
    tensors.set(name, parseEntry(file, name, entry, dataOffset, dataSize));
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

function tooManyTensors(count: string): string {
  return `the header lists ${count} tensors; at most ${MAX_TENSORS} per file are accepted (real checkpoints have a few thousand at most)`;
}

/**
 * Reads the u64 header length and the JSON header at byte `at` (0 in a safetensors file; a packed
 * file, pack.ts, embeds the same header after its magic), checking each claim against the file's size.
 */
export async function readHeaderJson(src: ByteSource, at = 0): Promise<{ headerLength: number; json: unknown }> {
  const file = src.name;
  if (!Number.isSafeInteger(src.size) || src.size < at + 8) {
    fail(file, `the file is ${src.size} bytes, shorter than the 8-byte header length`);
  }
  const prefix = await readChecked(src, at, 8);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  // Check the claimed length against the file before allocating anything for it.
  const claimed = high * 2 ** 32 + low;
  if (high !== 0 || claimed > MAX_HEADER_BYTES) {
    fail(file, `header length ${claimed} is absurd (more than ${MAX_HEADER_BYTES} bytes); this is not a safetensors file or it is corrupt`);
  }
  if (claimed > src.size - at - 8) {
    fail(file, `header length ${claimed} is larger than the rest of the file (${src.size - at - 8} bytes); the file is truncated or not safetensors`);
  }
  if (claimed < 2) fail(file, `header length ${claimed} is too small for a JSON object`);
  const headerBytes = await readChecked(src, at + 8, claimed);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(file, 'the header is not valid UTF-8');
  }
  // Count before parsing: a header of a million tiny entries would otherwise cost seconds and gigabytes.
  const members = countTopLevelMembers(text, MAX_TENSORS + 1);
  if (members > MAX_TENSORS + 1) fail(file, tooManyTensors(`more than ${MAX_TENSORS}`));
  try {
    return { headerLength: claimed, json: JSON.parse(text) };
  } catch (error) {
    fail(file, `the header is not valid JSON (${(error as Error).message})`);
  }
}

/** Reads and validates the header of one safetensors file; tensor bytes are read on demand. */
export async function openSafetensors(src: ByteSource): Promise<SingleSafetensorsFile> {
  const file = src.name;
  const { headerLength, json } = await readHeaderJson(src);
  const dataOffset = 8 + headerLength;
  const { tensors, metadata } = parseHeader(file, json, dataOffset, src.size - dataOffset);
  const info = tensorLookup(file, tensors);
  const readRaw = async (name: string, start = 0, length?: number): Promise<Uint8Array> => {
    const t = info(name);
    return readChecked(src, t.begin + start, rangeLength(file, name, t.end - t.begin, start, length));
  };
  return {
    name: file,
    source: src,
    headerLength,
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
