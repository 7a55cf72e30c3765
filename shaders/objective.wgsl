// Layer-problem arithmetic shared by every solver, all in the row-major [m, n] layout of W
// (rows = outputs, columns = inputs):
//  * the objective f(X) = Σ (X − X0) ∘ ((X − X0) G) − λ Σ (X − X0)² / d², given XG = X·G and
//    Y = X0·G, so that a damped, scaled gram Ĝ still yields the undamped objective (λ = 0, d = 1
//    for an unscaled problem);
//  * per-row partial sums and their reduction to a few scalars, which are all that is read back;
//  * Wanda's score |W_ij| · sqrt(G_jj).
// One invocation per row, no barriers: rows are independent and SwiftShader pays dearly for
// barriers; on real GPUs m is in the thousands, which fills the device well enough for O(m·n) work.

struct Params {
  m: u32,
  n: u32,
  slot: u32,     // which partial-sum slot this kernel writes
  slots: u32,    // number of slots (reduction width)
  lambda: f32,   // damping added to the gram's diagonal before scaling
  _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---------------------------------------------------------------- objective_rows
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> XG: array<f32>;
@group(0) @binding(3) var<storage, read> X0: array<f32>;
@group(0) @binding(4) var<storage, read> Y: array<f32>;
@group(0) @binding(5) var<storage, read> d: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(64)
fn objective_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
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

// ---------------------------------------------------------------- sum_slots
// stats[q] = Σ_rows partials[q·m + row] for every slot q (max instead of Σ for q == p.slot);
// stats[slots] = f32(counter[0]). These few floats are the only per-iteration readback.
@group(0) @binding(1) var<storage, read> slotPartials: array<f32>;
@group(0) @binding(2) var<storage, read> counter: array<u32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(64)
fn sum_slots(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x;
  if (q > p.slots) { return; }
  if (q == p.slots) {
    stats[q] = f32(counter[0]);
    return;
  }
  var acc = 0.0;
  if (q == p.slot) {
    for (var r = 0u; r < p.m; r++) { acc = max(acc, slotPartials[q * p.m + r]); }
  } else {
    for (var r = 0u; r < p.m; r++) { acc += slotPartials[q * p.m + r]; }
  }
  stats[q] = acc;
}

// ---------------------------------------------------------------- wanda_scores
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> gram: array<f32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(64)
fn wanda_scores(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * 65535u * 64u;
  if (idx >= p.m * p.n) { return; }
  let j = idx % p.n;
  scores[idx] = abs(W[idx]) * sqrt(max(gram[j * p.n + j], 0.0));
}
