import file from '../../shaders/sparsegpt.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu } from '../gpu/runtime';

/** Longest N:M group the sweep's in-register selection handles (MAX_M in the shader, written from here). */
export const MAX_NM_GROUP = 32;
/** Widest block the sweep holds in private memory (MAX_BLOCK in the shader, written from here). */
export const MAX_BLOCK_SIZE = 256;

export interface BlockShape {
  /** Rows of W (outputs). */
  m: number;
  /** Columns of W (inputs), side of U. */
  n: number;
  /** The block is columns [b0, b1). */
  b0: number;
  b1: number;
}

const wgsl = wgslSections(file);

const zeroDeadKernel = defineKernel({
  name: 'sparsegpt_zero_dead',
  uniforms: { m: 'u32', n: 'u32' },
  bindings: { G: { type: 'f32' }, W: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('zero_dead'),
});

const fixDeadKernel = defineKernel({
  name: 'sparsegpt_fix_dead',
  uniforms: { n: 'u32' },
  bindings: { G: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('fix_dead'),
});

const scoresKernel = defineKernel({
  name: 'sparsegpt_scores',
  uniforms: { m: 'u32', n: 'u32', b0: 'u32', b1: 'u32' },
  bindings: { W: { type: 'f32' }, U: { type: 'f32' }, S: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('scores'),
});

/** How the sweep decides which columns a row keeps: `kept(r, c)` of each variant. */
type KeepRule = 'mask' | 'nm' | 'none';
const KEPT: Record<KeepRule, string> = {
  mask: 'fn kept(r: u32, c: u32) -> bool { return mask[r * (p.b1 - p.b0) + c] != 0u; }\n',
  nm: 'fn kept(r: u32, c: u32) -> bool { return kept_in_group(c); }\n',
  none: 'fn kept(r: u32, c: u32) -> bool { return false; }\n',
};

const sweepKernel = defineKernel({
  name: 'sparsegpt_sweep',
  uniforms: { m: 'u32', n: 'u32', b0: 'u32', b1: 'u32', nmN: 'u32', nmM: 'u32' },
  bindings: {
    W: { type: 'f32', access: 'read_write' },
    U: { type: 'f32' },
    E: { type: 'f32', access: 'read_write' },
    mask: { type: 'u32', when: 'withMask' },
  },
  workgroupSize: (f: { rule: KeepRule; withMask: boolean; rows: number }) => [f.rows],
  source: (f) => wgslConsts({ MAX_BLOCK: MAX_BLOCK_SIZE, MAX_M: MAX_NM_GROUP }) + KEPT[f.rule] + wgsl.section('sweep'),
});

/**
 * Rows per workgroup of the sweep. CPU rasterisers run a workgroup on one core, so small groups
 * spread a few dozen rows over the cores; real GPUs want full warps.
 */
function sweepGroup(gpu: Gpu): number {
  return gpu.prefersRegisterTiles ? 8 : 64;
}

/** Dead inputs (G_jj = 0): zero column j of W and set G_jj = 1. G is modified. */
export function fixDeadInputs(gpu: Gpu, G: Binding, W: Binding, s: { m: number; n: number }): void {
  // zero_dead must read the zero diagonal before fix_dead replaces it; dispatches run in order.
  zeroDeadKernel.run(gpu, { uniforms: { m: s.m, n: s.n }, bindings: { G, W }, threads: s.m * s.n });
  fixDeadKernel.run(gpu, { uniforms: { n: s.n }, bindings: { G }, threads: s.n });
}

/** S (contiguous m × (b1−b0)) = W[:, b0:b1]² / diag(U)[b0:b1]², SparseGPT's block scores. */
export function blockScores(gpu: Gpu, W: Binding, U: Binding, S: Binding, s: BlockShape): void {
  scoresKernel.run(gpu, { uniforms: { m: s.m, n: s.n, b0: s.b0, b1: s.b1 }, bindings: { W, U, S }, threads: s.m * (s.b1 - s.b0) });
}

export interface SweepBuffers {
  W: Binding;
  U: Binding;
  /** m × (b1−b0) errors e (written). */
  E: Binding;
  /** u32 m × (b1−b0), 1 = keep; required unless `pruneAll` or `nm`. */
  mask?: Binding;
}

/**
 * The sequential part of one block: for each column i in [b0, b1), q = kept ? w : 0,
 * e = (w − q)/U_ii, W[:, i:b1] −= e ⊗ U[i, i:b1], E[:, i−b0] = e. The mask comes from `mask`
 * (unstructured), or is chosen at every M-th column from the current weights (`nm`), or prunes
 * everything (`pruneAll`). Columns after b1 are not touched: apply E with the lazy update.
 */
export function sweepBlock(
  gpu: Gpu,
  t: SweepBuffers,
  s: BlockShape,
  o: { nm?: { n: number; m: number }; pruneAll?: boolean } = {},
): void {
  if (s.m === 0 || s.b1 <= s.b0) return;
  if (s.b1 - s.b0 > MAX_BLOCK_SIZE) throw new RangeError(`sweepBlock: blocks are at most ${MAX_BLOCK_SIZE} columns, got ${s.b1 - s.b0}.`);
  if (o.nm && (o.nm.m < 1 || o.nm.m > MAX_NM_GROUP || o.nm.n < 0 || o.nm.n > o.nm.m)) {
    throw new RangeError(`sweepBlock: unsupported N:M pattern ${o.nm.n}:${o.nm.m} (M from 1 to ${MAX_NM_GROUP}).`);
  }
  const rule: KeepRule = o.nm ? 'nm' : o.pruneAll ? 'none' : 'mask';
  if (rule === 'mask' && !t.mask) throw new Error('sweepBlock: a mask is required for an unstructured block.');
  sweepKernel.run(gpu, {
    flags: { rule, withMask: rule === 'mask', rows: sweepGroup(gpu) },
    uniforms: { m: s.m, n: s.n, b0: s.b0, b1: s.b1, nmN: o.nm?.n ?? 0, nmM: o.nm?.m ?? 0 },
    bindings: rule === 'mask' ? { W: t.W, U: t.U, E: t.E, mask: t.mask } : { W: t.W, U: t.U, E: t.E },
    threads: s.m,
  });
}
