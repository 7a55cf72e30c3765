// A layer's numerical health: the extreme eigenvalues of the damped, scaled gram
// Ĝ = D⁻¹(G + λI)D⁻¹ (docs/algorithms.md, ALPS preparation), estimated from matrix–vector
// products only:
//  * λ_max: power iteration, y = Ĝx, x ← y/‖y‖;
//  * λ_min: inverse iteration through the upper factor U with UᵀU = Ĝ⁻¹ (src/kernels/cholesky.ts):
//    y = Uᵀ(Ux) = Ĝ⁻¹x, whose Rayleigh quotient tends to 1/λ_min;
//  * or, for methods that never factor Ĝ (magnitude, Wanda: a factorisation would cost more than
//    their solve), shifted power iteration on σI − Ĝ with σ = the λ_max estimate: its Rayleigh
//    quotient tends to σ − λ_min (coarser: f32 resolves λ_min only to ~1e-7·σ, and few steps
//    converge slowly to a clustered bottom).
// For SPD A and unit x the Rayleigh quotient xᵀAx never exceeds λ_max(A), so both estimates err
// inwards and λ_max/λ_min is a lower bound of κ(Ĝ).
// All steps run in ONE workgroup of one dispatch (barriers between the phases): the products are
// O(n²) each and few, so a dispatch per product (≈ 120 of them) cost more than the arithmetic.

//# kernel power_iteration
// x (unit norm on entry) is iterated `steps` times; stats[slot + k] = xᵀy of step k. ‖y‖ is summed
// over y/max|y|, so y up to f32's range never overflows its square; y = 0 keeps x. Rows are strided
// over the workgroup, so any n fits. `product` (y = A·x, or y = Uᵀ(U x) with A = U) comes from one of
// the two sections after this one, by the kernel's `inverse` flag.
var<workgroup> red: array<f32, WG_X>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var width = WG_X / 2u; width > 0u; width >>= 1u) {
    if (lid < width) { red[lid] += red[lid + width]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

fn reduce_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var width = WG_X / 2u; width > 0u; width >>= 1u) {
    if (lid < width) { red[lid] = max(red[lid], red[lid + width]); }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = p.n;
  for (var k = 0u; k < p.steps; k++) {
    product(lid, n);
    storageBarrier();
    workgroupBarrier();
    var dot = 0.0;
    var top = 0.0;
    for (var i = lid; i < n; i += WG_X) {
      dot += x[i] * y[i];
      top = max(top, abs(y[i]));
    }
    let quotient = reduce_sum(lid, dot);
    let largest = reduce_max(lid, top);
    var q = 0.0;
    if (largest > 0.0) {
      for (var i = lid; i < n; i += WG_X) {
        let v = y[i] / largest;
        q += v * v;
      }
    }
    let norm = largest * sqrt(reduce_sum(lid, q));
    if (lid == 0u) { stats[p.slot + k] = quotient; }
    if (largest > 0.0) {
      for (var i = lid; i < n; i += WG_X) { x[i] = y[i] / norm; }
    }
    storageBarrier();
    workgroupBarrier();
  }
}

//# kernel direct_product
// y = A·x.
fn product(lid: u32, n: u32) {
  for (var i = lid; i < n; i += WG_X) {
    var s = 0.0;
    for (var j = 0u; j < n; j++) { s += A[i * n + j] * x[j]; }
    y[i] = s;
  }
}

//# kernel shifted_product
// y = σx − A·x with σ = stats[p.shift_slot], the λ_max estimate of an earlier run into the same stats.
fn product(lid: u32, n: u32) {
  let sigma = stats[p.shift_slot];
  for (var i = lid; i < n; i += WG_X) {
    var s = 0.0;
    for (var j = 0u; j < n; j++) { s += A[i * n + j] * x[j]; }
    y[i] = sigma * x[i] - s;
  }
}

//# kernel inverse_product
// y = Uᵀ(U x) = Ĝ⁻¹x for the upper U in A, through the scratch t = U x.
fn product(lid: u32, n: u32) {
  for (var i = lid; i < n; i += WG_X) {
    var s = 0.0;
    for (var j = i; j < n; j++) { s += A[i * n + j] * x[j]; }
    t[i] = s;
  }
  storageBarrier();
  workgroupBarrier();
  for (var i = lid; i < n; i += WG_X) {
    var s = 0.0;
    for (var j = 0u; j <= i; j++) { s += A[j * n + i] * t[j]; }
    y[i] = s;
  }
}
