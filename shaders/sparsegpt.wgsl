// SparseGPT's column sweep and its small helpers. W is m×n row-major (one output row per row),
// U is the n×n upper Cholesky factor of the damped inverse gram (shaders/cholesky.wgsl).
//
// Inside a block of columns [b0, b1) every row is independent: each column's error e_r depends
// only on row r, and the update W[r, i:b1] −= e_r·U[i, i:b1] only touches row r. So `sweep`
// runs one invocation per row looping over the block's columns, with no barriers and no
// synchronisation, holding its row's block (at most MAX_BLOCK columns) in private memory; the
// block's errors E (m × bs) are then applied to the columns after the block by one matrix
// product (the lazy update, src/kernels/matmul.ts). Which columns a row keeps is the variant's
// `kept(r, c)` (src/kernels/sparsegpt.ts): a given mask, an N:M choice made during the sweep
// (kept_in_group below), or none.
// All grids are 1-D, folded into x·y by the runtime (flat_id).

//# kernel zero_dead
// Dead inputs (G_jj = 0, the feature never fired): their weights cannot matter, zero them.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.n) { return; }
  let j = idx % p.n;
  if (G[j * p.n + j] == 0.0) { W[idx] = 0.0; }
}

//# kernel fix_dead
// …and give them a unit diagonal so the gram stays invertible (after zero_dead has read it).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat_id(gid, nwg);
  if (j >= p.n) { return; }
  if (G[j * p.n + j] == 0.0) { G[j * p.n + j] = 1.0; }
}

//# kernel scores
// S[r, c] = W[r, b0 + c]² / U[b0 + c, b0 + c]², the block's pruning scores (contiguous m × bs).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let bs = p.b1 - p.b0;
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * bs) { return; }
  let r = idx / bs;
  let col = p.b0 + idx % bs;
  let w = W[r * p.n + col];
  let d = U[col * p.n + col];
  S[idx] = (w * w) / (d * d);
}

//# kernel sweep
// The block's part of this invocation's row, kept in private memory during the sweep (MAX_BLOCK
// and MAX_M, the longest N:M group, come from src/kernels/sparsegpt.ts).
var<private> block: array<f32, MAX_BLOCK>;

// Quantise block column c of row r to q (kept: w, pruned: 0), record e = (w − q)/U_ii and push
// the error into the rest of the block. Column c itself becomes w − e·U_ii = q exactly.
fn sweep_column(r: u32, c: u32, keep: bool) {
  let n = p.n;
  let bs = p.b1 - p.b0;
  let i = p.b0 + c;
  let x = block[c];
  let q = select(0.0, x, keep);
  let e = (x - q) / U[i * n + i];
  block[c] = q;
  E[r * bs + c] = e;
  if (e != 0.0) {
    let urow = i * n + p.b0;
    for (var t = c + 1u; t < bs; t++) {
      block[t] -= e * U[urow + t];
    }
  }
}

// N:M: at the first column of every group choose the group's mask from the current (already
// updated) weights, scored W²/U_jj²: the nmN highest of nmM are kept, ties to the lower index.
// The choice lives in keep_bits until the group's last column.
var<private> keep_bits: u32;
var<private> group_scores: array<f32, MAX_M>;

fn kept_in_group(c: u32) -> bool {
  let bs = p.b1 - p.b0;
  let M = p.nmM;
  let t = c % M;
  if (t == 0u) {
    let len = min(M, bs - c);
    for (var a = 0u; a < len; a++) {
      let x = block[c + a];
      let d = U[(p.b0 + c + a) * (p.n + 1u)];
      group_scores[a] = (x * x) / (d * d);
    }
    keep_bits = 0u;
    for (var a = 0u; a < len; a++) {
      var beaten = 0u;
      for (var b = 0u; b < len; b++) {
        if (group_scores[b] > group_scores[a] || (group_scores[b] == group_scores[a] && b < a)) { beaten++; }
      }
      if (beaten < p.nmN) { keep_bits |= 1u << a; }
    }
  }
  return (keep_bits & (1u << t)) != 0u;
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_id(gid, nwg);
  if (r >= p.m) { return; }
  let bs = p.b1 - p.b0;
  let base = r * p.n + p.b0;
  for (var c = 0u; c < bs; c++) { block[c] = W[base + c]; }
  for (var c = 0u; c < bs; c++) { sweep_column(r, c, kept(r, c)); }
  for (var c = 0u; c < bs; c++) { W[base + c] = block[c]; }
}
