// ALPS: preparation (damping, diagonal scaling), the elementwise parts of an ADMM iteration,
// the (Ĝ + ρI)⁻¹ factor for a new ρ, the masked PCG step and the final unscaling.
//
// Layout: everything is row-major [m, n] with rows = outputs and columns = inputs, i.e. the
// transpose of the paper's B ∈ R^{n×m}. Then Ĝ B becomes B·Ĝ (Ĝ is symmetric), N:M groups are
// contiguous, and the per-output-column reductions of the PCG become per-row loops.

struct Params {
  m: u32,
  n: u32,
  rho: f32,
  damping: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---------------------------------------------------------------- damping
// scalars[0] = λ = damping · mean(diag G). One invocation: n additions.
@group(0) @binding(1) var<storage, read> gramIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> scalars: array<f32>;

@compute @workgroup_size(1)
fn damping(@builtin(global_invocation_id) gid: vec3<u32>) {
  var acc = 0.0;
  for (var i = 0u; i < p.n; i++) { acc += gramIn[i * p.n + i]; }
  scalars[0] = p.damping * acc / f32(p.n);
}

// ---------------------------------------------------------------- scale_gram
// d_i = sqrt(G_ii + λ) + 1e-8 and Ĝ = D⁻¹ (G + λI) D⁻¹, whose diagonal is 1.
@group(0) @binding(1) var<storage, read> gramRaw: array<f32>;
@group(0) @binding(2) var<storage, read> lambdaIn: array<f32>;
@group(0) @binding(3) var<storage, read_write> gramHat: array<f32>;
@group(0) @binding(4) var<storage, read_write> dOut: array<f32>;

fn scaleOf(i: u32, lambda: f32) -> f32 {
  return sqrt(gramRaw[i * p.n + i] + lambda) + 1e-8;
}

@compute @workgroup_size(8, 8)
fn scale_gram(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  let lambda = lambdaIn[0];
  var g = gramRaw[i * p.n + j];
  if (i == j) { g += lambda; }
  gramHat[i * p.n + j] = g / (scaleOf(i, lambda) * scaleOf(j, lambda));
  if (i == 0u) { dOut[j] = scaleOf(j, lambda); }
}

// ---------------------------------------------------------------- scale_weight
// B0 = W ∘ d (column j of W times d_j): importance |W_ij|·d_j.
@group(0) @binding(1) var<storage, read> weightIn: array<f32>;
@group(0) @binding(2) var<storage, read> dIn: array<f32>;
@group(0) @binding(3) var<storage, read_write> scaledOut: array<f32>;

fn flatIndex(gid: vec3<u32>) -> u32 {
  return gid.x + gid.y * 65535u * 64u;
}

@compute @workgroup_size(64)
fn scale_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = flatIndex(gid);
  if (idx >= p.m * p.n) { return; }
  scaledOut[idx] = weightIn[idx] * dIn[idx % p.n];
}

// ---------------------------------------------------------------- unscale
// W = X ./ d, back to the original problem.
@compute @workgroup_size(64)
fn unscale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = flatIndex(gid);
  if (idx >= p.m * p.n) { return; }
  scaledOut[idx] = weightIn[idx] / dIn[idx % p.n];
}

// ---------------------------------------------------------------- rho_factor
// Qρ[i][j] = Q[j][i] / (λ_i + ρ), so that B = (R·Q)·Qρ = R (Ĝ + ρI)⁻¹ takes two matmuls and a
// ρ change costs only this n² pass.
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> eigenvalues: array<f32>;
@group(0) @binding(3) var<storage, read_write> Qrho: array<f32>;

@compute @workgroup_size(8, 8)
fn rho_factor(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  Qrho[i * p.n + j] = Q[j * p.n + i] / (eigenvalues[i] + p.rho);
}

// ---------------------------------------------------------------- admm_rhs
// R = Y − V + ρD, the right-hand side of the B-update.
@group(0) @binding(1) var<storage, read> Yin: array<f32>;
@group(0) @binding(2) var<storage, read> Vin: array<f32>;
@group(0) @binding(3) var<storage, read> Din: array<f32>;
@group(0) @binding(4) var<storage, read_write> rhs: array<f32>;

@compute @workgroup_size(64)
fn admm_rhs(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = flatIndex(gid);
  if (idx >= p.m * p.n) { return; }
  rhs[idx] = Yin[idx] - Vin[idx] + p.rho * Din[idx];
}

// ---------------------------------------------------------------- admm_shift
// Z = B + V/ρ, the argument of the projection D = P_k(Z).
@group(0) @binding(1) var<storage, read> Bin: array<f32>;
@group(0) @binding(2) var<storage, read> Vs: array<f32>;
@group(0) @binding(3) var<storage, read_write> Z: array<f32>;

@compute @workgroup_size(64)
fn admm_shift(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = flatIndex(gid);
  if (idx >= p.m * p.n) { return; }
  Z[idx] = Bin[idx] + Vs[idx] / p.rho;
}

// ---------------------------------------------------------------- admm_dual
// V += ρ(B − D); per row, partials[row] = ‖B_row − D_row‖² and partials[m + row] = ‖B_row‖².
@group(0) @binding(1) var<storage, read> Bd: array<f32>;
@group(0) @binding(2) var<storage, read> Dd: array<f32>;
@group(0) @binding(3) var<storage, read_write> Vd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dualPartials: array<f32>;

@compute @workgroup_size(64)
fn admm_dual(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= p.m) { return; }
  var diff = 0.0;
  var norm = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let idx = row * p.n + j;
    let b = Bd[idx];
    let r = b - Dd[idx];
    Vd[idx] += p.rho * r;
    diff += r * r;
    norm += b * b;
  }
  dualPartials[row] = diff;
  dualPartials[p.m + row] = norm;
}

// ---------------------------------------------------------------- PCG on the fixed support
// Per row j (an output; a column of the paper's B): solve Ĝ_SS x_S = y_S by conjugate gradients
// with all rows advancing together. XG = X·Ĝ is updated alongside X so that the objective can be
// reported after every step without another product. state[4·row + {0,1}] = r·r, ‖y_row‖.
@group(0) @binding(1) var<storage, read> maskIn: array<u32>;
@group(0) @binding(2) var<storage, read> Ypcg: array<f32>;
@group(0) @binding(3) var<storage, read> XGinit: array<f32>;
@group(0) @binding(4) var<storage, read_write> Rpcg: array<f32>;
@group(0) @binding(5) var<storage, read_write> Ppcg: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<f32>;

@compute @workgroup_size(64)
fn pcg_init(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= p.m) { return; }
  var rr = 0.0;
  var yy = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let idx = row * p.n + j;
    let y = Ypcg[idx];
    var r = 0.0;
    if (maskIn[idx] != 0u) { r = y - XGinit[idx]; }
    Rpcg[idx] = r;
    Ppcg[idx] = r;
    rr += r * r;
    yy += y * y;
  }
  state[4u * row] = rr;
  state[4u * row + 1u] = sqrt(yy);
}

@group(0) @binding(1) var<storage, read> maskS: array<u32>;
@group(0) @binding(2) var<storage, read> AP: array<f32>;
@group(0) @binding(3) var<storage, read_write> Xs: array<f32>;
@group(0) @binding(4) var<storage, read_write> XGs: array<f32>;
@group(0) @binding(5) var<storage, read_write> Rs: array<f32>;
@group(0) @binding(6) var<storage, read_write> Ps: array<f32>;
@group(0) @binding(7) var<storage, read_write> stateS: array<f32>;
// Slot 1 of the shared partial sums: this row's residual ratio ‖r‖/‖y‖ (reduced by max).
@group(0) @binding(8) var<storage, read_write> residualOut: array<f32>;

@compute @workgroup_size(64)
fn pcg_step(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= p.m) { return; }
  let base = row * p.n;
  let rr = stateS[4u * row];
  let ynorm = stateS[4u * row + 1u];
  var pap = 0.0;
  for (var j = 0u; j < p.n; j++) { pap += Ps[base + j] * AP[base + j]; }
  // A row whose residual already vanished (or whose support is empty) takes no step.
  var alpha = 0.0;
  if (pap > 0.0 && rr > 0.0) { alpha = rr / pap; }
  var rrNew = 0.0;
  for (var j = 0u; j < p.n; j++) {
    let idx = base + j;
    let ap = AP[idx];
    Xs[idx] += alpha * Ps[idx];
    XGs[idx] += alpha * ap;
    var r = 0.0;
    if (maskS[idx] != 0u) { r = Rs[idx] - alpha * ap; }
    Rs[idx] = r;
    rrNew += r * r;
  }
  var beta = 0.0;
  if (rr > 0.0) { beta = rrNew / rr; }
  for (var j = 0u; j < p.n; j++) {
    let idx = base + j;
    Ps[idx] = Rs[idx] + beta * Ps[idx];
  }
  stateS[4u * row] = rrNew;
  var ratio = 0.0;
  if (ynorm > 0.0) { ratio = sqrt(rrNew) / ynorm; }
  residualOut[p.m + row] = ratio;
}
