/** Safetensors writer: F32, F16 and BF16 tensors plus string metadata, laid out as HF does. */
import { DTYPE_SIZE, f32ToBf16Array, f32ToF16Array, toLeBytes, type WritableDType } from './dtypes';
import { SafetensorsError } from './safetensorsError';

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

/** One tensor's stored bytes, after checking that the data fits the shape. */
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
    return toLeBytes(t.data);
  }
  if (t.dtype === 'F32') return toLeBytes(t.data);
  return toLeBytes(t.dtype === 'F16' ? f32ToF16Array(t.data) : f32ToBf16Array(t.data));
}
