/**
 * The sparse forms of a pruned nn.Linear weight [rows, cols] built on the CPU from its values (zeros
 * are the pruned weights), as the u32 words the decode kernels read (src/kernels/sparse.ts,
 * shaders/sparse.wgsl). Values stay f32, or the checkpoint's BF16/F16 halves two to a word.
 */
import { f32ToBf16Array, f32ToF16Array } from '../formats/dtypes';
import type { WeightFormat } from '../kernels/packed';
import type { HostSparse, SparseKind } from '../kernels/sparse';

/** Whether every group of `m` consecutive inputs of every row (the last one possibly shorter) has at most `n` nonzeros. */
export function fitsNM(w: Float32Array, rows: number, cols: number, n: number, m: number): boolean {
  for (let j = 0; j < rows; j++) {
    const row = j * cols;
    for (let g = 0; g < cols; g += m) {
      let kept = 0;
      for (let k = g; k < Math.min(g + m, cols); k++) if (w[row + k] !== 0) kept++;
      if (kept > n) return false;
    }
  }
  return true;
}

/** Values as u32 words: f32 bits, or 16-bit halves two to a word (an odd count padded with a zero half). */
function valueWords(v: Float32Array, format: WeightFormat): Uint32Array {
  if (format === 'f32') return new Uint32Array(v.buffer, v.byteOffset, v.length);
  const half = format === 'bf16' ? f32ToBf16Array(v) : f32ToF16Array(v);
  const even = new Uint16Array(half.length + (half.length % 2));
  even.set(half);
  return new Uint32Array(even.buffer);
}

function countNonzeros(w: Float32Array): number {
  let nnz = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) nnz++;
  return nnz;
}

function encodeNM(w: Float32Array, rows: number, cols: number, n: number, m: number, values: WeightFormat): HostSparse {
  const groups = Math.ceil(cols / m);
  const slots = groups * n;
  const bits = Math.max(1, Math.ceil(Math.log2(m)));
  const per = Math.floor(32 / bits);
  const indexWords = Math.ceil(slots / per);
  const vals = new Float32Array(slots * rows);
  const idx = new Uint32Array(indexWords * rows);
  for (let j = 0; j < rows; j++) {
    for (let g = 0; g < groups; g++) {
      let s = g * n;
      for (let k = g * m; k < Math.min(g * m + m, cols); k++) {
        const v = w[j * cols + k];
        if (v === 0) continue;
        if (s === (g + 1) * n) throw new Error(`encodeSparse: row ${j} group ${g} keeps more than ${n} of ${m}.`);
        vals[s * rows + j] = v;
        idx[Math.floor(s / per) * rows + j] |= (k - g * m) << ((s % per) * bits);
        s++;
      }
      // Unused slots keep value 0 and index 0 (column g·m, inside the row).
    }
  }
  return { kind: 'nm', rows, cols, values, nnz: countNonzeros(w), n, m, slots, bits, words: { W: valueWords(vals, values), I: idx } };
}

function rowPointers(w: Float32Array, rows: number, cols: number): Uint32Array {
  const R = new Uint32Array(rows + 1);
  for (let j = 0; j < rows; j++) {
    let c = 0;
    for (let k = 0; k < cols; k++) if (w[j * cols + k] !== 0) c++;
    R[j + 1] = R[j] + c;
  }
  return R;
}

function keptValues(w: Float32Array, nnz: number): Float32Array {
  const v = new Float32Array(nnz);
  let e = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) v[e++] = w[i];
  return v;
}

function encodeUnstructured(kind: 'csr' | 'bitmask', w: Float32Array, rows: number, cols: number, values: WeightFormat): HostSparse {
  const R = rowPointers(w, rows, cols);
  const nnz = R[rows];
  // A buffer may not be empty: an all-zero weight still binds one word.
  const W = nnz > 0 ? valueWords(keptValues(w, nnz), values) : new Uint32Array(1);
  if (kind === 'bitmask') {
    const words = Math.ceil(cols / 32);
    const B = new Uint32Array(rows * words);
    for (let j = 0; j < rows; j++) for (let k = 0; k < cols; k++) if (w[j * cols + k] !== 0) B[j * words + (k >> 5)] |= 1 << (k & 31);
    return { kind, rows, cols, values, nnz, words: { W, B, R } };
  }
  const wide = cols > 65536;
  const C = new Uint32Array(Math.max(1, wide ? nnz : Math.ceil(nnz / 2)));
  let e = 0;
  for (let j = 0; j < rows; j++) {
    for (let k = 0; k < cols; k++) {
      if (w[j * cols + k] === 0) continue;
      if (wide) C[e] = k;
      else C[e >> 1] |= k << ((e & 1) * 16);
      e++;
    }
  }
  return { kind, rows, cols, values, nnz, wide, words: { W, C, R } };
}

export interface EncodeOptions {
  /** Value storage (default f32); BF16/F16 must hold the values exactly (they came from such a checkpoint). */
  values?: WeightFormat;
  /** N:M only: the pattern (checked with fitsNM). */
  n?: number;
  m?: number;
}

/** The sparse form `kind` of a [rows, cols] nn.Linear weight (zeros are the pruned weights). */
export function encodeSparse(kind: SparseKind, w: Float32Array, rows: number, cols: number, o: EncodeOptions = {}): HostSparse {
  if (w.length !== rows * cols || rows < 1 || cols < 1) throw new Error(`encodeSparse: ${w.length} values for a ${rows}×${cols} weight.`);
  const values = o.values ?? 'f32';
  if (kind !== 'nm') return encodeUnstructured(kind, w, rows, cols, values);
  if (!o.n || !o.m || !fitsNM(w, rows, cols, o.n, o.m)) throw new Error(`encodeSparse: the weight does not fit ${o.n}:${o.m}.`);
  return encodeNM(w, rows, cols, o.n, o.m, values);
}

