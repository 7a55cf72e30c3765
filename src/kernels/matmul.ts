import code from '../../shaders/matmul.wgsl?raw';
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

/** C = alpha·op(A)·op(B) + beta·C, recorded on the GPU; see shaders/matmul.wgsl. */
export function matmul(gpu: Gpu, A: Binding, B: Binding, C: Binding, o: MatmulOptions): void {
  const transA = o.transA ?? false;
  const transB = o.transB ?? false;
  const lda = o.lda ?? (transA ? o.M : o.K);
  const ldb = o.ldb ?? (transB ? o.K : o.N);
  const ldc = o.ldc ?? o.N;
  const batch = o.batch ?? 1;
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
  const u = (v: number) => ({ u32: v });
  const workgroups: [number, number, number] =
    tiling === 'shared' ? [Math.ceil(o.N / 64), Math.ceil(o.M / 64), batch] : [Math.ceil(o.N / 32), Math.ceil(o.M / 32), batch];
  const entryPoint = { register: 'matmul_register', 'register-vec4': 'matmul_register_vec4', shared: 'matmul_shared' }[tiling];
  gpu.dispatch({
    pipeline: {
      code,
      entryPoint,
      constants: { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 },
    },
    uniforms: [
      u(o.M), u(o.N), u(o.K), u(batch),
      u(lda), u(ldb), u(ldc), u(0),
      u(offA), u(offB), u(o.offC ?? 0), u(0),
      u(strideA), u(strideB), u(o.strideC ?? 0), u(0),
      { f32: o.alpha ?? 1 }, { f32: o.beta ?? 0 }, u(0), u(0),
    ],
    bindings: [A, B, C],
    workgroups,
  });
}

/** Convenience: a new [M, N] tensor holding op(A)·op(B). */
export function matmulNew(gpu: Gpu, A: GpuTensor, B: GpuTensor, o: Omit<MatmulOptions, 'beta'>): GpuTensor {
  const C = gpu.tensor([o.M, o.N]);
  matmul(gpu, A, B, C, { ...o, beta: 0 });
  return C;
}
