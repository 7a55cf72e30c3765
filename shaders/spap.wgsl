// SPAP (structured pruning of MLP channels): the small kernels around the shared SPD solve.
// Matrices are row-major; B is [m, n] = down_proj's weight in the scaled problem (rows = outputs,
// columns = intermediate channels), Ĥ is the scaled gram of down_proj's inputs [n, n].

struct Params {
  m: u32,
  n: u32,
  k: u32,      // kept channels (gather kernels)
  _pad: u32,
  rho: f32,
  _pad1: u32, _pad2: u32, _pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---------------------------------------------------------------- penalised_gram
// A = Ĥ + ρ·diag(s): the ridge system of the W-step, one SPD matrix shared by every output row.
@group(0) @binding(1) var<storage, read> gramHat: array<f32>;
@group(0) @binding(2) var<storage, read> selected: array<f32>;
@group(0) @binding(3) var<storage, read_write> A: array<f32>;

@compute @workgroup_size(8, 8)
fn penalised_gram(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  var v = gramHat[i * p.n + j];
  if (i == j) { v += p.rho * selected[i]; }
  A[i * p.n + j] = v;
}

// ---------------------------------------------------------------- column_energy
// c_j = Σ_r B_rj², the penalty's per-channel cost; the selection step is a bottom-λ choice over c.
@group(0) @binding(1) var<storage, read> Bc: array<f32>;
@group(0) @binding(2) var<storage, read_write> energy: array<f32>;

@compute @workgroup_size(64)
fn column_energy(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= p.n) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.m; r++) {
    let b = Bc[r * p.n + j];
    acc += b * b;
  }
  energy[j] = acc;
}

// ---------------------------------------------------------------- zero_columns
// out = B with the selected channels' columns set to 0 (the hard projection of the relaxation).
@group(0) @binding(1) var<storage, read> Bz: array<f32>;
@group(0) @binding(2) var<storage, read> selectedZ: array<f32>;
@group(0) @binding(3) var<storage, read_write> outZ: array<f32>;

@compute @workgroup_size(64)
fn zero_columns(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * 65535u * 64u;
  if (idx >= p.m * p.n) { return; }
  let j = idx % p.n;
  outZ[idx] = select(Bz[idx], 0.0, selectedZ[j] != 0.0);
}

// ---------------------------------------------------------------- gather_columns / gather_square
// Restrict to the kept channels K (index list): src [m, n] → out [m, k]; Ĥ [n, n] → Ĥ_KK [k, k].
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> kept: array<u32>;
@group(0) @binding(3) var<storage, read_write> gathered: array<f32>;

@compute @workgroup_size(8, 8)
fn gather_columns(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.y;
  let c = gid.x;
  if (r >= p.m || c >= p.k) { return; }
  gathered[r * p.k + c] = src[r * p.n + kept[c]];
}

@compute @workgroup_size(8, 8)
fn gather_square(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.y;
  let c = gid.x;
  if (r >= p.k || c >= p.k) { return; }
  gathered[r * p.k + c] = src[kept[r] * p.n + kept[c]];
}
