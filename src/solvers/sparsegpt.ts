import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import { addDiagonalDamping, assertPositiveDefinite, inverseCholeskyUpper } from '../kernels/cholesky';
import { matmul } from '../kernels/matmul';
import { topkMask } from '../kernels/select';
import { blockScores, fixDeadInputs, MAX_BLOCK_SIZE, MAX_NM_GROUP, sweepBlock } from '../kernels/sparsegpt';
import type { LayerProblem, Pattern } from './types';

export interface SparseGptOptions {
  /** Columns per block (the lazy-update width); the paper and reference use 128. */
  blockSize?: number;
  /** Damping fraction of mean(diag G). */
  damping?: number;
}

export const DEFAULT_SPARSEGPT = { blockSize: 128, damping: 0.01 } as const;

/** k = round((1−s)·m·n): the nonzeros an unstructured layer keeps. */
export function keptCount(m: number, n: number, sparsity: number): number {
  return Math.round((1 - sparsity) * m * n);
}

/**
 * Entries pruned in each column block, for an unstructured target. The reference prunes
 * ~floor(numel·s) per block, so per-block rounding makes the layer's count drift from m·n − k.
 * We instead give block b the difference of floor(P·c/(m·n)) at its two column boundaries
 * (P = m·n − k, c = entries up to that boundary): each block stays within one entry of its
 * proportional share and the counts sum to P exactly. BigInt keeps P·c exact for large layers.
 */
export function unstructuredBlockCounts(m: number, n: number, sparsity: number, blockSize: number): number[] {
  const total = BigInt(m) * BigInt(n);
  const pruned = total - BigInt(keptCount(m, n, sparsity));
  const before = (col: number) => (total === 0n ? 0n : (pruned * BigInt(m) * BigInt(col)) / total);
  const counts: number[] = [];
  for (let b0 = 0; b0 < n; b0 += blockSize) {
    const b1 = Math.min(b0 + blockSize, n);
    counts.push(Number(before(b1) - before(b0)));
  }
  return counts;
}

function validate(m: number, n: number, pattern: Pattern, blockSize: number, damping: number): void {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 0 || n < 0) {
    throw new RangeError(`SparseGPT: the layer's shape must be non-negative integers, got ${m}×${n}.`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`SparseGPT: blockSize must be an integer from 1 to ${MAX_BLOCK_SIZE}, got ${blockSize}.`);
  }
  if (!(damping >= 0) || !Number.isFinite(damping)) {
    throw new RangeError(`SparseGPT: damping must be a non-negative number, got ${damping}.`);
  }
  if (pattern.kind === 'unstructured') {
    if (!(pattern.sparsity >= 0 && pattern.sparsity <= 1)) {
      throw new RangeError(`SparseGPT: sparsity must lie in [0, 1], got ${pattern.sparsity}.`);
    }
  } else {
    const { n: keep, m: group } = pattern;
    if (!Number.isInteger(keep) || !Number.isInteger(group) || group < 1 || group > MAX_NM_GROUP || keep < 0 || keep > group) {
      throw new RangeError(`SparseGPT: unsupported N:M pattern ${keep}:${group} (M from 1 to ${MAX_NM_GROUP}, N ≤ M).`);
    }
    // Groups are chosen at every M-th column of a block, so blocks must not split a group.
    if (blockSize % group !== 0) {
      throw new RangeError(`SparseGPT: blockSize (${blockSize}) must be a multiple of M (${group}) for N:M.`);
    }
  }
}

export interface GpuLayer {
  /** W0 (m×n, f32), pruned in place. */
  weight: GpuTensor;
  /** G = XᵀX (n×n, f32); left unchanged (the solver works on a copy). */
  gram: Binding;
  m: number;
  n: number;
}

/**
 * SparseGPT on tensors already on the GPU (the whole-model pipeline's entry point): prunes
 * `layer.weight` in place. One readback, the positive-definiteness flag (one u32), at the end.
 * Throws NotPositiveDefiniteError when the damped gram cannot be factored (the weight's contents
 * are then meaningless: keep a copy of W0 if it is still needed).
 */
export async function sparsegptOnGpu(gpu: Gpu, layer: GpuLayer, pattern: Pattern, options: SparseGptOptions = {}): Promise<void> {
  const { m, n, weight: W } = layer;
  const blockSize = options.blockSize ?? DEFAULT_SPARSEGPT.blockSize;
  const damping = options.damping ?? DEFAULT_SPARSEGPT.damping;
  validate(m, n, pattern, blockSize, damping);
  if (m === 0 || n === 0) return;

  // 1–3: dead inputs, damping, U = chol(G⁻¹)ᵀ on a scratch copy of the gram.
  const H = gpu.tensor([n, n]);
  gpu.copy(layer.gram, H, n * n * 4);
  fixDeadInputs(gpu, H, W, { m, n });
  addDiagonalDamping(gpu, H, { n, fraction: damping });
  const U = gpu.tensor([n, n]);
  const flag = gpu.zeros([1], 'u32');
  inverseCholeskyUpper(gpu, H, U, { n, flag });
  H.dispose();

  // 4–5: the blocked sweep.
  const width = Math.min(blockSize, n);
  const E = gpu.tensor([m, width]);
  const unstructured =
    pattern.kind === 'unstructured'
      ? {
          scores: gpu.tensor([m, width]),
          mask: gpu.tensor([m, width], 'u32'),
          counts: unstructuredBlockCounts(m, n, pattern.sparsity, blockSize),
        }
      : null;
  try {
    for (let b0 = 0, block = 0; b0 < n; b0 += blockSize, block++) {
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
  } finally {
    U.dispose();
    flag.dispose();
    E.dispose();
    unstructured?.scores.dispose();
    unstructured?.mask.dispose();
  }
}

/**
 * SparseGPT (Frantar & Alistarh, 2023) of one layer, as specified in docs/ALGORITHMS.md: uploads
 * W0 and G, runs everything on the GPU, reads W back once and counts its nonzeros.
 */
export async function sparsegpt(
  gpu: Gpu,
  problem: LayerProblem,
  pattern: Pattern,
  options: SparseGptOptions = {},
): Promise<{ weight: Float32Array; nnz: number }> {
  const { m, n } = problem;
  if (problem.weight.length !== m * n) throw new RangeError(`SparseGPT: weight has ${problem.weight.length} entries, expected ${m}×${n}.`);
  if (problem.gram.length !== n * n) throw new RangeError(`SparseGPT: gram has ${problem.gram.length} entries, expected ${n}×${n}.`);
  if (m === 0 || n === 0) {
    validate(m, n, pattern, options.blockSize ?? DEFAULT_SPARSEGPT.blockSize, options.damping ?? DEFAULT_SPARSEGPT.damping);
    return { weight: new Float32Array(m * n), nnz: 0 };
  }
  const W = gpu.upload(problem.weight, [m, n]);
  const G = gpu.upload(problem.gram, [n, n]);
  try {
    await sparsegptOnGpu(gpu, { weight: W, gram: G, m, n }, pattern, options);
    const weight = await gpu.read(W);
    let nnz = 0;
    for (let i = 0; i < weight.length; i++) {
      const v = weight[i];
      if (!Number.isFinite(v)) {
        throw new Error('SparseGPT produced non-finite weights: check the layer\'s weights and the calibration data for NaN/Inf values.');
      }
      if (v !== 0) nnz++;
    }
    return { weight, nnz };
  } finally {
    W.dispose();
    G.dispose();
  }
}
