// SparseGPT's column sweep and its small helpers. W is m×n row-major (one output row per row),
// U is the n×n upper Cholesky factor of the damped inverse gram (shaders/cholesky.wgsl).
//
// Inside a block of columns [b0, b1) every row is independent: each column's error e_r depends
// only on row r, and the update W[r, i:b1] −= e_r·U[i, i:b1] only touches row r. So `sweep_*`
// runs one invocation per row looping over the block's columns, with no barriers and no
// synchronisation, holding its row's block (at most MAX_BLOCK columns) in private memory; the
// block's errors E (m × bs) are then applied to the columns after the block by one matrix
// product (the lazy update, src/kernels/matmul.ts).

struct Params {
  m: u32,
  n: u32,
  b0: u32,
  b1: u32,
  // sweep_nm: keep nmN of every nmM consecutive columns.
  nmN: u32,
  nmM: u32,
  // sweep_mask: 1 prunes every entry of the block (the mask is not read).
  pruneAll: u32,
  _pad: u32,
}

override WG: u32 = 64u;
const MAX_M: u32 = 32u;

@group(0) @binding(0) var<uniform> p: Params;

// zero_dead: G, W. fix_dead: G.
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Wd: array<f32>;

// sweep_*: W, U, E (m × bs errors), mask (m × bs, sweep_mask only). scores: W, U, S.
@group(0) @binding(1) var<storage, read_write> W: array<f32>;
@group(0) @binding(2) var<storage, read> U: array<f32>;
@group(0) @binding(3) var<storage, read_write> E: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;

fn flatIndex(gid: vec3<u32>) -> u32 {
  return gid.x + gid.y * 65535u * WG;
}

// Dead inputs (G_jj = 0, the feature never fired): their weights cannot matter, zero them.
@compute @workgroup_size(WG)
fn zero_dead(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = flatIndex(gid);
  if (idx >= p.m * p.n) { return; }
  let j = idx % p.n;
  if (G[j * p.n + j] == 0.0) { Wd[idx] = 0.0; }
}

// …and give them a unit diagonal so the gram stays invertible (after zero_dead has read it).
@compute @workgroup_size(WG)
fn fix_dead(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = flatIndex(gid);
  if (j >= p.n) { return; }
  if (G[j * p.n + j] == 0.0) { G[j * p.n + j] = 1.0; }
}

// S[r, c] = W[r, b0 + c]² / U[b0 + c, b0 + c]², the block's pruning scores (contiguous m × bs).
@group(0) @binding(3) var<storage, read_write> S: array<f32>;

@compute @workgroup_size(WG)
fn scores(@builtin(global_invocation_id) gid: vec3<u32>) {
  let bs = p.b1 - p.b0;
  let idx = flatIndex(gid);
  if (idx >= p.m * bs) { return; }
  let r = idx / bs;
  let col = p.b0 + idx % bs;
  let w = W[r * p.n + col];
  let d = U[col * p.n + col];
  S[idx] = (w * w) / (d * d);
}

// The block's part of this invocation's row, kept in private memory during the sweep.
const MAX_BLOCK: u32 = 256u;
var<private> block: array<f32, MAX_BLOCK>;

fn loadRow(r: u32) {
  let bs = p.b1 - p.b0;
  let base = r * p.n + p.b0;
  for (var c = 0u; c < bs; c++) { block[c] = W[base + c]; }
}

fn storeRow(r: u32) {
  let bs = p.b1 - p.b0;
  let base = r * p.n + p.b0;
  for (var c = 0u; c < bs; c++) { W[base + c] = block[c]; }
}

// Quantise block column c of row r to q (kept: w, pruned: 0), record e = (w − q)/U_ii and push
// the error into the rest of the block. Column c itself becomes w − e·U_ii = q exactly.
fn sweepColumn(r: u32, c: u32, keep: bool) {
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

@compute @workgroup_size(WG)
fn sweep_mask(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = flatIndex(gid);
  if (r >= p.m) { return; }
  let bs = p.b1 - p.b0;
  loadRow(r);
  for (var c = 0u; c < bs; c++) {
    var keep = false;
    if (p.pruneAll == 0u) { keep = mask[r * bs + c] != 0u; }
    sweepColumn(r, c, keep);
  }
  storeRow(r);
}

// N:M: at the first column of every group choose the group's mask from the current (already
// updated) weights, scored W²/U_jj²: the N highest are kept, ties to the lower index.
@compute @workgroup_size(WG)
fn sweep_nm(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = flatIndex(gid);
  if (r >= p.m) { return; }
  let bs = p.b1 - p.b0;
  let M = p.nmM;
  var keepBits = 0u;
  var s: array<f32, MAX_M>;
  loadRow(r);
  for (var c = 0u; c < bs; c++) {
    let t = c % M;
    if (t == 0u) {
      let len = min(M, bs - c);
      for (var a = 0u; a < len; a++) {
        let x = block[c + a];
        let d = U[(p.b0 + c + a) * (p.n + 1u)];
        s[a] = (x * x) / (d * d);
      }
      keepBits = 0u;
      for (var a = 0u; a < len; a++) {
        var beaten = 0u;
        for (var b = 0u; b < len; b++) {
          if (s[b] > s[a] || (s[b] == s[a] && b < a)) { beaten++; }
        }
        if (beaten < p.nmN) { keepBits |= 1u << a; }
      }
    }
    sweepColumn(r, c, (keepBits & (1u << t)) != 0u);
  }
  storeRow(r);
}
