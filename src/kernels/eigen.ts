/**
 * Symmetric eigendecomposition A = Q Λ Qᵀ on the GPU by the parallel cyclic Jacobi method
 * (shaders/eigen.wgsl), for ALPS's (Ĝ + ρI)⁻¹.
 *
 * Why this method. ALPS applies (Ĝ + ρI)⁻¹ hundreds of times while ρ changes. One O(n³)
 * decomposition per layer makes every ρ change free: (Ĝ + ρI)⁻¹ R = Q diag(1/(λ + ρ)) Qᵀ R is two
 * n×n·n×m products, with no re-factorisation. Its ≈ 80–90 n³ flops did not pay at any size
 * measured, so ALPS now refactors Ĝ + ρI by Cholesky at each ρ change by default and keeps this
 * route selectable (src/solvers/alpsRidge.ts has the measurements).
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
import file from '../../shaders/eigen.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections, type ElementType } from '../gpu/kernel';
import type { Gpu, GpuTensor } from '../gpu/runtime';
import { withScope } from '../gpu/scope';
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

/** Indices per unit of the block variant and its subproblem side (written into the shader as BLOCK and SUB). */
const BLOCK = 8;
const SUB = 2 * BLOCK;

const wgsl = wgslSections(file);
const read = (type: ElementType = 'f32') => ({ type });
const write = (type: ElementType = 'f32') => ({ type, access: 'read_write' as const });
/** The source of one kernel of the family, with the block layout's constants. */
const section = (name: string) => () => wgslConsts({ BLOCK, SUB }) + wgsl.section(name);
const roundUniforms = { N: 'u32', pairs: 'u32', quads: 'u32' } as const;

const initKernel = defineKernel({
  name: 'eigen_init',
  uniforms: { N: 'u32', n: 'u32' },
  bindings: { original: read(), A: write(), Qt: write() },
  workgroupSize: [8, 8],
  source: section('init'),
});
const rotationsKernel = defineKernel({
  name: 'eigen_rotations',
  uniforms: { N: 'u32', pairs: 'u32' },
  bindings: { A: read(), rotations: write('vec4<f32>') },
  workgroupSize: [64],
  source: section('rotations'),
});
const rotateKernel = defineKernel({
  name: 'eigen_rotate',
  uniforms: roundUniforms,
  bindings: { rotations: read('vec4<f32>'), A: read('vec4<f32>'), ANext: write(), Qt: read('vec4<f32>'), QtNext: write('vec4<f32>') },
  workgroupSize: [8, 8],
  source: section('rotate'),
});
const blockSolveKernel = defineKernel({
  name: 'eigen_block_solve',
  uniforms: { N: 'u32', pairs: 'u32' },
  bindings: { A: read(), V: write() },
  workgroupSize: [4],
  source: section('block_solve'),
});
const blockLeftKernel = defineKernel({
  name: 'eigen_block_left',
  uniforms: roundUniforms,
  bindings: { V: read('vec4<f32>'), A: read('vec4<f32>'), T: write('vec4<f32>'), Qt: read('vec4<f32>'), QtNext: write('vec4<f32>') },
  workgroupSize: [16, 4],
  source: section('block_left'),
});
const blockRightKernel = defineKernel({
  name: 'eigen_block_right',
  uniforms: roundUniforms,
  bindings: { V: read('vec4<f32>'), T: read('vec4<f32>'), A: write('vec4<f32>') },
  workgroupSize: [4, 16],
  source: section('block_right'),
});
const offNormKernel = defineKernel({
  name: 'eigen_off_norm',
  uniforms: { N: 'u32' },
  bindings: { A: read(), norms: write() },
  workgroupSize: [256],
  source: section('off_norm'),
});
const vectorsKernel = defineKernel({
  name: 'eigen_vectors',
  uniforms: { N: 'u32', n: 'u32' },
  bindings: { Qt: read(), Q: write() },
  workgroupSize: [64],
  source: section('vectors'),
});
const rayleighKernel = defineKernel({
  name: 'eigen_rayleigh',
  uniforms: { n: 'u32' },
  bindings: { Q: read(), AQ: read(), lambda: write() },
  workgroupSize: [64],
  source: section('rayleigh'),
});
const sortKernel = defineKernel({
  name: 'eigen_sort',
  uniforms: { n: 'u32' },
  bindings: { lambda: read(), Q: read(), sortedLambda: write(), sortedQ: write() },
  workgroupSize: [64],
  source: section('sort'),
});


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

  return withScope(gpu, async (scope) => {
    let a = scope.tensor([N, N]);
    let aNext = scope.tensor([N, N]);
    let qt = scope.tensor([N, N]);
    let qtNext = scope.tensor([N, N]);
    // Per-round scratch: the rotations (scalar) or the subproblems' V's (block).
    const rot = method === 'block' ? scope.tensor([pairs, SUB, SUB]) : scope.tensor([pairs, 4]);
    const norms = scope.tensor([2]);
    initKernel.run(gpu, { uniforms: { N, n }, bindings: { original: A, A: a, Qt: qt }, extent: [N, N] });

    const offNorm = async (): Promise<number> => {
      offNormKernel.run(gpu, { uniforms: { N }, bindings: { A: a, norms }, workgroups: [1] });
      const [off2, total2] = await gpu.read(norms, 2);
      if (!Number.isFinite(off2) || !Number.isFinite(total2)) {
        throw new RangeError('symmetricEigen: the matrix has non-finite entries (or entries above ~1e18, whose squares overflow f32)');
      }
      return total2 > 0 ? Math.sqrt(off2 / total2) : 0;
    };

    const uniforms = { N, pairs, quads };
    const round = method === 'block'
      ? () => {
          // aNext holds T = Vᵀ A between the two passes; the column pass writes A' into a.
          blockSolveKernel.run(gpu, { uniforms: { N, pairs }, bindings: { A: a, V: rot }, threads: pairs });
          blockLeftKernel.run(gpu, { uniforms, bindings: { V: rot, A: a, T: aNext, Qt: qt, QtNext: qtNext }, extent: [quads, pairs, 2] });
          blockRightKernel.run(gpu, { uniforms, bindings: { V: rot, T: aNext, A: a }, extent: [pairs, quads] });
          [qt, qtNext] = [qtNext, qt];
        }
      : () => {
          rotationsKernel.run(gpu, { uniforms: { N, pairs }, bindings: { A: a, rotations: rot }, threads: pairs });
          rotateKernel.run(gpu, { uniforms, bindings: { rotations: rot, A: a, ANext: aNext, Qt: qt, QtNext: qtNext }, extent: [quads, 2 * pairs] });
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
    const vectors = scope.tensor([n, n]);
    const AQ = scope.tensor([n, n]);
    const rayleigh = scope.tensor([n]);
    const Q = scope.tensor([n, n]);
    const lambda = scope.tensor([n]);
    vectorsKernel.run(gpu, { uniforms: { N, n }, bindings: { Qt: qt, Q: vectors }, threads: n });
    matmul(gpu, A, vectors, AQ, { M: n, N: n, K: n });
    rayleighKernel.run(gpu, { uniforms: { n }, bindings: { Q: vectors, AQ, lambda: rayleigh }, threads: n });
    sortKernel.run(gpu, { uniforms: { n }, bindings: { lambda: rayleigh, Q: vectors, sortedLambda: lambda, sortedQ: Q }, threads: n });
    return { Q: scope.detach(Q), lambda: scope.detach(lambda), sweeps, offDiagonal: off };
  });
}
