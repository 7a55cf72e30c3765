/**
 * The compact sparse layouts of compressed-tensors (docs/compact.md): a pruned weight of shape
 * [rows, cols] is stored as its kept values plus a bitmask instead of rows·cols values.
 *
 * - `sparse-bitmask`: `P.compressed` (the kept values, 1-D, the weight's dtype, row-major order),
 *   `P.bitmask` (U8 [rows, ⌈cols/8⌉], bit j%8 of byte j/8 — least significant first — set where
 *   column j is kept), `P.row_offsets` (I64 [rows], where each row's values start in `compressed`),
 *   `P.shape` (I64 [2], the dense shape).
 * - `sparse-24-bitmask`: `P.compressed` [rows, cols/2] (exactly two values of every four), `P.bitmask`
 *   as above, `P.shape` I64 [2, 1]; no row offsets.
 *
 * `P` is the weight's name without its `.weight` suffix. "Kept" means a stored bit pattern that is
 * not all zero: −0 is kept as a value, so decoding gives back the exact bits (compressed-tensors'
 * own encoder tests `!= 0`, which would turn −0 into +0; its decoder reads either the same way).
 * Everything here works on stored little-endian bytes, never on converted floats.
 */
import { DTYPE_SIZE, type WritableDType } from './dtypes';
import type { TensorEntry } from './streamWriter';

export type CompactFormat = 'sparse-bitmask' | 'sparse-24-bitmask';
export const COMPACT_FORMATS: readonly CompactFormat[] = ['sparse-bitmask', 'sparse-24-bitmask'];

/** The tensors one compressed weight becomes, by suffix. */
export const COMPACT_PARTS = ['compressed', 'bitmask', 'row_offsets', 'shape'] as const;
export type CompactPart = (typeof COMPACT_PARTS)[number];

/** `model.layers.0.mlp.up_proj.weight` → `model.layers.0.mlp.up_proj` (compressed-tensors' prefix rule). */
export function compactPrefix(weightName: string): string {
  return weightName.endsWith('.weight') ? weightName.slice(0, -'.weight'.length) : weightName;
}

/** The stored elements as unsigned integers of their width (a copy when the bytes are not aligned for a view). */
export function storedElements(bytes: Uint8Array, elementSize: number): Uint16Array | Uint32Array {
  const aligned = bytes.byteOffset % elementSize === 0 ? bytes : bytes.slice();
  const n = aligned.byteLength / elementSize;
  if (elementSize === 2) return new Uint16Array(aligned.buffer, aligned.byteOffset, n);
  if (elementSize === 4) return new Uint32Array(aligned.buffer, aligned.byteOffset, n);
  throw new RangeError(`compact layouts store 2- or 4-byte values, not ${elementSize}-byte ones`);
}

/** What the header of a compact weight needs before its data is written: the count of kept values, and whether every group of four keeps at most two. */
export interface KeptCount {
  kept: number;
  /** Every aligned group of 4 along a row has at most 2 kept values (and cols is a multiple of 4). */
  twoFour: boolean;
}

export function countKept(bytes: Uint8Array, dtype: WritableDType, cols: number): KeptCount {
  const v = storedElements(bytes, DTYPE_SIZE[dtype]);
  let kept = 0;
  let twoFour = cols % 4 === 0;
  for (let i = 0; i < v.length; i += 4) {
    const g = (v[i] !== 0 ? 1 : 0) + (v[i + 1] ? 1 : 0) + (v[i + 2] ? 1 : 0) + (v[i + 3] ? 1 : 0);
    kept += g;
    if (g > 2) twoFour = false;
  }
  // Past the end the loop reads undefined (falsy); with cols a multiple of 4 the flat groups of 4 are a row's groups.
  return { kept, twoFour };
}

/** Bytes of one bitmask row. */
export const bitmaskRowBytes = (cols: number): number => Math.ceil(cols / 8);

/** The header entries of a compressed weight, in the order they are written. */
export function compactEntries(format: CompactFormat, weightName: string, dtype: WritableDType, rows: number, cols: number, kept: number): (TensorEntry & { part: CompactPart })[] {
  const p = compactPrefix(weightName);
  const bitmask = { name: `${p}.bitmask`, dtype: 'U8' as const, shape: [rows, bitmaskRowBytes(cols)], part: 'bitmask' as const };
  if (format === 'sparse-24-bitmask') {
    return [
      { name: `${p}.compressed`, dtype, shape: [rows, cols / 2], part: 'compressed' },
      bitmask,
      { name: `${p}.shape`, dtype: 'I64', shape: [2, 1], part: 'shape' },
    ];
  }
  return [
    { name: `${p}.compressed`, dtype, shape: [kept], part: 'compressed' },
    bitmask,
    { name: `${p}.row_offsets`, dtype: 'I64', shape: [rows], part: 'row_offsets' },
    { name: `${p}.shape`, dtype: 'I64', shape: [2], part: 'shape' },
  ];
}

/** Bytes of the data of a compressed weight (headers not counted). */
export function compactDataBytes(format: CompactFormat, dtype: WritableDType, rows: number, cols: number, kept: number): number {
  const values = (format === 'sparse-24-bitmask' ? rows * (cols / 2) : kept) * DTYPE_SIZE[dtype];
  return values + rows * bitmaskRowBytes(cols) + (format === 'sparse-24-bitmask' ? 16 : 8 * rows + 16);
}

function int64Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return out;
}

/**
 * The stored bytes of each part of a compressed weight. For `sparse-24-bitmask`, a group with fewer
 * than two non-zero values also keeps its first zero positions, so that every group stores two.
 */
export function encodeCompact(format: CompactFormat, dtype: WritableDType, rows: number, cols: number, bytes: Uint8Array): Map<CompactPart, Uint8Array> {
  const size = DTYPE_SIZE[dtype];
  const v = storedElements(bytes, size);
  const rowBytes = bitmaskRowBytes(cols);
  const mask = new Uint8Array(rows * rowBytes);
  const two = format === 'sparse-24-bitmask';
  const values = new (size === 2 ? Uint16Array : Uint32Array)(two ? (rows * cols) / 2 : countKept(bytes, dtype, cols).kept);
  const offsets: number[] = [];
  let k = 0;
  for (let r = 0; r < rows; r++) {
    offsets.push(k);
    const base = r * cols;
    const maskBase = r * rowBytes;
    for (let c = 0; c < cols; c += two ? 4 : 1) {
      if (!two) {
        if (v[base + c] !== 0) {
          mask[maskBase + (c >> 3)] |= 1 << (c & 7);
          values[k++] = v[base + c];
        }
        continue;
      }
      let nonZero = 0;
      for (let j = 0; j < 4; j++) if (v[base + c + j] !== 0) nonZero++;
      if (nonZero > 2) throw new RangeError(`row ${r}, columns ${c}–${c + 3} keep ${nonZero} values; sparse-24-bitmask stores at most 2 of every 4`);
      let zerosToKeep = 2 - nonZero;
      for (let j = 0; j < 4; j++) {
        const x = v[base + c + j];
        if (x === 0 && zerosToKeep === 0) continue;
        if (x === 0) zerosToKeep--;
        mask[maskBase + ((c + j) >> 3)] |= 1 << ((c + j) & 7);
        values[k++] = x;
      }
    }
  }
  const parts = new Map<CompactPart, Uint8Array>();
  parts.set('compressed', new Uint8Array(values.buffer));
  parts.set('bitmask', mask);
  if (!two) parts.set('row_offsets', int64Bytes(offsets));
  parts.set('shape', int64Bytes([rows, cols]));
  return parts;
}

/** A refusal of a compact weight's data: the caller names the file and the weight. */
export class CompactDataError extends Error {
  override name = 'CompactDataError';
}

/**
 * The dense stored bytes of a compressed weight, after checking that the bitmask keeps exactly as
 * many values as are stored and (sparse-bitmask) that every row offset says where its row starts.
 */
export function decodeCompact(
  dtype: WritableDType,
  rows: number,
  cols: number,
  parts: { compressed: Uint8Array; bitmask: Uint8Array; rowOffsets?: ArrayLike<number> },
): Uint8Array {
  const size = DTYPE_SIZE[dtype];
  const values = storedElements(parts.compressed, size);
  const rowBytes = bitmaskRowBytes(cols);
  const { bitmask: mask, rowOffsets } = parts;
  const dense = new (size === 2 ? Uint16Array : Uint32Array)(rows * cols);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    if (rowOffsets && rowOffsets[r] !== k) {
      throw new CompactDataError(`row_offsets[${r}] is ${rowOffsets[r]}, but the bitmask keeps ${k} values before row ${r}`);
    }
    const base = r * cols;
    const maskBase = r * rowBytes;
    for (let b = 0; b < rowBytes; b++) {
      let bits = mask[maskBase + b];
      // Bits past the last column (padding of the row's last byte) are ignored, as numpy.unpackbits(count=cols) does.
      if (b === rowBytes - 1 && cols % 8 !== 0) bits &= (1 << (cols % 8)) - 1;
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        if (k >= values.length) throw new CompactDataError(`the bitmask keeps more values than the ${values.length} stored in "compressed"`);
        dense[base + 8 * b + bit] = values[k++];
      }
    }
  }
  if (k !== values.length) throw new CompactDataError(`the bitmask keeps ${k} values but "compressed" stores ${values.length}`);
  return new Uint8Array(dense.buffer);
}
