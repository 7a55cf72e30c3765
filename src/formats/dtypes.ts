/**
 * Safetensors element types and every conversion between stored little-endian bytes and f32.
 * Each F16/BF16/F32 loop is written once here; the reader and the writer call into it.
 */
import { fail } from './safetensorsError';

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

/** The dtypes the writer produces: what a pruned checkpoint needs. */
export type WritableDType = 'F32' | 'F16' | 'BF16';

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

export function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, value);
}

/** The format is little-endian; on such a host typed arrays can view stored bytes directly. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---- f32 ↔ f16 / bf16 bit patterns, round to nearest even ----

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

function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  // Adding 0x7fff plus the kept lsb rounds half to even; a carry into the exponent gives Inf correctly.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
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

/** The value of the bf16 bit pattern `h`. */
export function bf16ToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0]!;
}

// ---- whole arrays ----

let f16Lookup: Float32Array | undefined;
/** All 65536 f16 values: a lookup beats decoding bit fields per element on large tensors. */
function f16Table(): Float32Array {
  if (!f16Lookup) {
    f16Lookup = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Lookup[h] = f16ToF32(h);
  }
  return f16Lookup;
}

/** Maps each f32's bit pattern to a 16-bit pattern with `toBits`. */
function narrowBits(values: Float32Array, toBits: (bits: number) => number): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toBits(bits[i]!);
  return out;
}

export function f32ToF16Array(values: Float32Array): Uint16Array {
  return narrowBits(values, f32BitsToF16);
}

export function f32ToBf16Array(values: Float32Array): Uint16Array {
  return narrowBits(values, f32BitsToBf16);
}

export function f16ToF32Array(bits: Uint16Array): Float32Array {
  const table = f16Table();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

export function bf16ToF32Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

// ---- stored little-endian bytes ↔ typed arrays ----

/** `n` u16 values from stored bytes; a view when the host and alignment allow, else a copy. */
function leBytesToU16(bytes: Uint8Array, n: number): Uint16Array {
  if (LITTLE_ENDIAN) {
    if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    // new Uint8Array(view) copies into a fresh, aligned buffer.
    return new Uint16Array(new Uint8Array(bytes).buffer, 0, n);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

/** The dtypes stored at 2 bytes per value that the GPU can read as they are (packed two per u32). */
export type HalfDType = 'F16' | 'BF16';

export function isHalfDType(dtype: SafetensorsDType): dtype is HalfDType {
  return dtype === 'F16' || dtype === 'BF16';
}

/** A stored F16/BF16 tensor's 16-bit patterns, unconverted; a view on the bytes when aligned. */
export function halfBits(bytes: Uint8Array): Uint16Array {
  if (bytes.byteLength % 2 !== 0) throw new RangeError(`16-bit data needs an even byte count, got ${bytes.byteLength}`);
  return leBytesToU16(bytes, bytes.byteLength / 2);
}

/** The stored bytes of 16-bit patterns or f32 values; a view on a little-endian host. */
export function toLeBytes(data: Uint16Array | Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Uint16Array) for (let i = 0; i < data.length; i++) view.setUint16(2 * i, data[i]!, true);
  else for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
  return out;
}

/** Element i of stored little-endian bytes, by value; the F8 types have no reader (they are refused). */
const ELEMENT_READERS: Partial<Record<SafetensorsDType, (view: DataView, i: number) => number>> = {
  F32: (view, i) => view.getFloat32(4 * i, true),
  F64: (view, i) => view.getFloat64(8 * i, true),
  I64: (view, i) => Number(view.getBigInt64(8 * i, true)),
  U64: (view, i) => Number(view.getBigUint64(8 * i, true)),
  I32: (view, i) => view.getInt32(4 * i, true),
  U32: (view, i) => view.getUint32(4 * i, true),
  I16: (view, i) => view.getInt16(2 * i, true),
  U16: (view, i) => view.getUint16(2 * i, true),
  I8: (view, i) => view.getInt8(i),
  U8: (view, i) => view.getUint8(i),
  BOOL: (view, i) => view.getUint8(i),
};

/** Converts stored bytes to f32. Integers convert by value (I64/U64 lose precision above 2^24). */
export function toF32(file: string, t: { name: string; dtype: SafetensorsDType }, bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / DTYPE_SIZE[t.dtype];
  if (t.dtype === 'F32' && LITTLE_ENDIAN) {
    // Reuse the buffer when this read owns it outright (a fresh file read); else copy, so the result
    // never aliases the caller's memory and is 4-byte aligned.
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
      return new Float32Array(bytes.buffer, 0, n);
    }
    // new Uint8Array(view) copies; a Node Buffer's slice() would not.
    return new Float32Array(new Uint8Array(bytes).buffer, 0, n);
  }
  if (t.dtype === 'F16') return f16ToF32Array(leBytesToU16(bytes, n));
  if (t.dtype === 'BF16') return bf16ToF32Array(leBytesToU16(bytes, n));
  const read = ELEMENT_READERS[t.dtype];
  if (!read) fail(file, `tensor "${t.name}" has dtype ${t.dtype}, which cannot be converted to f32`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = read(view, i);
  return out;
}
