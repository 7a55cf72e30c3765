// Layer-problem arithmetic shared by every solver, all in the row-major [m, n] layout of W
// (rows = outputs, columns = inputs):
//  * the objective f(X) = Σ (X − X0) ∘ ((X − X0) G) − λ Σ (X − X0)² / d², given XG = X·G and
//    Y = X0·G, so that a damped, scaled gram Ĝ still yields the undamped objective (λ = 0, d = 1
//    for an unscaled problem);
//  * per-row partial sums and their reduction to a few scalars, which are all that is read back;
//  * Wanda's score |W_ij| · sqrt(G_jj).
// One invocation per row, no barriers: rows are independent and SwiftShader pays dearly for
// barriers; on real GPUs m is in the thousands, which fills the device well enough for O(m·n) work.
// Partial sums are laid out as slots of m floats: slot q of row r at partials[q·m + r].

//# kernel objective_rows
// partials[slot·m + row] = Σ_j (X − X0)(XG − Y) − λ Σ_j (X − X0)² / d_j².
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_id(gid, nwg);
  if (row >= p.m) { return; }
  var acc = 0.0;
  var damp = 0.0;
  let base = row * p.n;
  for (var j = 0u; j < p.n; j++) {
    let e = X[base + j] - X0[base + j];
    acc += e * (XG[base + j] - Y[base + j]);
    let dj = d[j];
    damp += e * e / (dj * dj);
  }
  partials[p.slot * p.m + row] = acc - p.lambda * damp;
}

//# kernel sum_slots
// stats[q] = Σ_rows partials[q·m + row] for every slot q < slots (max instead of Σ for
// q == maxSlot); stats[slots] = f32(counter[0]). These few floats are the only per-iteration readback.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x;
  if (q > p.slots) { return; }
  if (q == p.slots) {
    stats[q] = f32(counter[0]);
    return;
  }
  var acc = 0.0;
  if (q == p.maxSlot) {
    for (var r = 0u; r < p.m; r++) { acc = max(acc, partials[q * p.m + r]); }
  } else {
    for (var r = 0u; r < p.m; r++) { acc += partials[q * p.m + r]; }
  }
  stats[q] = acc;
}

//# kernel wanda_scores
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.m * p.n) { return; }
  let j = idx % p.n;
  scores[idx] = abs(W[idx]) * sqrt(max(gram[j * p.n + j], 0.0));
}
