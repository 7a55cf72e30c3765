/**
 * Symmetric eigendecomposition A = Q Λ Qᵀ on the GPU by the parallel cyclic Jacobi method
 * (shaders/eigen.wgsl), for ALPS's (Ĝ + ρI)⁻¹.
 *
 * Why this method. ALPS applies (Ĝ + ρI)⁻¹ hundreds of times while ρ changes. One O(n³)
 * decomposition per layer makes every ρ change free: (Ĝ + ρI)⁻¹ R = Q diag(1/(λ + ρ)) Qᵀ R is two
 * n×n·n×m products, with no re-factorisation (a Cholesky would be redone at every ρ change).
 * Jacobi is made of independent rotations, so a round is a few barrier-free dispatches, where
 * Householder tridiagonalisation needs n dependent steps with a reduction each; and it is accurate
 * in f32.
 *
 * Cost, block variant (the default; N = n rounded up to 16). A sweep is N/8 − 1 rounds of three
 * dispatches (the N/16 subproblems, the left product on A and Qᵀ, the right product on A) plus one
 * reduction and one 8-byte readback. A round's products do 32N² flops on Qᵀ and ~32N² on A (only
 * its upper block triangle is formed, then mirrored), so a sweep is ≈ 8N³ flops with every loaded
 * value used 16 times; the N²/128 subproblem sweeps of a sweep add ~3·10⁴ flops each (≈ 230N²,
 * negligible). Sweeps: 1–9 for n = 1…512 (quadratic at the end; the f32 floor of ‖off‖/‖A‖ is
 * ~1e-7). The end adds one n×n·n×n product for the Rayleigh quotients (2n³) and O(n²) kernels.
 * n = 256: ~9 sweeps × 31 rounds ≈ 850 dispatches and ≈ 1.2 GFLOP; n = 512: ≈ 1.7k dispatches,
 * ≈ 10 GFLOP; n = 1024: ≈ 3.8k dispatches, ≈ 86 GFLOP (10 sweeps). Measured on SwiftShader
 * (2 shared cores; CPU time of the process, which is the wall time of an idle machine × ~2):
 * n = 256 ≈ 3 s, n = 512 ≈ 17 s, n = 1024 ≈ 145 s.
 *
 * Scalar variant (method: 'scalar'; N = n rounded up to 4): N − 1 rounds of two dispatches per
 * sweep; each round reads and writes all of A and Qᵀ (4N² floats) for 9N² flops, so a sweep is
 * ≈ 9N³ flops and 16N³ bytes of traffic, bound by memory and by its 2(N − 1) dispatches. On
 * SwiftShader it is ~5× slower than the block variant at n = 256 (≈ 14.5 s of CPU time).
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
  /** Force a variant (tests exercise both); default 'block', see the header. */
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
  const method = options.method ?? 'block';

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
      if (!Number.isFinite(off2) || !Number.isFinite(total2)) {
        throw new RangeError('symmetricEigen: the matrix has non-finite entries (or entries above ~1e18, whose squares overflow f32)');
      }
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
