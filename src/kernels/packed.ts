import file from '../../shaders/packed.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

/** How a weight is held on the GPU: f32, or the checkpoint's BF16/F16 values packed two per u32. */
export type WeightFormat = 'f32' | 'bf16' | 'f16';
export type PackedFormat = Exclude<WeightFormat, 'f32'>;

const wgsl = wgslSections(file);

/** WGSL reading element e of a packed weight bound as `W: array<u32>`: weight_at(e), weight_pair(e). */
export function packedReaders(format: PackedFormat): string {
  return wgslConsts({ FORMAT_BF16: format === 'bf16' }) + 'fn packed_word(i: u32) -> u32 { return W[i]; }\n' + wgsl.prelude;
}

/** u32 words holding `count` packed 16-bit values. */
export function packedWords(count: number): number {
  return Math.ceil(count / 2);
}

/** One descriptor per variant: the vec4 one binds X as vec4 rows (K, lda, offA multiples of 4). */
function packedLinearKernel(variant: PackedVariant) {
  return defineKernel({
    name: variant === 'vec4' ? 'packed_linear_vec4' : 'packed_linear',
    uniforms: { M: 'u32', N: 'u32', K: 'u32', lda: 'u32', offA: 'u32', ldc: 'u32', offC: 'u32' },
    bindings: { X: { type: variant === 'vec4' ? 'vec4<f32>' : 'f32' }, W: { type: variant === 'vec4' ? 'vec2<u32>' : 'u32' }, Y: { type: 'f32', access: 'read_write' } },
    workgroupSize: [8, 8],
    // Module-scope WGSL declarations may come in any order: the flags' constants go first.
    source: (f: { format: PackedFormat; accumulate: boolean }) =>
      wgslConsts({ ACCUMULATE: f.accumulate, FORMAT_BF16: f.format === 'bf16' }) + wgsl.section(variant === 'vec4' ? 'packed_linear_vec4' : 'packed_linear'),
  });
}

export type PackedVariant = 'scalar' | 'vec4';
const kernels = { scalar: packedLinearKernel('scalar'), vec4: packedLinearKernel('vec4') };

export interface PackedLinearOptions {
  /** Rows of X and Y. */
  M: number;
  /** Rows of W (outputs). */
  N: number;
  /** Columns of W (inputs). */
  K: number;
  format: PackedFormat;
  /** Row length of X as stored and its first element (default K, 0). */
  lda?: number;
  offA?: number;
  /** Row length of Y and where the product's first column goes (default N, 0). */
  ldc?: number;
  offC?: number;
  /** Add to Y instead of overwriting it. */
  accumulate?: boolean;
  /** Force a variant (tests exercise both); default vec4 where the alignment allows. */
  variant?: PackedVariant;
}

/** Y = X·Wᵀ (or Y += X·Wᵀ) with W [N, K] in 16-bit values packed two per u32; see shaders/packed.wgsl. */
export function packedLinear(gpu: Gpu, X: Binding, W: Binding, Y: Binding, o: PackedLinearOptions): void {
  if (o.M <= 0 || o.N <= 0) return;
  const lda = o.lda ?? o.K;
  const offA = o.offA ?? 0;
  const aligned = [o.K, lda, offA].every((v) => v % 4 === 0);
  const variant = o.variant ?? (aligned ? 'vec4' : 'scalar');
  if (variant === 'vec4' && !aligned) throw new Error('packedLinear: the vec4 variant needs K, lda and offA multiples of 4.');
  kernels[variant].run(gpu, {
    flags: { format: o.format, accumulate: o.accumulate ?? false },
    uniforms: { M: o.M, N: o.N, K: o.K, lda, offA, ldc: o.ldc ?? o.N, offC: o.offC ?? 0 },
    bindings: { X, W, Y },
    workgroups: [Math.ceil(o.N / 32), Math.ceil(o.M / 32)],
  });
}
