// ALPS: preparation (damping, diagonal scaling), the elementwise parts of an ADMM iteration,
// for a new ρ the (Ĝ + ρI)⁻¹ factor in the eigenbasis or the shifted matrix Ĝ + ρI to factor,
// the masked PCG step and the final unscaling.
//
// Layout: everything is row-major [m, n] with rows = outputs and columns = inputs, i.e. the
// transpose of the paper's B ∈ R^{n×m}. Then Ĝ B becomes B·Ĝ (Ĝ is symmetric), N:M groups are
// contiguous, and the per-output-column reductions of the PCG become per-row loops.
// Element-wise kernels run over flat 1-D grids (flat_id); n × n kernels over 2-D grids of 8 × 8
// workgroups; per-row kernels one invocation per row.

//# kernel damping
// scalars[0] = λ = damping · mean(diag G). One invocation: n additions.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main() {
  var acc = 0.0;
  for (var i = 0u; i < p.n; i++) { acc += gram[i * p.n + i]; }
  scalars[0] = p.damping * acc / f32(p.n);
}

//# kernel scale_gram
// d_i = sqrt(G_ii + λ) + 1e-8 and Ĝ = D⁻¹ (G + λI) D⁻¹, whose diagonal is 1.
fn scaleOf(i: u32, lambda: f32) -> f32 {
  return sqrt(gram[i * p.n + i] + lambda) + 1e-8;
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  let lambda = scalars[0];
  var g = gram[i * p.n + j];
  if (i == j) { g += lambda; }
  gramHat[i * p.n + j] = g / (scaleOf(i, lambda) * scaleOf(j, lambda));
  if (i == 0u) { d[j] = scaleOf(j, lambda); }
}

//# kernel scale_columns
// out = W ∘ d (column j of W times d_j: importance |W_ij|·d_j), or with UNSCALE out = W ./ d, back
// to the original problem.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.n) { return; }
  if (UNSCALE) {
    out[idx] = W[idx] / d[idx % p.n];
  } else {
    out[idx] = W[idx] * d[idx % p.n];
  }
}

//# kernel rho_factor
// Qρ[i][j] = Q[j][i] / (λ_i + ρ), so that B = (R·Q)·Qρ = R (Ĝ + ρI)⁻¹ takes two matmuls and a
// ρ change costs only this n² pass.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  Qrho[i * p.n + j] = Q[j * p.n + i] / (eigenvalues[i] + p.rho);
}

//# kernel ridge
// A = Ĝ + ρI, the matrix the Cholesky route factors at each ρ change (one n² pass; the factorisation
// destroys A, so Ĝ itself is never touched).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  var g = gramHat[i * p.n + j];
  if (i == j) { g += p.rho; }
  A[i * p.n + j] = g;
}

//# kernel rhs
// R = Y − V + ρD, the right-hand side of the B-update.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.n) { return; }
  rhs[idx] = Y[idx] - V[idx] + p.rho * D[idx];
}

//# kernel shift
// Z = B + V/ρ, the argument of the projection D = P_k(Z).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.n) { return; }
  Z[idx] = B[idx] + V[idx] / p.rho;
}

//# kernel dual
// V += ρ(B − D); per row, partials[row] = ‖B_row − D_row‖² and partials[m + row] = ‖B_row‖².
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_id(gid, nwg);
  if (row >= p.m) { return; }
  var diff = 0.0;
  var norm = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let idx = row * p.n + j;
    let b = B[idx];
    let r = b - D[idx];
    V[idx] += p.rho * r;
    diff += r * r;
    norm += b * b;
  }
  partials[row] = diff;
  partials[p.m + row] = norm;
}

// ---------------------------------------------------------------- PCG on the fixed support
// Per row j (an output; a column of the paper's B): solve Ĝ_SS x_S = y_S by conjugate gradients
// with all rows advancing together. XG = X·Ĝ is updated alongside X so that the objective can be
// reported after every step without another product. state[4·row + {0,1}] = r·r, ‖y_row‖.

//# kernel pcg_init
// R = P = M∘(Y − XG).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_id(gid, nwg);
  if (row >= p.m) { return; }
  var rr = 0.0;
  var yy = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let idx = row * p.n + j;
    let y = Y[idx];
    var r = 0.0;
    if (mask[idx] != 0u) { r = y - XG[idx]; }
    R[idx] = r;
    P[idx] = r;
    rr += r * r;
    yy += y * y;
  }
  state[4u * row] = rr;
  state[4u * row + 1u] = sqrt(yy);
}

//# kernel pcg_step
// One step given AP = P·Ĝ; slot 1 of the shared partial sums receives this row's residual ratio
// ‖r‖/‖y‖ (reduced by max).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_id(gid, nwg);
  if (row >= p.m) { return; }
  let base = row * p.n;
  let rr = state[4u * row];
  let ynorm = state[4u * row + 1u];
  var pap = 0.0;
  for (var j = 0u; j < p.n; j++) { pap += P[base + j] * AP[base + j]; }
  // A row whose residual already vanished (or whose support is empty) takes no step.
  var alpha = 0.0;
  if (pap > 0.0 && rr > 0.0) { alpha = rr / pap; }
  var rrNew = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let idx = base + j;
    let ap = AP[idx];
    X[idx] += alpha * P[idx];
    XG[idx] += alpha * ap;
    var r = 0.0;
    if (mask[idx] != 0u) { r = R[idx] - alpha * ap; }
    R[idx] = r;
    rrNew += r * r;
  }
  var beta = 0.0;
  if (rr > 0.0) { beta = rrNew / rr; }
  for (var j = 0u; j < p.n; j++) {
    let idx = base + j;
    P[idx] = R[idx] + beta * P[idx];
  }
  state[4u * row] = rrNew;
  var ratio = 0.0;
  if (ynorm > 0.0) { ratio = sqrt(rrNew) / ynorm; }
  partials[p.m + row] = ratio;
}
