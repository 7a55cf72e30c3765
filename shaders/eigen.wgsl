// Symmetric eigendecomposition A = Q Λ Qᵀ by the parallel cyclic (two-sided) Jacobi method.
//
// Layout. The matrix is padded to N×N, N = n rounded up to a multiple of 4, with zero rows and
// columns (their a_pq are exactly 0, so they never rotate and stay decoupled). Index slots are
// paired as (2k, 2k+1), k < m = N/2. After every round the slots move by the fixed round-robin
// ("chess tournament", circle method) permutation `slot_next`: slot 0 stays, the others travel the
// cycle 1 → 2 → 4 → … → N−2 → N−1 → N−3 → … → 3 → 1. Over the N−1 rounds of a sweep every pair of
// indices meets exactly once, and after a sweep every index is back in its own slot. Moving the
// data instead of looking pairs up keeps each round's reads contiguous (a pair is two adjacent rows,
// and a quad of columns is two adjacent pairs), and every slot moves by only ±2 so the scattered
// writes stay near each other.
//
// We keep Qᵀ (rows are eigenvectors) so that rotating two columns of Q is rotating two contiguous
// rows. A and Qᵀ are ping-ponged between two buffers, so no kernel needs a barrier: a round is
//   jacobi_rotations   one invocation per pair: (c, s) from the pair's 2×2 diagonal block;
//   jacobi_rotate      A' = Jᵀ A J for one pair of rows × one quad of columns per invocation,
//                      and Qᵀ' = Jᵀ Qᵀ for one pair of rows × one quad of columns,
// both writing into the next round's slots. Convention (Numerical Recipes): for a pair (p, q)
//   θ = (a_qq − a_pp) / (2 a_pq),  t = sign(θ) / (|θ| + sqrt(θ² + 1)),  c = 1/sqrt(t² + 1),  s = t c,
//   row_p' = c row_p − s row_q,  row_q' = s row_p + c row_q  (the same on columns),
//   a_pp' = a_pp − t a_pq,  a_qq' = a_qq + t a_pq,  a_pq' = 0  (set exactly, the standard accuracy fix).

struct Params {
  N: u32,     // padded side, a multiple of 4
  n: u32,     // true side
  m: u32,     // N / 2 pairs
  quads: u32, // N / 4 column quads
}

@group(0) @binding(0) var<uniform> p: Params;

// A rotation is skipped when |a_pq| ≤ SKIP · sqrt(|a_pp a_qq|); this only guards against exact
// zeros (padding, already diagonal input) and denormal noise, so it is far below the f32 noise
// floor and never holds back convergence.
const SKIP: f32 = 1e-12;

// Where the content of `slot` goes for the next round (see the header).
fn slot_next(s: u32) -> u32 {
  if (s == 0u) { return 0u; }
  if ((s & 1u) == 0u) {
    if (s == p.N - 2u) { return p.N - 1u; }
    return s + 2u;
  }
  if (s == 1u) { return 2u; }
  return s - 2u;
}

// ---------------------------------------------------------------------------- initialisation

@group(0) @binding(1) var<storage, read> initSrc: array<f32>;
@group(0) @binding(2) var<storage, read_write> initA: array<f32>;
@group(0) @binding(3) var<storage, read_write> initQ: array<f32>;

// Padded copy of the input, symmetrised ((A + Aᵀ)/2 costs nothing and makes an f32 gram whose
// halves were accumulated in different orders exactly symmetric), and Qᵀ = I.
@compute @workgroup_size(8, 8, 1)
fn jacobi_init(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let r = gid.y;
  if (r >= p.N || c >= p.N) { return; }
  var a = 0.0;
  if (r < p.n && c < p.n) { a = 0.5 * (initSrc[r * p.n + c] + initSrc[c * p.n + r]); }
  initA[r * p.N + c] = a;
  initQ[r * p.N + c] = select(0.0, 1.0, r == c);
}

// ---------------------------------------------------------------------------- one round

@group(0) @binding(1) var<storage, read> rotA: array<f32>;
@group(0) @binding(2) var<storage, read_write> rotOut: array<vec4<f32>>;

// rotOut[k] = (c, s, t·a_pq, rotated) for the pair in slots (2k, 2k+1).
@compute @workgroup_size(64, 1, 1)
fn jacobi_rotations(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  if (k >= p.m) { return; }
  let i = 2u * k;
  let app = rotA[i * p.N + i];
  let aqq = rotA[(i + 1u) * p.N + i + 1u];
  let apq = rotA[i * p.N + i + 1u];
  var r = vec4<f32>(1.0, 0.0, 0.0, 0.0);
  if (abs(apq) > SKIP * sqrt(abs(app)) * sqrt(abs(aqq))) {
    let theta = (aqq - app) / (2.0 * apq);
    var t: f32;
    if (abs(theta) > 1e15) {
      t = 0.5 / theta; // θ² would overflow; t ≈ 1/(2θ) to full precision there
    } else {
      // sign(0) must be +1 (a 45° rotation), which WGSL's sign() would not give.
      t = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(theta * theta + 1.0));
    }
    let c0 = 1.0 / sqrt(t * t + 1.0);
    let s0 = t * c0;
    // sqrt and division may be a few ulps off on some adapters (Vulkan allows it), and a bias in
    // c² + s² would compound over the ~sweeps·N rotations every eigenvector sees; one Newton step
    // for 1/sqrt(c² + s²) around 1 makes the pair unit to rounding.
    let h = 1.5 - 0.5 * (c0 * c0 + s0 * s0);
    r = vec4<f32>(c0 * h, s0 * h, t * apq, 1.0);
  }
  rotOut[k] = r;
}

@group(0) @binding(1) var<storage, read> roundRot: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> aIn: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> aOut: array<f32>;
@group(0) @binding(4) var<storage, read> qIn: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> qOut: array<vec4<f32>>;

// The rotation of a 4-wide row segment whose columns are the pairs (0,1) and (2,3).
fn rotate_columns(u: vec4<f32>, cv: vec4<f32>, sv: vec4<f32>) -> vec4<f32> {
  return cv * u + sv * vec4<f32>(-u.y, u.x, -u.w, u.z);
}

// gid.y < m: the A block of row pair gid.y × column quad gid.x; m ≤ gid.y < 2m: the Qᵀ block of
// row pair gid.y − m × column quad gid.x. One dispatch does both so a round is two dispatches.
@compute @workgroup_size(8, 8, 1)
fn jacobi_rotate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  if (g >= p.quads || gid.y >= 2u * p.m) { return; }
  if (gid.y >= p.m) {
    let k = gid.y - p.m;
    let r = roundRot[k];
    let x = qIn[(2u * k) * p.quads + g];
    let y = qIn[(2u * k + 1u) * p.quads + g];
    qOut[slot_next(2u * k) * p.quads + g] = r.x * x - r.y * y;
    qOut[slot_next(2u * k + 1u) * p.quads + g] = r.y * x + r.x * y;
    return;
  }
  let k = gid.y;
  let ri = roundRot[k];
  let x = aIn[(2u * k) * p.quads + g];
  let y = aIn[(2u * k + 1u) * p.quads + g];
  // Left: rows p, q of the pair.
  let u = ri.x * x - ri.y * y;
  let v = ri.y * x + ri.x * y;
  // Right: the two column pairs of this quad.
  let r0 = roundRot[2u * g];
  let r1 = roundRot[2u * g + 1u];
  let cv = vec4<f32>(r0.x, r0.x, r1.x, r1.x);
  let sv = vec4<f32>(r0.y, r0.y, r1.y, r1.y);
  var uu = rotate_columns(u, cv, sv);
  var vv = rotate_columns(v, cv, sv);
  if ((k >> 1u) == g && ri.w != 0.0) {
    // The pivot block itself: exact diagonal update and an exact zero.
    if ((k & 1u) == 0u) {
      uu.x = x.x - ri.z; uu.y = 0.0; vv.x = 0.0; vv.y = y.y + ri.z;
    } else {
      uu.z = x.z - ri.z; uu.w = 0.0; vv.z = 0.0; vv.w = y.w + ri.z;
    }
  }
  let rowP = slot_next(2u * k) * p.N;
  let rowQ = slot_next(2u * k + 1u) * p.N;
  let c0 = slot_next(4u * g);
  let c1 = slot_next(4u * g + 1u);
  let c2 = slot_next(4u * g + 2u);
  let c3 = slot_next(4u * g + 3u);
  aOut[rowP + c0] = uu.x; aOut[rowP + c1] = uu.y; aOut[rowP + c2] = uu.z; aOut[rowP + c3] = uu.w;
  aOut[rowQ + c0] = vv.x; aOut[rowQ + c1] = vv.y; aOut[rowQ + c2] = vv.z; aOut[rowQ + c3] = vv.w;
}

// ---------------------------------------------------------------------------- convergence

@group(0) @binding(1) var<storage, read> normA: array<f32>;
@group(0) @binding(2) var<storage, read_write> normOut: array<f32>;

var<workgroup> partial: array<vec2<f32>, 256>;

// normOut = (Σ_{i≠j} a_ij², Σ a_ij²) in one workgroup: it runs once per sweep, so its barriers
// cost nothing next to the sweep's 2(N−1) dispatches.
@compute @workgroup_size(256, 1, 1)
fn jacobi_off_norm(@builtin(local_invocation_index) l: u32) {
  var acc = vec2<f32>(0.0);
  for (var r = 0u; r < p.N; r++) {
    for (var c = l; c < p.N; c += 256u) {
      let a = normA[r * p.N + c];
      acc += vec2<f32>(select(a * a, 0.0, r == c), a * a);
    }
  }
  partial[l] = acc;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (l < w) { partial[l] += partial[l + w]; }
    workgroupBarrier();
  }
  if (l == 0u) {
    normOut[0] = partial[0].x;
    normOut[1] = partial[0].y;
  }
}

// ---------------------------------------------------------------------------- output

@group(0) @binding(1) var<storage, read> rankA: array<f32>;
@group(0) @binding(2) var<storage, read_write> rankOut: array<u32>;

// Position of eigenvalue j in ascending order (ties by index), so the output is sorted.
@compute @workgroup_size(64, 1, 1)
fn jacobi_rank(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= p.n) { return; }
  let lj = rankA[j * p.N + j];
  var rank = 0u;
  for (var k = 0u; k < p.n; k++) {
    let lk = rankA[k * p.N + k];
    if (lk < lj || (lk == lj && k < j)) { rank++; }
  }
  rankOut[j] = rank;
}

@group(0) @binding(1) var<storage, read> outA: array<f32>;
@group(0) @binding(2) var<storage, read> outQt: array<f32>;
@group(0) @binding(3) var<storage, read> outRank: array<u32>;
@group(0) @binding(4) var<storage, read_write> outQ: array<f32>;
@group(0) @binding(5) var<storage, read_write> outLambda: array<f32>;

// Q[i, rank_j] = Qᵀ[j, i] and λ[rank_j] = A[j, j], dropping the padding.
@compute @workgroup_size(8, 8, 1)
fn jacobi_extract(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let j = gid.y;
  if (i >= p.n || j >= p.n) { return; }
  let r = outRank[j];
  outQ[i * p.n + r] = outQt[j * p.N + i];
  if (i == 0u) { outLambda[r] = outA[j * p.N + j]; }
}
