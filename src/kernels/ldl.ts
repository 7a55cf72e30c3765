import file from '../../shaders/ldl.wgsl?raw';
import { defineKernel, wgslConsts, wgslSections } from '../gpu/kernel';
import type { Binding, Gpu, GpuTensor } from '../gpu/runtime';
import type { GpuScope } from '../gpu/scope';
import { DEFAULT_PIVOT_TOLERANCE } from './cholesky';
import { matmul } from './matmul';

/** The widest block (the register row and the shared pivot row of block_inverse). */
export const MAX_BLOCK = 64;

const wgsl = wgslSections(file);

const diag0Kernel = defineKernel({
  name: 'ldl_diag0',
  uniforms: { n: 'u32' },
  bindings: { W: { type: 'f32' }, diag0: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('diag0'),
});

const blockInverseKernel = defineKernel({
  name: 'ldl_block_inverse',
  uniforms: { n: 'u32', c0: 'u32', w: 'u32', offD: 'u32', ld: 'u32', tol: 'f32' },
  bindings: {
    W: { type: 'f32' },
    diag0: { type: 'f32' },
    Dinv: { type: 'f32', access: 'read_write' },
    flag: { type: 'u32', access: 'read_write' },
  },
  workgroupSize: [MAX_BLOCK],
  source: () => wgslConsts({ MAX_BLOCK }) + wgsl.section('block_inverse'),
});

const mirrorKernel = defineKernel({
  name: 'ldl_block_mirror',
  uniforms: { n: 'u32', c0: 'u32', w: 'u32' },
  bindings: { W: { type: 'f32' }, Wc: { type: 'f32', access: 'read_write' }, F: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('block_mirror'),
});

const addKernel = defineKernel({
  name: 'ldl_block_add',
  uniforms: { m: 'u32', n: 'u32', c0: 'u32', w: 'u32' },
  bindings: { T: { type: 'f32' }, Y: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  source: () => wgsl.section('block_add'),
});

/**
 * A block LDLᵀ factorisation A = L·D·Lᵀ of an n × n SPD matrix and the row solves with it
 * (shaders/ldl.wgsl). `W` receives A (its lower block triangle, diagonal blocks whole, is read) and
 * is overwritten; `F` holds L below the diagonal blocks and Lᵀ above them, `Wc` a copy of W below
 * them, `Dinv` the inverses of D's diagonal blocks; `T` is the solves' scratch for `rows` rows. Owned by the scope it was made in.
 */
export interface BlockLdl {
  readonly n: number;
  /** Block size b (≤ MAX_BLOCK). */
  readonly block: number;
  /** Rows the solves take. */
  readonly rows: number;
  readonly W: GpuTensor;
  readonly F: GpuTensor;
  readonly Wc: GpuTensor;
  readonly Dinv: GpuTensor;
  readonly diag0: GpuTensor;
  readonly T: GpuTensor;
  /** u32; element 0 is set to 1 when a pivot fails (never cleared). */
  readonly flag: GpuTensor;
}

export function makeBlockLdl(scope: GpuScope, n: number, o: { rows: number; block?: number }): BlockLdl {
  const block = o.block ?? MAX_BLOCK;
  if (!Number.isInteger(block) || block < 1 || block > MAX_BLOCK) throw new RangeError(`makeBlockLdl: block must be 1…${MAX_BLOCK}, got ${block}.`);
  const blocks = Math.ceil(n / block);
  return {
    n,
    block,
    rows: o.rows,
    W: scope.tensor([n, n]),
    F: scope.tensor([n, n]),
    Wc: scope.tensor([n, n]),
    Dinv: scope.tensor([Math.max(1, blocks * block * block)]),
    diag0: scope.tensor([Math.max(1, n)]),
    T: scope.tensor([Math.max(1, o.rows * block)]),
    flag: scope.zeros([1], 'u32'),
  };
}

/** Block column j as [c0, c1). */
function columns(f: BlockLdl, j: number): [number, number] {
  const c0 = j * f.block;
  return [c0, Math.min(f.n, c0 + f.block)];
}

/**
 * Factors the matrix in `f.W` (recorded on the GPU, no readback): two products, one b × b inverse
 * and one copy-and-transpose pass per block column.
 */
export function blockLdlFactor(gpu: Gpu, f: BlockLdl, tolerance = DEFAULT_PIVOT_TOLERANCE): void {
  const { n, block: b, W, Wc, F, Dinv } = f;
  if (n === 0) return;
  diag0Kernel.run(gpu, { uniforms: { n }, bindings: { W, diag0: f.diag0 }, threads: n });
  const blocks = Math.ceil(n / b);
  for (let j = 0; j < blocks; j++) {
    const [c0, c1] = columns(f, j);
    const w = c1 - c0;
    // W[c0:, j] −= L[c0:, <j]·W[j, <j]ᵀ, L from F and W[j, <j] from its copy.
    if (c0 > 0) matmul(gpu, F, Wc, W, { M: n - c0, N: w, K: c0, transB: true, lda: n, offA: c0 * n, ldb: n, offB: c0 * n, ldc: n, offC: c0 * n + c0, alpha: -1, beta: 1 });
    blockInverseKernel.run(gpu, {
      uniforms: { n, c0, w, offD: j * b * b, ld: b, tol: tolerance },
      bindings: { W, diag0: f.diag0, Dinv, flag: f.flag },
      workgroups: [1],
    });
    if (c1 === n) break;
    // L[c1:, j] = W[c1:, j]·Dinv_j (Dinv_j symmetric: read along its rows).
    matmul(gpu, W, Dinv, F, { M: n - c1, N: w, K: w, transB: true, lda: n, offA: c1 * n + c0, ldb: b, offB: j * b * b, ldc: n, offC: c1 * n + c0 });
    mirrorKernel.run(gpu, { uniforms: { n, c0, w }, bindings: { W, Wc, F }, threads: w * (n - c1) });
  }
}

/**
 * out = rhs·A⁻¹ for the rows of rhs ([rows, n]) with the factorisation in `f`; rhs is overwritten
 * (it ends holding y of the forward pass), out ≠ rhs.
 */
export function blockLdlSolveRows(gpu: Gpu, f: BlockLdl, rhs: Binding, out: Binding): void {
  const { n, block: b, rows: m, F, Dinv, T } = f;
  if (n === 0 || m === 0) return;
  const blocks = Math.ceil(n / b);
  const add = (Y: Binding, c0: number, w: number) => addKernel.run(gpu, { uniforms: { m, n, c0, w }, bindings: { T, Y }, threads: m * w });
  // y·Lᵀ = r: y_j = r_j − y_{<j}·L[j, <j]ᵀ.
  for (let j = 1; j < blocks; j++) {
    const [c0, c1] = columns(f, j);
    matmul(gpu, rhs, F, T, { M: m, N: c1 - c0, K: c0, transB: true, lda: n, ldb: n, offB: c0 * n, alpha: -1 });
    add(rhs, c0, c1 - c0);
  }
  // z = y·D⁻¹: every whole block in one batched product, a narrower last block alone.
  const whole = Math.floor(n / b);
  if (whole > 0) matmul(gpu, rhs, Dinv, out, { M: m, N: b, K: b, transB: true, lda: n, ldb: b, ldc: n, batch: whole, strideA: b, strideB: b * b, strideC: b });
  if (whole < blocks) {
    const [c0, c1] = columns(f, whole);
    matmul(gpu, rhs, Dinv, out, { M: m, N: c1 - c0, K: c1 - c0, transB: true, lda: n, offA: c0, ldb: b, offB: whole * b * b, ldc: n, offC: c0 });
  }
  // x·L = z: x_j = z_j − x_{>j}·(Lᵀ[j, >j])ᵀ, last block first.
  for (let j = blocks - 2; j >= 0; j--) {
    const [c0, c1] = columns(f, j);
    matmul(gpu, out, F, T, { M: m, N: c1 - c0, K: n - c1, transB: true, lda: n, offA: c1, ldb: n, offB: c0 * n + c1, alpha: -1 });
    add(out, c0, c1 - c0);
  }
}
