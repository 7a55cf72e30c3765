import code from '../../shaders/sparsegpt.wgsl?raw';
import type { Binding, Gpu } from '../gpu/runtime';
import { flatGrid } from './grid';

/** Longest N:M group the sweep's in-register selection handles (MAX_M in the shader). */
export const MAX_NM_GROUP = 32;
/** Widest block the sweep holds in private memory (MAX_BLOCK in the shader). */
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

const ELEMENTWISE_WG = 64;

function params(s: BlockShape, extra: { nmN?: number; nmM?: number; pruneAll?: boolean } = {}) {
  return [
    { u32: s.m }, { u32: s.n }, { u32: s.b0 }, { u32: s.b1 },
    { u32: extra.nmN ?? 0 }, { u32: extra.nmM ?? 0 }, { u32: extra.pruneAll ? 1 : 0 }, { u32: 0 },
  ];
}

/**
 * Rows per workgroup of the sweep. CPU rasterisers run a workgroup on one core, so small groups
 * spread a few dozen rows over the cores; real GPUs want full warps.
 */
function sweepGroup(gpu: Gpu): number {
  return gpu.prefersRegisterTiles ? 8 : 64;
}

/** Dead inputs (G_jj = 0): zero column j of W and set G_jj = 1. G is modified. */
export function fixDeadInputs(gpu: Gpu, G: Binding, W: Binding, s: { m: number; n: number }): void {
  const shape = { ...s, b0: 0, b1: 0 };
  const constants = { WG: ELEMENTWISE_WG };
  // zero_dead must read the zero diagonal before fix_dead replaces it; dispatches run in order.
  gpu.dispatch({
    pipeline: { code, entryPoint: 'zero_dead', constants },
    uniforms: params(shape),
    bindings: [G, W],
    workgroups: flatGrid(s.m * s.n, ELEMENTWISE_WG),
  });
  gpu.dispatch({
    pipeline: { code, entryPoint: 'fix_dead', constants },
    uniforms: params(shape),
    bindings: [G],
    workgroups: flatGrid(s.n, ELEMENTWISE_WG),
  });
}

/** S (contiguous m × (b1−b0)) = W[:, b0:b1]² / diag(U)[b0:b1]², SparseGPT's block scores. */
export function blockScores(gpu: Gpu, W: Binding, U: Binding, S: Binding, s: BlockShape): void {
  gpu.dispatch({
    pipeline: { code, entryPoint: 'scores', constants: { WG: ELEMENTWISE_WG } },
    uniforms: params(s),
    bindings: [W, U, S],
    workgroups: flatGrid(s.m * (s.b1 - s.b0), ELEMENTWISE_WG),
  });
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
  const WG = sweepGroup(gpu);
  if (o.nm) {
    if (o.nm.m < 1 || o.nm.m > MAX_NM_GROUP || o.nm.n < 0 || o.nm.n > o.nm.m) {
      throw new RangeError(`sweepBlock: unsupported N:M pattern ${o.nm.n}:${o.nm.m} (M from 1 to ${MAX_NM_GROUP}).`);
    }
    gpu.dispatch({
      pipeline: { code, entryPoint: 'sweep_nm', constants: { WG } },
      uniforms: params(s, { nmN: o.nm.n, nmM: o.nm.m }),
      bindings: [t.W, t.U, t.E],
      workgroups: flatGrid(s.m, WG),
    });
    return;
  }
  // pruneAll never reads the mask, but 'auto' layouts still want the binding: U is read-only here,
  // so aliasing it is allowed (E or W would not be).
  const mask = t.mask ?? (o.pruneAll ? t.U : undefined);
  if (!mask) throw new Error('sweepBlock: a mask is required for an unstructured block.');
  gpu.dispatch({
    pipeline: { code, entryPoint: 'sweep_mask', constants: { WG } },
    uniforms: params(s, { pruneAll: o.pruneAll }),
    bindings: [t.W, t.U, t.E, mask],
    workgroups: flatGrid(s.m, WG),
  });
}
