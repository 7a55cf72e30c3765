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
  tiling?: 'register' | 'register-vec4' | 'shared' | 'subgroup' | 'subgroup-shuffle';
  /**
   * The caller tolerates f16 operands and f16 sums of 16 products (about 3 significant digits,
   * accumulated in f32 across slices). Used only where the adapter has `shader-f16` and the product
   * takes the workgroup tiles (real GPUs); f32 otherwise. Default off.
   */
  allowF16?: boolean;
}

export type MatmulTiling = NonNullable<MatmulOptions['tiling']>;

const wgsl = wgslSections(file);
/** Each invocation computes a BLOCK × BLOCK block of C (the register kernels unroll it: 4). */
const BLOCK = 4;
/**
 * The subgroup tiling's shape: each 4-lane subgroup owns (4·T) × 16 of C, SX × SY subgroups per
 * workgroup (workgroup [4·SX, SY]). Measured on SwiftShader (Subzero JIT), 512², GFLOP/s of process
 * CPU time, medians of alternating runs under load 30 (1 Dec 2026): sharing op(A) by quadSwaps
 * instead of subgroupBroadcasts 1.90 vs 1.73 at T = 2; then T = 1 1.6, T = 2 2.07, T = 4 2.15,
 * T = 6 2.1, T = 8 2.3 (noise ±10 %). With broadcasts larger blocks were slower (T = 4 0.89×,
 * 8 × 32 0.76×): the broadcasts, not the loads, were what grew. 1 or 32 subgroups per workgroup
 * and two k-steps per loop iteration made no gain.
 */
const SUBGROUP_TILE = { T: 4, SX: 2, SY: 4 } as const;

/**
 * Workgroup shape and element type per tiling; a workgroup covers (y·BLOCK) × (x·BLOCK) entries
 * of C, which is also what the grid is derived from (the subgroup tiling: see SUBGROUP_TILE).
 */
const TILINGS: Record<MatmulTiling, { section: string; workgroup: [number, number]; element: ElementType }> = {
  register: { section: 'register', workgroup: [8, 8], element: 'f32' },
  'register-vec4': { section: 'register_vec4', workgroup: [8, 8], element: 'vec4<f32>' },
  shared: { section: 'shared', workgroup: [16, 16], element: 'f32' },
  subgroup: { section: 'subgroup', workgroup: [4 * SUBGROUP_TILE.SX, SUBGROUP_TILE.SY], element: 'vec4<f32>' },
  // One row of 64 invocations: 4 × 256 of C (see the WGSL).
  'subgroup-shuffle': { section: 'subgroup_shuffle', workgroup: [64, 1], element: 'f32' },
};

/** Entries of C per workgroup, rows × columns. */
function workgroupTile(tiling: MatmulTiling): [number, number] {
  const [wx, wy] = TILINGS[tiling].workgroup;
  const g = SUBGROUP_TILE;
  return tiling === 'subgroup' ? [4 * g.T * g.SY, 16 * g.SX] : [wy * BLOCK, wx * BLOCK];
}

/** The subgroup tiling takes lid.x & 3 for the lane of a quad: subgroups of exactly 4 lanes (SwiftShader's SIMD width). */
export function hasQuadSubgroups(gpu: Gpu): boolean {
  const info = (gpu.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return gpu.device.features.has('subgroups') && info?.subgroupMinSize === 4 && info.subgroupMaxSize === 4;
}

/** Whether the f16 variant can run here (`shader-f16`, requested by src/gpu/device.ts where offered). */
export function hasShaderF16(gpu: Gpu): boolean {
  return gpu.device.features.has('shader-f16');
}

type MatmulFlags = { transA: boolean; transB: boolean; kTail: boolean; f16: boolean };

/** One descriptor per tiling (the vec4 ones bind their operands as vec4 arrays); op(A), op(B), f16 are flags. */
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
    source: (f: MatmulFlags) =>
      (f.f16 ? 'enable f16;\nalias TileT = f16;\n' : 'alias TileT = f32;\n') +
      wgslConsts({ TRANS_A: f.transA, TRANS_B: f.transB, K_TAIL: f.kTail, BLOCK, SG_T: SUBGROUP_TILE.T }) +
      expandTemplate(wgsl.section(t.section), { T: SUBGROUP_TILE.T, S: 4, Q: 4, C: 4, E: 4 }),
  });
}

const kernels = {
  register: matmulKernel('register'),
  'register-vec4': matmulKernel('register-vec4'),
  shared: matmulKernel('shared'),
  subgroup: matmulKernel('subgroup'),
  'subgroup-shuffle': matmulKernel('subgroup-shuffle'),
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
 * one subgroup block (16 × 16), else vec4 or scalar register tiles. Measured with `npm run bench`
 * (2 cores, SwiftShader/Subzero, 1 Dec 2026, load average 10–30 from other jobs, so wall times
 * are upper bounds): against tfjs-backend-webgpu on the same device, 512² 6.5× and 8.1× in two
 * runs (process CPU time 7.8×, 7.7×), 1024² 7.1×, W·Ĝ 576×1536×1536 7.0–8.2× (CPU 7.6×); the
 * broadcast kernel before this one 6.0× (CPU 6.5×). Against the register tiles: W·Ĝ 1.5–1.7×,
 * grams 2.6–3.4×, the forward at M ≥ 16 1.6–2.4×; M = 1 keeps the vec4 tiles.
 * Real GPUs take workgroup-memory tiles (f16 ones where the caller allows and the adapter has
 * `shader-f16`). No real GPU was available to time `subgroup-shuffle` against them, so it is not
 * chosen by default; scripts/device-bench.sh prints every tiling's GFLOP/s on the adapter it runs on.
 */
export function matmulTiling(gpu: Gpu, o: MatmulOptions): MatmulTiling {
  if (o.tiling) return o.tiling;
  const { vec4, quads } = layout(o);
  if (!gpu.prefersRegisterTiles) return 'shared';
  // A subgroup owns 16 × 16 of C: thinner products waste most of it (8 × 16 blocks at M = 4: 0.7× the vec4 tiles).
  if (quads && o.M >= 16 && o.N >= 16 && hasQuadSubgroups(gpu)) return 'subgroup';
  return vec4 ? 'register-vec4' : 'register';
}

/** Whether a product with these options runs in f16: allowed by the caller, workgroup tiles, `shader-f16`. */
export function matmulUsesF16(gpu: Gpu, o: MatmulOptions): boolean {
  return o.allowF16 === true && matmulTiling(gpu, o) === 'shared' && hasShaderF16(gpu);
}

/** C = alpha·op(A)·op(B) + beta·C, recorded on the GPU; see shaders/matmul.wgsl. */
export function matmul(gpu: Gpu, A: Binding, B: Binding, C: Binding, o: MatmulOptions): void {
  const { transA, transB, lda, ldb, offA, offB, strideA, strideB, vec4, quads } = layout(o);
  const tiling = matmulTiling(gpu, o);
  if (tiling === 'register-vec4' && !vec4) throw new Error('matmul: the vec4 tiling needs untransposed A and K, strides and offsets that are multiples of 4.');
  if (tiling === 'subgroup' && !quads) throw new Error('matmul: the subgroup tiling needs leading dimensions, offsets and strides that are multiples of 4 (and K too unless A is transposed and B is not).');
  if (tiling === 'subgroup' && !hasQuadSubgroups(gpu)) throw new Error('matmul: the subgroup tiling needs an adapter with 4-lane subgroups (the `subgroups` feature).');
  if (tiling === 'subgroup-shuffle' && !gpu.device.features.has('subgroups')) throw new Error('matmul: the subgroup-shuffle tiling needs an adapter with the `subgroups` feature.');
  const [rows, cols] = workgroupTile(tiling);
  kernels[tiling].run(gpu, {
    flags: { transA, transB, kTail: tiling === 'subgroup' && o.K % 4 !== 0, f16: matmulUsesF16(gpu, o) },
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
