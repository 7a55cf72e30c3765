// SPAP (structured pruning of MLP channels): the small kernels around the shared SPD solve.
// Matrices are row-major; B is [m, n] = down_proj's weight in the scaled problem (rows = outputs,
// columns = intermediate channels), Ĥ is the scaled gram of down_proj's inputs [n, n].

//# kernel penalised_gram
// A = Ĥ + ρ·diag(s): the ridge system of the W-step, one SPD matrix shared by every output row.
// 2-D grid of tiles: x = column j, y = row i.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= p.n || j >= p.n) { return; }
  var v = gramHat[i * p.n + j];
  if (i == j) { v += p.rho * selected[i]; }
  A[i * p.n + j] = v;
}

//# kernel column_energy
// c_j = Σ_r B_rj², the penalty's per-channel cost; the selection step is a bottom-λ choice over c.
// One invocation per column.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat_id(gid, nwg);
  if (j >= p.n) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.m; r++) {
    let b = B[r * p.n + j];
    acc += b * b;
  }
  energy[j] = acc;
}

//# kernel zero_columns
// out = B with the selected channels' columns set to 0 (the hard projection of the relaxation).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.n) { return; }
  let j = idx % p.n;
  out[idx] = select(B[idx], 0.0, selected[j] != 0.0);
}

//# kernel gather
// Restrict to the kept channels K (index list) of a source with rows n long: the columns of every
// row, src [rows, n] → out [rows, k], or (SQUARE) rows and columns, Ĥ [n, n] → Ĥ_KK [k, k].
// 2-D grid of tiles: x = output column c, y = output row r.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.y;
  let c = gid.x;
  if (r >= p.rows || c >= p.k) { return; }
  var srcRow = r;
  if (SQUARE) { srcRow = kept[r]; }
  gathered[r * p.k + c] = src[srcRow * p.n + kept[c]];
}
