import type { GpuTensor } from '../gpu/runtime';
import type { GpuScope } from '../gpu/scope';
import { addDiagonalDamping, assertPositiveDefinite, inverseCholeskyUpper } from '../kernels/cholesky';
import { matmul } from '../kernels/matmul';
import { topkMask } from '../kernels/select';
import { blockScores, fixDeadInputs, MAX_BLOCK_SIZE, MAX_NM_GROUP, sweepBlock } from '../kernels/sparsegpt';
import { checkpoint } from '../shared/control';
import { DEFAULT_SPARSEGPT } from '../shared/methods';
import { keptCount, type Pattern } from '../shared/pattern';
import type { UploadedLayer } from './layer';
import type { SolveOptions, SparseGptOptions } from './types';

export { DEFAULT_SPARSEGPT } from '../shared/methods';
export type { SparseGptOptions } from './types';

/**
 * Entries pruned in each column block, for an unstructured target. The reference prunes
 * ~floor(numel·s) per block, so per-block rounding makes the layer's count drift from m·n − k.
 * We instead give block b the difference of floor(P·c/(m·n)) at its two column boundaries
 * (P = m·n − k, c = entries up to that boundary): each block stays within one entry of its
 * proportional share and the counts sum to P exactly. BigInt keeps P·c exact for large layers.
 */
export function unstructuredBlockCounts(m: number, n: number, sparsity: number, blockSize: number): number[] {
  const total = BigInt(m) * BigInt(n);
  // s = 1 (prune all) is outside the [0, 1) that solveLayer admits, but the sweep handles it.
  const kept = sparsity === 1 ? 0 : keptCount({ kind: 'unstructured', sparsity }, m, n);
  const pruned = total - BigInt(kept);
  const before = (col: number) => (total === 0n ? 0n : (pruned * BigInt(m) * BigInt(col)) / total);
  const counts: number[] = [];
  for (let b0 = 0; b0 < n; b0 += blockSize) {
    const b1 = Math.min(b0 + blockSize, n);
    counts.push(Number(before(b1) - before(b0)));
  }
  return counts;
}

/**
 * SparseGPT's own limits, beyond the shapes and patterns solveLayer checks for every method: the
 * block width the sweep kernel holds, the damping, and N:M groups that the blocks do not split.
 */
function sparsegptOptions(pattern: Pattern, options: SolveOptions): SparseGptOptions {
  const blockSize = options.sparsegpt?.blockSize ?? DEFAULT_SPARSEGPT.blockSize;
  const damping = options.sparsegpt?.damping ?? options.alps?.damping ?? DEFAULT_SPARSEGPT.damping;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`SparseGPT: blockSize must be an integer from 1 to ${MAX_BLOCK_SIZE}, got ${blockSize}.`);
  }
  if (!(damping >= 0) || !Number.isFinite(damping)) {
    throw new RangeError(`SparseGPT: damping must be a non-negative number, got ${damping}.`);
  }
  if (pattern.kind === 'nm') {
    if (pattern.m > MAX_NM_GROUP) throw new RangeError(`SparseGPT: N:M groups hold at most ${MAX_NM_GROUP} inputs, got ${pattern.n}:${pattern.m}.`);
    // Groups are chosen at every M-th column of a block, so blocks must not split a group.
    if (blockSize % pattern.m !== 0) {
      throw new RangeError(`SparseGPT: blockSize (${blockSize}) must be a multiple of M (${pattern.m}) for N:M.`);
    }
  }
  return { blockSize, damping };
}

/**
 * SparseGPT (Frantar & Alistarh, 2023) of one layer, as specified in docs/algorithms.md: the one
 * SparseGPT entry, which the method registry binds and solveLayer runs. Prunes a copy of W0 on the
 * GPU; one readback, the positive-definiteness flag (one u32), at the end (with a RunControl, a
 * sync per column block as well, to cancel). Throws
 * NotPositiveDefiniteError when the damped gram cannot be factored.
 */
export async function sparsegpt(scope: GpuScope, layer: UploadedLayer, pattern: Pattern, options: SolveOptions): Promise<GpuTensor> {
  const { blockSize, damping } = sparsegptOptions(pattern, options);
  const { gpu } = scope;
  const { m, n } = layer;
  const W = scope.tensor([m, n]);
  gpu.copy(layer.W0, W, m * n * 4);

  // 1–3: dead inputs, damping, U = chol(G⁻¹)ᵀ on a scratch copy of the gram.
  const H = scope.tensor([n, n]);
  gpu.copy(layer.G, H, n * n * 4);
  fixDeadInputs(gpu, H, W, { m, n });
  addDiagonalDamping(gpu, H, { n, fraction: damping });
  const U = scope.tensor([n, n]);
  const flag = scope.zeros([1], 'u32');
  inverseCholeskyUpper(gpu, H, U, { n, flag });
  scope.release(H);

  // 4–5: the blocked sweep.
  const width = Math.min(blockSize, n);
  const E = scope.tensor([m, width]);
  const unstructured =
    pattern.kind === 'unstructured'
      ? {
          scores: scope.tensor([m, width]),
          mask: scope.tensor([m, width], 'u32'),
          counts: unstructuredBlockCounts(m, n, pattern.sparsity, blockSize),
        }
      : null;
  for (let b0 = 0, block = 0; b0 < n; b0 += blockSize, block++) {
    // A cancel point per column block; the sync first, so that the queue never holds more than one
    // block's work when cancel comes (one layer's sweep is tens of seconds on a software adapter).
    if (options.control && block > 0) {
      await gpu.sync();
      await checkpoint(options.control);
    }
    const b1 = Math.min(b0 + blockSize, n);
    const bs = b1 - b0;
    const shape = { m, n, b0, b1 };
    if (unstructured) {
      const { scores, mask } = unstructured;
      const numel = m * bs;
      const prune = unstructured.counts[block];
      // Nothing pruned: every error is zero, the block and the rest of W stay as they are.
      if (prune === 0) continue;
      if (prune === numel) {
        sweepBlock(gpu, { W, U, E }, shape, { pruneAll: true });
      } else {
        blockScores(gpu, W, U, scores, shape);
        topkMask(gpu, scores, mask, { segments: 1, segmentLength: numel, keep: numel - prune });
        sweepBlock(gpu, { W, U, E, mask }, shape);
      }
    } else if (pattern.kind === 'nm') {
      sweepBlock(gpu, { W, U, E }, shape, { nm: { n: pattern.n, m: pattern.m } });
    }
    // Lazy update: W[:, b1:] −= E_block · U[b0:b1, b1:].
    if (b1 < n) {
      matmul(gpu, E, U, W, {
        M: m, N: n - b1, K: bs,
        lda: bs, ldb: n, ldc: n,
        offB: b0 * n + b1, offC: b1,
        alpha: -1, beta: 1,
      });
    }
  }
  await assertPositiveDefinite(gpu, flag);
  return W;
}
