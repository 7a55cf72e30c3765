// SPD factorisation family: the upper Cholesky factor of an inverse, U with UᵀU = A⁻¹, for a
// symmetric positive definite A (n×n, row-major), plus diagonal damping.
//
// Method (reversal trick, no explicit inverse): factor A = Ũ Ũᵀ with Ũ upper, eliminating pivots
// from the last index down to the first (this is the Cholesky factor of the index-reversed matrix,
// read back in reversed order). Then A⁻¹ = Ũ⁻ᵀ Ũ⁻¹, so U = Ũ⁻¹ is upper with UᵀU = A⁻¹, and it is
// THE upper Cholesky factor of A⁻¹ because that factor is unique. Compared with "Cholesky, invert,
// Cholesky again" (the reference's route) this costs n³/3 instead of ~4n³/3 and never forms A⁻¹.
//
// Elimination of pivot k (A's lower triangle holds Ũᵀ in the making; B starts as I):
//  * factor:  for j ≤ i < k, A[i][j] −= (A[k][i] / A[k][k]) · A[k][j]   (leading Schur complement)
//  * inverse: for i < k ≤ j, B[i][j] −= (A[k][i] / A[k][k]) · B[k][j]   (back substitution Ũ X = I)
// Scaling by the pivot's square root is folded in: Ũ[i][k] = A[k][i]/√A[k][k] and
// X[k][:] = B[k][:]/√A[k][k], whose product is the single division above. Rows k of A and B are
// final once pivot k is eliminated (later pivots only touch rows < k), so `finish` scales them at
// the end: U[i][j] = B[i][j] / √A[i][i] for j ≥ i, 0 below. Only A's lower triangle is read.
// B[k][j] = 0 for j < k throughout, so the inverse update may run over all j ≥ any bound ≤ k.
//
// Blocked by panels of r pivots K = [k0, k1), last panel first, so that almost all the work is a
// rank-r matrix product (src/kernels/matmul.ts) instead of n memory-bound rank-1 sweeps:
//  1. panel_diag: one invocation eliminates the pivots of K inside the r×r diagonal block;
//  2. panel_cols: one invocation per column j applies the same r eliminations to rows K of column
//     j (A for j < k0, B for j ≥ k0), in registers;
//  3. panel_scale: P[p][j] = A[k0+p][j] / A[k0+p][k0+p] and R = A[k0+p][j], j < k0 (copies, since
//     the product below writes A and may not also read it);
//  4. two products for rows i < k0: A[:k0, :k0] −= Pᵀ·R and B[:k0, k0:] −= Pᵀ·B[K, k0:] (a copy).
// Writing the multiplier as (A[k][i]/A[k][k])·A[k][j] makes an exactly repeated column inside a
// panel give an exactly zero pivot (x/x = 1), so exact rank deficiency is caught there; elsewhere
// the relative pivot tolerance of `finish` does. No barriers anywhere.

//
// Bindings, by the names above: A (overwritten), B (becomes U), diag0 (A's diagonal before the
// sweep), flag (u32, set to 1 on a bad pivot, never cleared here); P and R for panel_scale. The
// 1-D grids are folded into x·y by the runtime (flat_id). MAX_PANEL (the widest panel) comes from
// src/kernels/cholesky.ts.

//# kernel init
// B = I and diag0 = diag(A); one invocation per row.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n) { return; }
  let n = p.n;
  for (var j = 0u; j < n; j++) {
    B[i * n + j] = select(0.0, 1.0, i == j);
  }
  diag0[i] = A[i * n + i];
}

//# kernel panel_diag
// Eliminates the panel's pivots inside its diagonal block (r³/6 operations, one invocation).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main() {
  let n = p.n;
  let k0 = p.k0;
  for (var k = p.k1 - 1u; k > k0; k--) {
    let pk = A[k * n + k];
    for (var i = k0; i < k; i++) {
      let l = A[k * n + i] / pk;
      for (var j = k0; j <= i; j++) {
        A[i * n + j] -= l * A[k * n + j];
      }
    }
  }
}

//# kernel panel_cols
// The panel's eliminations applied to rows K of column j: A's columns j < k0, B's columns j ≥ k0.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat_id(gid, nwg);
  let n = p.n;
  if (j >= n) { return; }
  let k0 = p.k0;
  let r = p.k1 - k0;
  let useA = j < k0;
  var x: array<f32, MAX_PANEL>;
  for (var a = 0u; a < r; a++) {
    if (useA) { x[a] = A[(k0 + a) * n + j]; } else { x[a] = B[(k0 + a) * n + j]; }
  }
  for (var k = r - 1u; k > 0u; k--) {
    let xk = x[k];
    if (xk == 0.0) { continue; }
    let row = (k0 + k) * n;
    let pk = A[row + k0 + k];
    for (var i = 0u; i < k; i++) {
      x[i] -= (A[row + k0 + i] / pk) * xk;
    }
  }
  for (var a = 0u; a < r; a++) {
    if (useA) { A[(k0 + a) * n + j] = x[a]; } else { B[(k0 + a) * n + j] = x[a]; }
  }
}

//# kernel panel_scale
// P (scaled) and R (plain) copies of the panel's rows of A left of the panel, r × k0 each.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= (p.k1 - p.k0) * p.k0) { return; }
  let a = idx / p.k0;
  let row = (p.k0 + a) * p.n;
  let v = A[row + idx % p.k0];
  P[idx] = v / A[row + p.k0 + a];
  R[idx] = v;
}

//# kernel finish
// U = scaled rows of B (upper), zeros below; checks every pivot. One invocation per (i, j).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  let n = p.n;
  if (i >= n || j >= n) { return; }
  let pivot = A[i * n + i];
  if (j < i) {
    B[i * n + j] = 0.0;
    return;
  }
  B[i * n + j] = B[i * n + j] / sqrt(pivot);
  // Written as a negated comparison so that a NaN pivot (NaN in the calibration data) also fails.
  if (j == i && !(pivot > p.tol * abs(diag0[i]) && pivot > 0.0 && pivot < 3.0e38)) {
    flag[0] = 1u;
  }
}

//# kernel damp
// A += fraction · mean(diag A) · I, in one workgroup (a single reduction; its barriers run once).
var<workgroup> partial: array<f32, WG_X>;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = p.n;
  var s = 0.0;
  for (var i = lid; i < n; i += WG_X) { s += A[i * n + i]; }
  partial[lid] = s;
  workgroupBarrier();
  for (var width = WG_X / 2u; width > 0u; width >>= 1u) {
    if (lid < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  let lambda = p.fraction * partial[0] / f32(n);
  for (var i = lid; i < n; i += WG_X) { A[i * n + i] += lambda; }
}
