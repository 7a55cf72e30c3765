/**
 * Symmetric eigendecomposition A = Q Λ Qᵀ on the GPU, by the parallel cyclic Jacobi method
 * (shaders/eigen.wgsl).
 *
 * Why: ALPS applies (Ĝ + ρI)⁻¹ many times while ρ changes. One O(n³) decomposition per layer
 * makes every ρ free: (Ĝ + ρI)⁻¹ R = Q diag(1/(λ + ρ)) Qᵀ R is two n×n·n×m products, with no
 * re-factorisation. Jacobi, unlike Householder tridiagonalisation + QR, is made of independent 2×2
 * rotations: a round of N/2 disjoint rotations is one barrier-free dispatch, and it is accurate
 * in f32 (small relative errors in eigenvectors and eigenvalues of well-scaled SPD matrices).
 *
 * Cost, with N = n rounded up to a multiple of 4: a sweep is N−1 rounds of two dispatches each
 * (rotations, then A and Qᵀ), so 2(N−1) dispatches plus one reduction and one 8-byte readback
 * per sweep. Each round reads and writes all of A and Qᵀ (4N² floats moved) and does 6N² flops on
 * A (a row and a column rotation per entry) and 3N² on Qᵀ: ≈ 9N³ flops and ≈ 4N³·4 bytes of
 * traffic per sweep. It is memory-bound: n = 256 at ~8 sweeps is ~1.2 GFLOP and ~2 GB moved.
 * Typical sweep counts to reach ‖off(A)‖_F ≤ 1e-6‖A‖_F are 6–9 (quadratic convergence at the end).
 */
import code from '../../shaders/eigen.wgsl?raw';
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { matmul } from './matmul';

export type EigenMethod = 'scalar' | 'block';

export interface EigenOptions {
  /** Sweep cap (default 15). */
  maxSweeps?: number;
  /** Stop once ‖off(A)‖_F / ‖A‖_F is at most this (default 1e-6, near f32's floor). */
  tolerance?: number;
  /** Force a variant (tests exercise both); default chosen per adapter, see the header. */
  method?: EigenMethod;
  /** Called after every sweep with the relative off-diagonal norm, for progress reports. */
  onSweep?: (sweep: number, offDiagonal: number) => void;
}

export interface EigenResult {
  /** n×n row-major; column j is the unit eigenvector of lambda[j]. */
  Q: GpuTensor;
  /** The n eigenvalues, ascending. */
  lambda: GpuTensor;
  /** Sweeps run (0 when the input was already diagonal). */
  sweeps: number;
  /** Final ‖off(A)‖_F / ‖A‖_F of the rotated matrix. */
  offDiagonal: number;
}

/** Indices per unit of the block variant (BLOCK in the shader) and its subproblem side. */
const BLOCK = 8;
const SUB = 2 * BLOCK;

/**
 * Eigenvalues (ascending) and eigenvectors of the symmetric n×n matrix A (row-major, not
 * modified; (A + Aᵀ)/2 is what is decomposed). Async because of the one-scalar readback per sweep.
 */
export async function symmetricEigen(gpu: Gpu, A: GpuTensor, n: number, options: EigenOptions = {}): Promise<EigenResult> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`symmetricEigen: n must be a positive integer, got ${n}`);
  if (A.size < n * n) throw new RangeError(`symmetricEigen: A holds ${A.size} values, fewer than ${n}×${n}`);
  const maxSweeps = options.maxSweeps ?? 15;
  const tolerance = options.tolerance ?? 1e-6;
  const method = options.method ?? (gpu.prefersRegisterTiles ? 'block' : 'scalar');

  // Units are single indices (scalar) or blocks of 8 (block); both need an even unit count and
  // rows that split into 4-wide quads.
  const N = method === 'block' ? Math.ceil(n / SUB) * SUB : Math.ceil(n / 4) * 4;
  const units = method === 'block' ? N / BLOCK : N;
  const pairs = units / 2;
  const quads = N / 4;
  const uniforms = [{ u32: N }, { u32: n }, { u32: pairs }, { u32: quads }];
  const run = (entryPoint: string, bindings: GpuTensor[], workgroups: [number, number?, number?]) =>
    gpu.dispatch({ pipeline: { code, entryPoint }, uniforms, bindings, workgroups });

  let a = gpu.tensor([N, N]);
  let aNext = gpu.tensor([N, N]);
  let qt = gpu.tensor([N, N]);
  let qtNext = gpu.tensor([N, N]);
  // Per-round scratch: the rotations (scalar) or the subproblems' V's (block).
  const rot = method === 'block' ? gpu.tensor([pairs, SUB, SUB]) : gpu.tensor([pairs, 4]);
  const norms = gpu.tensor([2]);
  try {
    run('jacobi_init', [A, a, qt], [Math.ceil(N / 8), Math.ceil(N / 8)]);

    const offNorm = async (): Promise<number> => {
      run('jacobi_off_norm', [a, norms], [1]);
      const [off2, total2] = await gpu.read(norms, 2);
      return total2 > 0 ? Math.sqrt(off2 / total2) : 0;
    };

    const round = method === 'block'
      ? () => {
          // aNext holds T = Vᵀ A between the two passes; the column pass writes A' into a.
          run('block_solve', [a, rot], [Math.ceil(pairs / 4)]);
          run('block_left', [rot, a, aNext, qt, qtNext], [Math.ceil(quads / 16), Math.ceil(pairs / 4), 2]);
          run('block_right', [rot, aNext, a], [Math.ceil(pairs / 4), Math.ceil(quads / 16)]);
          [qt, qtNext] = [qtNext, qt];
        }
      : () => {
          run('jacobi_rotations', [a, rot], [Math.ceil(pairs / 64)]);
          run('jacobi_rotate', [rot, a, aNext, qt, qtNext], [Math.ceil(quads / 8), Math.ceil((2 * pairs) / 8)]);
          [a, aNext] = [aNext, a];
          [qt, qtNext] = [qtNext, qt];
        };

    let off = await offNorm();
    let sweeps = 0;
    while (off > tolerance && sweeps < maxSweeps) {
      for (let r = 0; r < units - 1; r++) round();
      sweeps++;
      const previous = off;
      off = await offNorm();
      options.onSweep?.(sweeps, off);
      // At f32's rounding floor a sweep no longer halves the off-diagonal norm (it converges
      // quadratically until then); more sweeps would only add rounding.
      if (off <= 1e3 * tolerance && off > 0.5 * previous) break;
    }

    // Eigenvectors out of the padded Qᵀ, Rayleigh quotients from the original A, then sorted.
    const vectors = gpu.tensor([n, n]);
    const AQ = gpu.tensor([n, n]);
    const rayleigh = gpu.tensor([n]);
    const Q = gpu.tensor([n, n]);
    const lambda = gpu.tensor([n]);
    run('jacobi_vectors', [qt, vectors], [Math.ceil(n / 64)]);
    matmul(gpu, A, vectors, AQ, { M: n, N: n, K: n });
    run('jacobi_rayleigh', [vectors, AQ, rayleigh], [Math.ceil(n / 64)]);
    run('jacobi_sort', [rayleigh, vectors, lambda, Q], [Math.ceil(n / 64)]);
    vectors.dispose();
    AQ.dispose();
    rayleigh.dispose();
    return { Q, lambda, sweeps, offDiagonal: off };
  } finally {
    a.dispose();
    aNext.dispose();
    qt.dispose();
    qtNext.dispose();
    rot.dispose();
    norms.dispose();
  }
}
