import file from '../../shaders/matmul.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections, type ElementType } from '../gpu/kernel';
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
  tiling?: 'register' | 'register-vec4' | 'shared';
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
};

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
    source: (f: { transA: boolean; transB: boolean }) =>
      wgslConsts({ TRANS_A: f.transA, TRANS_B: f.transB, BLOCK }) + wgsl.section(t.section),
  });
}

const kernels = { register: matmulKernel('register'), 'register-vec4': matmulKernel('register-vec4'), shared: matmulKernel('shared') };

/** C = alpha·op(A)·op(B) + beta·C, recorded on the GPU; see shaders/matmul.wgsl. */
export function matmul(gpu: Gpu, A: Binding, B: Binding, C: Binding, o: MatmulOptions): void {
  const transA = o.transA ?? false;
  const transB = o.transB ?? false;
  const lda = o.lda ?? (transA ? o.M : o.K);
  const ldb = o.ldb ?? (transB ? o.K : o.N);
  const offA = o.offA ?? 0;
  const offB = o.offB ?? 0;
  const strideA = o.strideA ?? 0;
  const strideB = o.strideB ?? 0;
  // vec4 loads need rows contiguous along K in whole vec4s: A untransposed, K, the leading
  // dimensions, offsets and batch strides multiples of 4 (and N too when B is not transposed).
  const vec4 =
    !transA && [o.K, lda, ldb, offA, offB, strideA, strideB].every((v) => v % 4 === 0) && (transB || o.N % 4 === 0);
  const tiling = o.tiling ?? (gpu.prefersRegisterTiles ? (vec4 ? 'register-vec4' : 'register') : 'shared');
  if (tiling === 'register-vec4' && !vec4) throw new Error('matmul: the vec4 tiling needs untransposed A and K, strides and offsets that are multiples of 4.');
  const [wx, wy] = TILINGS[tiling].workgroup;
  kernels[tiling].run(gpu, {
    flags: { transA, transB },
    uniforms: {
      M: o.M, N: o.N, K: o.K,
      lda, ldb, ldc: o.ldc ?? o.N,
      offA, offB, offC: o.offC ?? 0,
      strideA, strideB, strideC: o.strideC ?? 0,
      alpha: o.alpha ?? 1, beta: o.beta ?? 0,
    },
    bindings: { A, B, C },
    workgroups: [Math.ceil(o.N / (wx * BLOCK)), Math.ceil(o.M / (wy * BLOCK)), o.batch ?? 1],
  });
}

/** Convenience: a new [M, N] tensor holding op(A)·op(B). */
export function matmulNew(gpu: Gpu, A: GpuTensor, B: GpuTensor, o: Omit<MatmulOptions, 'beta'>): GpuTensor {
  const C = gpu.tensor([o.M, o.N]);
  matmul(gpu, A, B, C, { ...o, beta: 0 });
  return C;
}
