// Block LDLᵀ of an SPD matrix and the row solves x·A = r with it (ALPS's (Ĝ + ρI)⁻¹ action).
//
// With blocks of b indices (the last one may be narrower), A = L D Lᵀ where L is block unit lower
// triangular (identity diagonal blocks, never stored) and D = blockdiag(D_j) is SPD. Left-looking,
// block column j = [c0, c1), with W = L·D built column by column in A's own buffer:
//   W[c0:, j] = A[c0:, j] − L[c0:, <j] · W[j, <j]ᵀ        (one product)
//   Dinv_j = D_j⁻¹ with D_j = W[j, j]                      (block_inverse, below)
//   L[c1:, j] = W[c1:, j] · Dinv_j                          (one product)
// since L_ij·D_j = W_ij for i > j. WebGPU may not bind one buffer for reading and writing in the
// same dispatch, so the first product reads W[j, <j] from a copy Wc and L from the factor's buffer
// F, and writes only A's buffer; block_mirror fills Wc[>j, j] once column j is done, and also
// F[j, >j] = L[>j, j]ᵀ, so that every product reads its right operand along its rows (op(B) = Bᵀ:
// 1.2× faster than reading down columns on SwiftShader at these shapes; Dinv_j is symmetric, so it
// may be read either way). The products do n³/6 + n²b/2 multiply-adds, half of an inverse Cholesky factor's.
// A row solve x·A = r is three passes (rows of r are independent):
//   y·Lᵀ = r    forward:  y_j = r_j − y_{<j} · L[j, <j]ᵀ
//   z = y·D⁻¹   one batched product with the Dinv_j
//   x·L = z     backward: x_j = z_j − x_{>j} · (Lᵀ[j, >j])ᵀ
// about m·n² + 2·m·n·b multiply-adds, the same as one dense product with the explicit inverse. For
// the same reason as above each block's product goes to a scratch T and block_add adds it in.
//
// Bindings: W (A in, the panels W out), Wc (W's finished columns), F (L below, Lᵀ above the
// diagonal blocks), Dinv ([blocks, b, b], row stride b), diag0 (A's diagonal before the sweep), flag
// (u32, set to 1 on a bad pivot, never cleared here); T and Y of block_add.

//# kernel diag0
// diag0 = diag(A), the scale each pivot is judged against; one invocation per row.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n) { return; }
  diag0[i] = W[i * p.n + i];
}

//# kernel block_inverse
// Dinv_j = W[c0:c1, c0:c1]⁻¹ by Gauss–Jordan elimination without pivoting (stable for SPD; its
// pivots are those of the Cholesky factorisation, so they are checked the same way). One workgroup;
// invocation i keeps row i in registers and the pivot row is shared through workgroup memory,
// double-buffered so that one barrier per pivot suffices: row k is written at step k and read by
// all before anyone reaches the barrier of step k + 1, and the same buffer is next written at k + 2.
// Elimination of pivot k with q = row k and d = q[k]: row k ← q/d except entry k = 1/d; every other
// row i, with f = x[k]/d: x[j] −= f·q[j] for j ≠ k and x[k] = −f.
var<workgroup> pivotRow: array<array<f32, MAX_BLOCK>, 2>;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = p.n;
  let c0 = p.c0;
  let w = p.w;
  var x: array<f32, MAX_BLOCK>;
  if (lid < w) {
    for (var j = 0u; j < w; j++) { x[j] = W[(c0 + lid) * n + c0 + j]; }
  }
  for (var k = 0u; k < w; k++) {
    let buf = k & 1u;
    if (lid == k) {
      for (var j = 0u; j < w; j++) { pivotRow[buf][j] = x[j]; }
    }
    workgroupBarrier();
    let d = pivotRow[buf][k];
    if (lid == 0u && !(d > p.tol * abs(diag0[c0 + k]) && d > 0.0 && d < 3.0e38)) { flag[0] = 1u; }
    let inv = 1.0 / d;
    if (lid < w) {
      if (lid == k) {
        for (var j = 0u; j < w; j++) { x[j] = pivotRow[buf][j] * inv; }
        x[k] = inv;
      } else {
        // f = x[k]/d by division, so that an exactly repeated column meets an exactly zero pivot.
        let f = x[k] / d;
        for (var j = 0u; j < w; j++) { x[j] -= f * pivotRow[buf][j]; }
        x[k] = -f;
      }
    }
  }
  if (lid < w) {
    for (var j = 0u; j < w; j++) { Dinv[p.offD + lid * p.ld + j] = x[j]; }
  }
}

//# kernel block_mirror
// For rows i ≥ c1 and the w columns of block j: Wc[i][c0 + c] = W[i][c0 + c] and
// F[c0 + c][i] = F[i][c0 + c] (L[>j, j]ᵀ above the diagonal block).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  let c1 = p.c0 + p.w;
  if (idx >= p.w * (p.n - c1)) { return; }
  let i = c1 + idx / p.w;
  let c = p.c0 + idx % p.w;
  Wc[i * p.n + c] = W[i * p.n + c];
  F[c * p.n + i] = F[i * p.n + c];
}

//# kernel block_add
// Y[r][c0 + c] += T[r][c] for the m rows of Y ([m, n]) and the w columns of T ([m, w]).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.w) { return; }
  let r = idx / p.w;
  Y[r * p.n + p.c0 + idx % p.w] += T[idx];
}
