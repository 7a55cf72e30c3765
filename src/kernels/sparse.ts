/**
 * Sparse forms of a pruned linear weight for the decode products Y = X·Wᵀ (X: 1 to a few rows), and
 * their kernels (shaders/sparse.wgsl). A form is built once on the CPU from the weight's values
 * (`encodeSparse`, src/model/sparseWeights.ts) and uploaded (`uploadSparse`); which form, if any,
 * beats the dense product on an adapter is measured, not guessed (src/model/decodeLinears.ts).
 *   nm       N:M: kept values and their in-group indices (⌈log2 M⌉ bits), slot-major
 *   csr      unstructured: row pointers, values, 16-bit column indices (32-bit past 65536 columns)
 *   bitmask  unstructured: row pointers, values, one bit per weight
 * Values stay f32, or the checkpoint's BF16/F16 halves when the dense weight is held so (exact: the
 * values came from those halves), so a sparse form never reads more value bytes than the dense one.
 */
import file from '../../shaders/sparse.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { packedReaders, type WeightFormat } from './packed';

export type SparseKind = 'nm' | 'csr' | 'bitmask';

const wgsl = wgslSections(file);

/** Rows of X one invocation handles beyond a single token (the shader's vec4 accumulators). */
const ROWS_PER_INVOCATION = 4;
const WORKGROUP = 64;

const common = { M: 'u32', N: 'u32', K: 'u32', lda: 'u32', offA: 'u32', ldc: 'u32', offC: 'u32' } as const;

type ValueFlags = {
  values: WeightFormat;
  accumulate: boolean;
  /** Rows of X per invocation: 1 (a single token) or 4. */
  rb: number;
};

/** Value readers: f32 bits, or the packed prelude's weight_at on BF16/F16 halves (both read W). */
function valueReaders(f: ValueFlags): string {
  return wgslConsts({ VALUES_F32: f.values === 'f32', RB: f.rb }) + packedReaders(f.values === 'f32' ? 'bf16' : f.values);
}

const nmKernel = defineKernel({
  name: 'nm_linear',
  uniforms: { ...common, S: 'u32' },
  bindings: { X: { type: 'f32' }, W: { type: 'u32' }, I: { type: 'u32' }, Y: { type: 'f32', access: 'read_write' } },
  workgroupSize: [WORKGROUP],
  source: (f: ValueFlags & { keep: number; group: number; bits: number }) =>
    wgslConsts({ ACCUMULATE: f.accumulate, KEEP: f.keep, GROUP: f.group, BITS: f.bits, PER: Math.floor(32 / f.bits) }) + valueReaders(f) + wgsl.section('nm_linear'),
});

const csrKernel = defineKernel({
  name: 'csr_linear',
  uniforms: common,
  bindings: { X: { type: 'f32' }, W: { type: 'u32' }, C: { type: 'u32' }, R: { type: 'u32' }, Y: { type: 'f32', access: 'read_write' } },
  workgroupSize: [WORKGROUP],
  source: (f: ValueFlags & { wide: boolean }) => wgslConsts({ ACCUMULATE: f.accumulate, WIDE: f.wide }) + valueReaders(f) + wgsl.section('csr_linear'),
});

const bitmaskKernel = defineKernel({
  name: 'bitmask_linear',
  uniforms: common,
  bindings: { X: { type: 'f32' }, W: { type: 'u32' }, B: { type: 'u32' }, R: { type: 'u32' }, Y: { type: 'f32', access: 'read_write' } },
  workgroupSize: [WORKGROUP],
  source: (f: ValueFlags) => wgslConsts({ ACCUMULATE: f.accumulate }) + valueReaders(f) + wgsl.section('bitmask_linear'),
});

/** A sparse form on the CPU, as u32 words per buffer (what `uploadSparse` writes). */
export interface HostSparse {
  kind: SparseKind;
  rows: number;
  cols: number;
  values: WeightFormat;
  /** Kept (nonzero) weights. */
  nnz: number;
  /** N:M only: kept per group, group size, slots per row, index bits. */
  n?: number;
  m?: number;
  slots?: number;
  bits?: number;
  /** Column indices one u32 each (csr past 65536 columns). */
  wide?: boolean;
  words: { W: Uint32Array; I?: Uint32Array; C?: Uint32Array; R?: Uint32Array; B?: Uint32Array };
}

export type SparseWeight = Omit<HostSparse, 'words'> & { buffers: { [K in keyof HostSparse['words']]: GpuTensor | undefined }; bytes: number };

/** Bytes a host form reads per product (all its buffers). */
export function sparseBytes(h: HostSparse): number {
  return Object.values(h.words).reduce((s, a) => s + (a ? a.byteLength : 0), 0);
}

/** Uploads a host form; null when one of its buffers exceeds a storage binding (the caller keeps the dense product). */
export function uploadSparse(gpu: Gpu, h: HostSparse): SparseWeight | null {
  const limit = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  const entries = Object.entries(h.words).filter(([, a]) => a) as [keyof HostSparse['words'], Uint32Array][];
  if (entries.some(([, a]) => a.byteLength > limit)) return null;
  const buffers: SparseWeight['buffers'] = { W: undefined };
  for (const [k, a] of entries) buffers[k] = gpu.upload(a, [a.length]);
  const { words: _words, ...shape } = h;
  return { ...shape, buffers, bytes: sparseBytes(h) };
}

export function freeSparse(s: SparseWeight): void {
  for (const b of Object.values(s.buffers)) b?.dispose();
}

export interface SparseProductOptions {
  /** Rows of X and Y. */
  rows: number;
  /** Row length of X as stored and its first element (default the weight's cols, 0). */
  lda?: number;
  offA?: number;
  /** Row length of Y and the column where the weight's row 0 lands (default the weight's rows, 0). */
  ldc?: number;
  offC?: number;
  accumulate?: boolean;
}

/** Y = X·Wᵀ (or Y += X·Wᵀ) with W in a sparse form; see shaders/sparse.wgsl. */
export function sparseProduct(gpu: Gpu, X: Binding, s: SparseWeight, Y: Binding, o: SparseProductOptions): void {
  if (o.rows <= 0) return;
  const uniforms = { M: o.rows, N: s.rows, K: s.cols, lda: o.lda ?? s.cols, offA: o.offA ?? 0, ldc: o.ldc ?? s.rows, offC: o.offC ?? 0 };
  const rb = o.rows === 1 ? 1 : ROWS_PER_INVOCATION;
  const workgroups = [Math.ceil(s.rows / WORKGROUP), Math.ceil(o.rows / rb)] as const;
  const base = { values: s.values, accumulate: o.accumulate ?? false, rb };
  const b = s.buffers;
  if (s.kind === 'nm') {
    nmKernel.run(gpu, { flags: { ...base, keep: s.n!, group: s.m!, bits: s.bits! }, uniforms: { ...uniforms, S: s.slots! }, bindings: { X, W: b.W!, I: b.I!, Y }, workgroups });
  } else if (s.kind === 'csr') {
    csrKernel.run(gpu, { flags: { ...base, wide: s.wide ?? false }, uniforms, bindings: { X, W: b.W!, C: b.C!, R: b.R!, Y }, workgroups });
  } else {
    bitmaskKernel.run(gpu, { flags: base, uniforms, bindings: { X, W: b.W!, B: b.B!, R: b.R!, Y }, workgroups });
  }
}
