/**
 * Streaming safetensors writer: the header is computed from names, dtypes and shapes alone, then
 * each tensor's data is produced and written to the sink one at a time, so the peak memory of an
 * export is about one tensor rather than the whole file.
 */
import { DTYPE_SIZE, f32ToBf16Array, f32ToF16Array, toLeBytes, type WritableDType } from './dtypes';
import { SafetensorsError } from './safetensorsError';

/**
 * Float32Array: values, converted to `dtype` (round to nearest even). Uint16Array: F16/BF16 bit
 * patterns as they are. Uint8Array: the stored little-endian bytes.
 */
export type TensorData = Float32Array | Uint16Array | Uint8Array;

/** Integer dtypes written only from their stored bytes (a compact checkpoint's bitmasks, offsets and shapes). */
export type RawDType = 'U8' | 'I64';

/** A tensor's place in a header: what the header says about it before any of its data exists. */
export interface TensorEntry {
  name: string;
  dtype: WritableDType | RawDType;
  shape: number[];
}

/** A tensor whose data is produced only when its turn to be written comes. */
export interface LazyTensor extends TensorEntry {
  data: () => TensorData | Promise<TensorData>;
}

/** Where bytes go: a file, a download buffer, a browser stream. */
export interface ByteSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

/** Element count of a checked shape. */
export function elementCount(t: TensorEntry): number {
  let count = 1;
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new SafetensorsError(`tensor "${t.name}": invalid shape ${JSON.stringify(t.shape)}`);
    count *= d;
  }
  return count;
}

/** Stored data bytes of one tensor (as in a shard index's total_size). */
export function tensorBytes(t: TensorEntry): number {
  return elementCount(t) * DTYPE_SIZE[t.dtype];
}

export interface SafetensorsHeader {
  /** The 8-byte length prefix and the space-padded JSON, ready to write. */
  bytes: Uint8Array<ArrayBuffer>;
  /** Bytes of the data region that follows. */
  dataBytes: number;
}

/** The header for these tensors in this order; the JSON is space-padded to 8-byte alignment as HF does. */
export function safetensorsHeader(tensors: readonly TensorEntry[], metadata?: Record<string, string>): SafetensorsHeader {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new SafetensorsError(`metadata value for "${key}" is not a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    if (!t.name || t.name === '__metadata__') throw new SafetensorsError(`invalid tensor name ${JSON.stringify(t.name)}`);
    if (Object.prototype.hasOwnProperty.call(header, t.name)) throw new SafetensorsError(`duplicate tensor name "${t.name}"`);
    if (!(t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'U8' || t.dtype === 'I64')) {
      throw new SafetensorsError(`tensor "${t.name}": cannot write dtype ${String(t.dtype)}`);
    }
    const size = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  bytes.set(json, 8);
  return { bytes, dataBytes: offset };
}

/** One tensor's stored bytes, after checking that the data fits the shape. */
export function encodeTensor(t: TensorEntry, data: TensorData): Uint8Array {
  const count = elementCount(t);
  const size = DTYPE_SIZE[t.dtype];
  const mismatch = (have: number, unit: string): never => {
    throw new SafetensorsError(`tensor "${t.name}": shape ${JSON.stringify(t.shape)} needs ${count} ${unit}, got ${have}`);
  };
  if (data instanceof Uint8Array) {
    if (data.byteLength !== count * size) mismatch(data.byteLength, `bytes (${count} × ${size})`);
    return data;
  }
  if (t.dtype === 'U8' || t.dtype === 'I64') throw new SafetensorsError(`tensor "${t.name}": ${t.dtype} data is written from its stored bytes only`);
  if (data.length !== count) mismatch(data.length, 'elements');
  if (data instanceof Uint16Array) {
    if (t.dtype === 'F32') throw new SafetensorsError(`tensor "${t.name}": 16-bit data cannot be written as F32`);
    return toLeBytes(data);
  }
  if (t.dtype === 'F32') return toLeBytes(data);
  return toLeBytes(t.dtype === 'F16' ? f32ToF16Array(data) : f32ToBf16Array(data));
}

/**
 * Writes the header, then each tensor's data as it is produced (only one tensor's bytes alive at a
 * time); returns the bytes written.
 */
export async function streamSafetensors(tensors: readonly LazyTensor[], sink: ByteSink, metadata?: Record<string, string>): Promise<number> {
  const header = safetensorsHeader(tensors, metadata);
  await sink.write(header.bytes);
  let written = header.bytes.byteLength;
  for (const t of tensors) {
    const bytes = encodeTensor(t, await t.data());
    await sink.write(bytes);
    written += bytes.byteLength;
  }
  return written;
}
