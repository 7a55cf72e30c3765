import file from '../../shaders/matmul.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections, type ElementType } from '../gpu/kernel';
import { expandTemplate } from './unroll';
import type { Gpu, GpuTensor, Binding } from '../gpu/runtime';

export interface MatmulOptions {
  /** Rows of op(A) and C. */
  M: number;
  /** Columns of op(B) and C. */
  N: number;
  /** Inner dimension. */
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Leading dimensions (row lengths as stored); default to the dense layout of op's input. */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Element offsets of the first entry of each operand. */
  offA?: number;
  offB?: number;
  offC?: number;
  /** Batched products: count and element strides between consecutive matrices. */
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
  alpha?: number;
  /** 0 overwrites C; 1 accumulates into it. */
  beta?: number;
  /** Force a tiling (tests exercise all); default chosen per adapter and operand alignment. */
  tiling?: 'register' | 'register-vec4' | 'shared' | 'subgroup';
}

export type MatmulTiling = NonNullable<MatmulOptions['tiling']>;

const wgsl = wgslSections(file);
/** Each invocation computes a BLOCK × BLOCK block of C (the register kernels unroll it: 4). */
const BLOCK = 4;
/**
 * Workgroup shape and element type per tiling; a workgroup covers (y·BLOCK) × (x·BLOCK) entries
 * of C, which is also what the grid is derived from.
 */
const TILINGS: Record<MatmulTiling, { section: string; workgroup: [number, number]; element: ElementType }> = {
  register: { section: 'register', workgroup: [8, 8], element: 'f32' },
  'register-vec4': { section: 'register_vec4', workgroup: [8, 8], element: 'vec4<f32>' },
  shared: { section: 'shared', workgroup: [16, 16], element: 'f32' },
  // 4 lanes × 2 subgroups across, 4 subgroups down; each subgroup 8 × 16 of C (see the WGSL).
  subgroup: { section: 'subgroup', workgroup: [8, 4], element: 'vec4<f32>' },
};

/** Entries of C per workgroup, rows × columns. */
function workgroupTile(tiling: MatmulTiling): [number, number] {
  const [wx, wy] = TILINGS[tiling].workgroup;
  return tiling === 'subgroup' ? [8 * wy, 4 * wx] : [wy * BLOCK, wx * BLOCK];
}

/** The subgroup tiling's broadcasts assume subgroups of exactly 4 lanes (SwiftShader's SIMD width). */
export function hasQuadSubgroups(gpu: Gpu): boolean {
  const info = (gpu.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return gpu.device.features.has('subgroups') && info?.subgroupMinSize === 4 && info.subgroupMaxSize === 4;
}

/** One descriptor per tiling (the vec4 one binds its operands as vec4 arrays); op(A), op(B) are flags. */
function matmulKernel(tiling: MatmulTiling) {
  const t = TILINGS[tiling];
  return defineKernel({
    name: `matmul_${t.section}`,
    uniforms: {
      M: 'u32', N: 'u32', K: 'u32',
      lda: 'u32', ldb: 'u32', ldc: 'u32',
      offA: 'u32', offB: 'u32', offC: 'u32',
      strideA: 'u32', strideB: 'u32', strideC: 'u32',
      alpha: 'f32', beta: 'f32',
    },
    bindings: { A: { type: t.element }, B: { type: t.element }, C: { type: 'f32', access: 'read_write' } },
    workgroupSize: t.workgroup,
    source: (f: { transA: boolean; transB: boolean; kTail: boolean }) =>
      wgslConsts({ TRANS_A: f.transA, TRANS_B: f.transB, K_TAIL: f.kTail, BLOCK }) + expandTemplate(wgsl.section(t.section), { T: 2, Q: 4, C: 4, E: 4 }),
  });
}

const kernels = {
  register: matmulKernel('register'),
  'register-vec4': matmulKernel('register-vec4'),
  shared: matmulKernel('shared'),
  subgroup: matmulKernel('subgroup'),
};

/** The dense defaults filled in, and which tilings the operands' alignment allows. */
function layout(o: MatmulOptions) {
  const transA = o.transA ?? false;
  const transB = o.transB ?? false;
  const lda = o.lda ?? (transA ? o.M : o.K);
  const ldb = o.ldb ?? (transB ? o.K : o.N);
  const offA = o.offA ?? 0;
  const offB = o.offB ?? 0;
  const strideA = o.strideA ?? 0;
  const strideB = o.strideB ?? 0;
  const aligned = [lda, ldb, offA, offB, strideA, strideB].every((v) => v % 4 === 0);
  // vec4 loads need rows contiguous along K in whole vec4s: A untransposed, K, the leading
  // dimensions, offsets and batch strides multiples of 4 (and N too when B is not transposed).
  const vec4 = !transA && aligned && o.K % 4 === 0 && (transB || o.N % 4 === 0);
  // The subgroup tiling reads every operand along its rows in vec4s; K may be ragged only when
  // neither operand is read along k (Aᵀ·B, the grams).
  const quads = aligned && (o.K % 4 === 0 || (transA && !transB));
  return { transA, transB, lda, ldb, offA, offB, strideA, strideB, vec4, quads };
}

/**
 * The dispatch policy. CPU rasterisers (SwiftShader) take register tiles with no barriers: the
 * subgroup tiling where 4-lane subgroups exist, the operands are vec4-aligned and C has at least
 * one subgroup block (1.5–2× the previous register tiles in CPU time on 512², 576×1536, grams and
 * the forward at M ≥ 16: `npm run bench`), else vec4 or scalar register tiles. Real GPUs take
 * workgroup-memory tiles.
 */
export function matmulTiling(gpu: Gpu, o: MatmulOptions): MatmulTiling {
  if (o.tiling) return o.tiling;
  const { vec4, quads } = layout(o);
  if (!gpu.prefersRegisterTiles) return 'shared';
  // A subgroup owns 8 × 16 of C: thinner products waste most of it (M = 4: 0.7× the vec4 tiles).
  if (quads && o.M >= 8 && o.N >= 16 && hasQuadSubgroups(gpu)) return 'subgroup';
  return vec4 ? 'register-vec4' : 'register';
}

/** C = alpha·op(A)·op(B) + beta·C, recorded on the GPU; see shaders/matmul.wgsl. */
export function matmul(gpu: Gpu, A: Binding, B: Binding, C: Binding, o: MatmulOptions): void {
  const { transA, transB, lda, ldb, offA, offB, strideA, strideB, vec4, quads } = layout(o);
  const tiling = matmulTiling(gpu, o);
  if (tiling === 'register-vec4' && !vec4) throw new Error('matmul: the vec4 tiling needs untransposed A and K, strides and offsets that are multiples of 4.');
  if (tiling === 'subgroup' && !quads) throw new Error('matmul: the subgroup tiling needs leading dimensions, offsets and strides that are multiples of 4 (and K too unless A is transposed and B is not).');
  if (tiling === 'subgroup' && !hasQuadSubgroups(gpu)) throw new Error('matmul: the subgroup tiling needs an adapter with 4-lane subgroups (the `subgroups` feature).');
  const [rows, cols] = workgroupTile(tiling);
  kernels[tiling].run(gpu, {
    flags: { transA, transB, kTail: tiling === 'subgroup' && o.K % 4 !== 0 },
    uniforms: {
      M: o.M, N: o.N, K: o.K,
      lda, ldb, ldc: o.ldc ?? o.N,
      offA, offB, offC: o.offC ?? 0,
      strideA, strideB, strideC: o.strideC ?? 0,
      alpha: o.alpha ?? 1, beta: o.beta ?? 0,
    },
    bindings: { A, B, C },
    workgroups: [Math.ceil(o.N / cols), Math.ceil(o.M / rows), o.batch ?? 1],
  });
}

/** Convenience: a new [M, N] tensor holding op(A)·op(B). */
export function matmulNew(gpu: Gpu, A: GpuTensor, B: GpuTensor, o: Omit<MatmulOptions, 'beta'>): GpuTensor {
  const C = gpu.tensor([o.M, o.N]);
  matmul(gpu, A, B, C, { ...o, beta: 0 });
  return C;
}
