// Symmetric eigendecomposition A = Q Λ Qᵀ by the parallel cyclic (two-sided) Jacobi method, in two
// variants that share the layout, the convergence test and the output kernels:
//
//  * block (kernels block_solve, block_left, block_right), the default: a round pairs blocks of 8
//    indices; one invocation per pair does a cyclic Jacobi sweep on its 16×16 subproblem in private
//    memory, and A ← Vᵀ A V, Qᵀ ← Vᵀ Qᵀ are applied as register-tiled products in which every
//    loaded quad feeds 16 outputs. N/8 − 1 rounds of three dispatches per sweep.
//  * scalar (kernels rotations, rotate): a round is N/2 disjoint 2×2 rotations in two
//    dispatches, N−1 rounds per sweep. Every round reads and writes all of A and Qᵀ for ~9 flops
//    per entry, so it is bound by memory and by dispatch count; kept as the textbook variant.
//
// Layout. The matrix is padded to N×N with zero rows and columns (their couplings are exactly 0,
// so they never rotate and stay decoupled; padding indices stay in the trailing slots). "Units"
// (single indices for the scalar variant, blocks of 8 for the block variant) are paired as
// (2k, 2k+1). After every round the units move by the fixed round-robin ("chess tournament",
// circle method) permutation `unit_next`: unit 0 stays, the others travel the cycle
// 1 → 2 → 4 → … → U−2 → U−1 → U−3 → … → 3 → 1. Over the U−1 rounds of a sweep every pair of units
// meets exactly once, and after a sweep every unit is back in its own slot. Moving the data
// instead of looking pairs up keeps each round's reads contiguous, and a unit moves by only ±2.
//
// We keep Qᵀ (rows are eigenvectors) so that rotating columns of Q is rotating contiguous rows of
// Qᵀ. A and Qᵀ are ping-ponged between two buffers, so no kernel needs a barrier.
//
// Uniforms, where a kernel has them: N the padded side, n the true side, pairs the unit pairs per
// round (N/2 scalar, N/16 block), quads = N/4. BLOCK (indices per unit of the block variant) and
// SUB = 2·BLOCK (the side of a pair's subproblem) come from src/kernels/eigen.ts.
//
// Rotation convention (Numerical Recipes): for a pair (p, q)
//   θ = (a_qq − a_pp) / (2 a_pq),  t = sign(θ) / (|θ| + sqrt(θ² + 1)),  c = 1/sqrt(t² + 1),  s = t c,
//   row_p' = c row_p − s row_q,  row_q' = s row_p + c row_q  (the same on columns),
//   a_pp' = a_pp − t a_pq,  a_qq' = a_qq + t a_pq,  a_pq' = 0  (set exactly, the standard accuracy fix).

// A rotation is skipped when |a_pq| ≤ SKIP · sqrt(|a_pp a_qq|). This only guards against exact
// zeros (padding, an already diagonal input) and denormal noise, so it is far below the f32 noise
// floor and never holds back convergence.
const SKIP: f32 = 1e-12;

// Where the content of unit slot `s` goes for the next round, among `count` units (see the header).
fn unit_next(s: u32, count: u32) -> u32 {
  if (s == 0u || count == 2u) { return s; }
  if ((s & 1u) == 0u) {
    if (s == count - 2u) { return count - 1u; }
    return s + 2u;
  }
  if (s == 1u) { return 2u; }
  return s - 2u;
}

// (c, s, t) of the rotation that zeroes a_pq, or (1, 0, 0) when it is skipped.
fn rotation(app: f32, aqq: f32, apq: f32) -> vec3<f32> {
  if (!(abs(apq) > SKIP * sqrt(abs(app)) * sqrt(abs(aqq)))) { return vec3<f32>(1.0, 0.0, 0.0); }
  let theta = (aqq - app) / (2.0 * apq);
  var t: f32;
  if (abs(theta) > 1e15) {
    t = 0.5 / theta; // θ² would overflow; t ≈ 1/(2θ) to full precision there
  } else {
    // sign(0) must be +1 (a 45° rotation), which WGSL's sign() would not give.
    t = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(theta * theta + 1.0));
  }
  let c = 1.0 / sqrt(t * t + 1.0);
  return vec3<f32>(c, t * c, t);
}

// Row index i after the round's block permutation (N/BLOCK units of BLOCK indices).
fn block_row_next(i: u32, N: u32) -> u32 {
  return unit_next(i / BLOCK, N / BLOCK) * BLOCK + i % BLOCK;
}

// ---------------------------------------------------------------------------- initialisation

//# kernel init
// Padded copy of the input, symmetrised ((A + Aᵀ)/2 costs nothing and makes an f32 gram whose
// halves were accumulated in different orders exactly symmetric), and Qᵀ = I.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let r = gid.y;
  if (r >= p.N || c >= p.N) { return; }
  var a = 0.0;
  if (r < p.n && c < p.n) { a = 0.5 * (original[r * p.n + c] + original[c * p.n + r]); }
  A[r * p.N + c] = a;
  Qt[r * p.N + c] = select(0.0, 1.0, r == c);
}

// ---------------------------------------------------------------------------- scalar rounds

//# kernel rotations
// rotations[k] = (c, s, t·a_pq, rotated) for the pair of indices (2k, 2k+1).
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = flat_id(gid, nwg);
  if (k >= p.pairs) { return; }
  let i = 2u * k;
  let apq = A[i * p.N + i + 1u];
  let r = rotation(A[i * p.N + i], A[(i + 1u) * p.N + i + 1u], apq);
  rotations[k] = vec4<f32>(r.x, r.y, r.z * apq, select(0.0, 1.0, r.y != 0.0));
}

//# kernel rotate
// The rotation of a 4-wide row segment whose columns are the pairs (0,1) and (2,3).
fn rotate_columns(u: vec4<f32>, cv: vec4<f32>, sv: vec4<f32>) -> vec4<f32> {
  return cv * u + sv * vec4<f32>(-u.y, u.x, -u.w, u.z);
}

// gid.y < pairs: the A block of row pair gid.y × column quad gid.x; pairs ≤ gid.y < 2·pairs: the
// Qᵀ block of row pair gid.y − pairs × column quad gid.x. One dispatch does both.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  if (g >= p.quads || gid.y >= 2u * p.pairs) { return; }
  if (gid.y >= p.pairs) {
    let k = gid.y - p.pairs;
    let r = rotations[k];
    let x = Qt[(2u * k) * p.quads + g];
    let y = Qt[(2u * k + 1u) * p.quads + g];
    QtNext[unit_next(2u * k, p.N) * p.quads + g] = r.x * x - r.y * y;
    QtNext[unit_next(2u * k + 1u, p.N) * p.quads + g] = r.y * x + r.x * y;
    return;
  }
  let k = gid.y;
  let ri = rotations[k];
  let x = A[(2u * k) * p.quads + g];
  let y = A[(2u * k + 1u) * p.quads + g];
  // Left: rows p, q of the pair.
  let u = ri.x * x - ri.y * y;
  let v = ri.y * x + ri.x * y;
  // Right: the two column pairs of this quad.
  let r0 = rotations[2u * g];
  let r1 = rotations[2u * g + 1u];
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
  let rowP = unit_next(2u * k, p.N) * p.N;
  let rowQ = unit_next(2u * k + 1u, p.N) * p.N;
  let c0 = unit_next(4u * g, p.N);
  let c1 = unit_next(4u * g + 1u, p.N);
  let c2 = unit_next(4u * g + 2u, p.N);
  let c3 = unit_next(4u * g + 3u, p.N);
  ANext[rowP + c0] = uu.x; ANext[rowP + c1] = uu.y; ANext[rowP + c2] = uu.z; ANext[rowP + c3] = uu.w;
  ANext[rowQ + c0] = vv.x; ANext[rowQ + c1] = vv.y; ANext[rowQ + c2] = vv.z; ANext[rowQ + c3] = vv.w;
}

// ---------------------------------------------------------------------------- block rounds

//# kernel block_solve
// One cyclic Jacobi sweep over the 16×16 subproblem S of block pair k (rows and columns
// 16k … 16k+15), one invocation per pair, in private memory (barrier-free). One sweep is enough:
// diagonalising S fully (up to 12 sweeps) did not reduce the number of outer sweeps (n = 256:
// 9 either way), since the pairing of blocks, not the subproblems, limits the convergence.
// Writes V (row-major 16×16, orthonormal columns): the round applies A ← Vᵀ A V.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = flat_id(gid, nwg);
  if (k >= p.pairs) { return; }
  let base = k * SUB;
  var S: array<f32, 256>;
  var Vk: array<f32, 256>;
  var total = 0.0;
  var off = 0.0;
  for (var i = 0u; i < SUB; i++) {
    for (var j = 0u; j < SUB; j++) {
      let a = A[(base + i) * p.N + base + j];
      S[i * SUB + j] = a;
      Vk[i * SUB + j] = select(0.0, 1.0, i == j);
      total += a * a;
      if (i != j) { off += a * a; }
    }
  }
  // Already diagonal to 1e-7 (below what the f32 products of the round resolve): V = I.
  if (off > 1e-14 * total) {
    for (var a = 0u; a < SUB - 1u; a++) {
      for (var b = a + 1u; b < SUB; b++) {
        let app = S[a * SUB + a];
        let aqq = S[b * SUB + b];
        let apq = S[a * SUB + b];
        let r = rotation(app, aqq, apq);
        if (r.y == 0.0) { continue; }
        let c = r.x;
        let s = r.y;
        // S is symmetric: rotate columns a, b and mirror them into rows a, b.
        for (var i = 0u; i < SUB; i++) {
          if (i == a || i == b) { continue; }
          let sia = S[i * SUB + a];
          let sib = S[i * SUB + b];
          let na = c * sia - s * sib;
          let nb = s * sia + c * sib;
          S[i * SUB + a] = na; S[a * SUB + i] = na;
          S[i * SUB + b] = nb; S[b * SUB + i] = nb;
        }
        S[a * SUB + a] = app - r.z * apq;
        S[b * SUB + b] = aqq + r.z * apq;
        S[a * SUB + b] = 0.0;
        S[b * SUB + a] = 0.0;
        for (var i = 0u; i < SUB; i++) {
          let via = Vk[i * SUB + a];
          let vib = Vk[i * SUB + b];
          Vk[i * SUB + a] = c * via - s * vib;
          Vk[i * SUB + b] = s * via + c * vib;
        }
      }
    }
    // Re-orthonormalise V's columns (modified Gram–Schmidt). A product of f32 rotations drifts
    // from orthogonal by ~1e-7 per rotation (c² + s² ≠ 1 in f32), and an eigenvector passes through
    // the V's of sweeps·(N/8 − 1) rounds; one pass brings V to rounding level.
    for (var j = 0u; j < SUB; j++) {
      for (var l = 0u; l < j; l++) {
        var dot = 0.0;
        for (var i = 0u; i < SUB; i++) { dot += Vk[i * SUB + j] * Vk[i * SUB + l]; }
        for (var i = 0u; i < SUB; i++) { Vk[i * SUB + j] -= dot * Vk[i * SUB + l]; }
      }
      var norm2 = 0.0;
      for (var i = 0u; i < SUB; i++) { norm2 += Vk[i * SUB + j] * Vk[i * SUB + j]; }
      let inv = 1.0 / sqrt(norm2);
      for (var i = 0u; i < SUB; i++) { Vk[i * SUB + j] *= inv; }
    }
  }
  for (var i = 0u; i < SUB * SUB; i++) { V[k * SUB * SUB + i] = Vk[i]; }
}

//# kernel block_left
// Rows of block pair k = gid.y ← V_kᵀ · (those rows), for column quad gid.x: all 16 rows per
// invocation, so each loaded quad of the input feeds 16 output quads. gid.z = 0: A into T, rows in
// place (the column pass moves them); gid.z = 1: Qᵀ into the next round's Qᵀ, rows moved.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  let k = gid.y;
  if (g >= p.quads || k >= p.pairs) { return; }
  // A' is symmetric, so block_right only forms its upper block triangle and mirrors it: it reads
  // T only at column pairs ≥ k.
  if (gid.z == 0u && g < k * (SUB / 4u)) { return; }
  let vBase = k * SUB * (SUB / 4u);  // V_k[l][4i … 4i+3] is V[vBase + l·SUB/4 + i]
  let xBase = k * SUB * p.quads + g; // X[16k + l][4g …] is at xBase + l·quads
  // Sixteen named accumulators: a private array indexed in a loop would live in memory.
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
  var a8 = vec4<f32>(0.0); var a9 = vec4<f32>(0.0); var a10 = vec4<f32>(0.0); var a11 = vec4<f32>(0.0);
  var a12 = vec4<f32>(0.0); var a13 = vec4<f32>(0.0); var a14 = vec4<f32>(0.0); var a15 = vec4<f32>(0.0);
  for (var l = 0u; l < SUB; l++) {
    var x: vec4<f32>;
    if (gid.z == 0u) { x = A[xBase + l * p.quads]; } else { x = Qt[xBase + l * p.quads]; }
    let vRow = vBase + l * (SUB / 4u);
    let v0 = V[vRow];
    let v1 = V[vRow + 1u];
    let v2 = V[vRow + 2u];
    let v3 = V[vRow + 3u];
    a0 += v0.x * x; a1 += v0.y * x; a2 += v0.z * x; a3 += v0.w * x;
    a4 += v1.x * x; a5 += v1.y * x; a6 += v1.z * x; a7 += v1.w * x;
    a8 += v2.x * x; a9 += v2.y * x; a10 += v2.z * x; a11 += v2.w * x;
    a12 += v3.x * x; a13 += v3.y * x; a14 += v3.z * x; a15 += v3.w * x;
  }
  let acc = array<vec4<f32>, 16>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
  if (gid.z == 0u) {
    for (var r = 0u; r < SUB; r++) { T[(k * SUB + r) * p.quads + g] = acc[r]; }
  } else {
    for (var r = 0u; r < SUB; r++) { QtNext[block_row_next(k * SUB + r, p.N) * p.quads + g] = acc[r]; }
  }
}

//# kernel block_right
// Columns of block pair k = gid.x ← (those columns) · V_k, for rows 4·gid.y … +3: a 4×16 tile per
// invocation (each loaded quad of T feeds 16 output quads), written with rows and columns moved
// to their next slots. A' is symmetric, so only tiles in the upper block triangle (column pair ≥
// row pair) are formed, and each is also written transposed. Quads never straddle a block, so a
// moved quad (of columns, or of rows for the transposed tile) is still contiguous.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  let row0 = gid.y * 4u;
  if (k >= p.pairs || row0 >= p.N) { return; }
  let rowPair = row0 / SUB;
  if (k < rowPair) { return; }
  let vBase = k * SUB * (SUB / 4u);            // V_k[l][4i …] is V[vBase + l·SUB/4 + i]
  let tBase = row0 * p.quads + k * (SUB / 4u); // T[row0 + r][16k + 4j …] at tBase + r·quads + j
  // Named accumulators: c<r><i> is row row0 + r, column quad i of the pair.
  var c00 = vec4<f32>(0.0); var c01 = vec4<f32>(0.0); var c02 = vec4<f32>(0.0); var c03 = vec4<f32>(0.0);
  var c10 = vec4<f32>(0.0); var c11 = vec4<f32>(0.0); var c12 = vec4<f32>(0.0); var c13 = vec4<f32>(0.0);
  var c20 = vec4<f32>(0.0); var c21 = vec4<f32>(0.0); var c22 = vec4<f32>(0.0); var c23 = vec4<f32>(0.0);
  var c30 = vec4<f32>(0.0); var c31 = vec4<f32>(0.0); var c32 = vec4<f32>(0.0); var c33 = vec4<f32>(0.0);
  for (var j = 0u; j < SUB / 4u; j++) {
    let t0 = T[tBase + j];
    let t1 = T[tBase + p.quads + j];
    let t2 = T[tBase + 2u * p.quads + j];
    let t3 = T[tBase + 3u * p.quads + j];
    let w0 = vBase + (4u * j + 0u) * (SUB / 4u);
    let v00 = V[w0]; let v01 = V[w0 + 1u]; let v02 = V[w0 + 2u]; let v03 = V[w0 + 3u];
    let w1 = vBase + (4u * j + 1u) * (SUB / 4u);
    let v10 = V[w1]; let v11 = V[w1 + 1u]; let v12 = V[w1 + 2u]; let v13 = V[w1 + 3u];
    let w2 = vBase + (4u * j + 2u) * (SUB / 4u);
    let v20 = V[w2]; let v21 = V[w2 + 1u]; let v22 = V[w2 + 2u]; let v23 = V[w2 + 3u];
    let w3 = vBase + (4u * j + 3u) * (SUB / 4u);
    let v30 = V[w3]; let v31 = V[w3 + 1u]; let v32 = V[w3 + 2u]; let v33 = V[w3 + 3u];
    c00 += t0.x * v00; c01 += t0.x * v01; c02 += t0.x * v02; c03 += t0.x * v03;
    c10 += t1.x * v00; c11 += t1.x * v01; c12 += t1.x * v02; c13 += t1.x * v03;
    c20 += t2.x * v00; c21 += t2.x * v01; c22 += t2.x * v02; c23 += t2.x * v03;
    c30 += t3.x * v00; c31 += t3.x * v01; c32 += t3.x * v02; c33 += t3.x * v03;
    c00 += t0.y * v10; c01 += t0.y * v11; c02 += t0.y * v12; c03 += t0.y * v13;
    c10 += t1.y * v10; c11 += t1.y * v11; c12 += t1.y * v12; c13 += t1.y * v13;
    c20 += t2.y * v10; c21 += t2.y * v11; c22 += t2.y * v12; c23 += t2.y * v13;
    c30 += t3.y * v10; c31 += t3.y * v11; c32 += t3.y * v12; c33 += t3.y * v13;
    c00 += t0.z * v20; c01 += t0.z * v21; c02 += t0.z * v22; c03 += t0.z * v23;
    c10 += t1.z * v20; c11 += t1.z * v21; c12 += t1.z * v22; c13 += t1.z * v23;
    c20 += t2.z * v20; c21 += t2.z * v21; c22 += t2.z * v22; c23 += t2.z * v23;
    c30 += t3.z * v20; c31 += t3.z * v21; c32 += t3.z * v22; c33 += t3.z * v23;
    c00 += t0.w * v30; c01 += t0.w * v31; c02 += t0.w * v32; c03 += t0.w * v33;
    c10 += t1.w * v30; c11 += t1.w * v31; c12 += t1.w * v32; c13 += t1.w * v33;
    c20 += t2.w * v30; c21 += t2.w * v31; c22 += t2.w * v32; c23 += t2.w * v33;
    c30 += t3.w * v30; c31 += t3.w * v31; c32 += t3.w * v32; c33 += t3.w * v33;
  }
  let acc = array<vec4<f32>, 16>(c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
  let col0 = k * SUB;
  for (var r = 0u; r < 4u; r++) {
    let row = block_row_next(row0 + r, p.N) * p.quads;
    for (var i = 0u; i < 4u; i++) { A[row + block_row_next(col0 + 4u * i, p.N) / 4u] = acc[4u * r + i]; }
  }
  if (k != rowPair) {
    let rNext = block_row_next(row0, p.N) / 4u;
    for (var i = 0u; i < 4u; i++) {
      let a0 = acc[i]; let a1 = acc[4u + i]; let a2 = acc[8u + i]; let a3 = acc[12u + i];
      let col = col0 + 4u * i;
      A[block_row_next(col, p.N) * p.quads + rNext] = vec4<f32>(a0.x, a1.x, a2.x, a3.x);
      A[block_row_next(col + 1u, p.N) * p.quads + rNext] = vec4<f32>(a0.y, a1.y, a2.y, a3.y);
      A[block_row_next(col + 2u, p.N) * p.quads + rNext] = vec4<f32>(a0.z, a1.z, a2.z, a3.z);
      A[block_row_next(col + 3u, p.N) * p.quads + rNext] = vec4<f32>(a0.w, a1.w, a2.w, a3.w);
    }
  }
}

// ---------------------------------------------------------------------------- convergence

//# kernel off_norm
var<workgroup> partial: array<vec2<f32>, WG_X>;

// norms = (Σ_{i≠j} a_ij², Σ a_ij²) in one workgroup: it runs once per sweep, so its barriers
// cost nothing next to the sweep's dispatches.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(local_invocation_index) l: u32) {
  var acc = vec2<f32>(0.0);
  for (var r = 0u; r < p.N; r++) {
    for (var c = l; c < p.N; c += WG_X) {
      let a = A[r * p.N + c];
      acc += vec2<f32>(select(a * a, 0.0, r == c), a * a);
    }
  }
  partial[l] = acc;
  workgroupBarrier();
  for (var w = WG_X / 2u; w > 0u; w >>= 1u) {
    if (l < w) { partial[l] += partial[l + w]; }
    workgroupBarrier();
  }
  if (l == 0u) {
    norms[0] = partial[0].x;
    norms[1] = partial[0].y;
  }
}

// ---------------------------------------------------------------------------- output

//# kernel vectors
// Q[i, j] = Qᵀ[j, i] / ‖Qᵀ[j, :n]‖, dropping the padding. The rotations are orthogonal only to
// f32 rounding, and renormalising the eigenvectors removes their norm drift, which is most of the
// loss of orthogonality. One invocation per eigenvector j; i runs along its contiguous row.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat_id(gid, nwg);
  if (j >= p.n) { return; }
  var norm2 = 0.0;
  for (var i = 0u; i < p.n; i++) { norm2 += Qt[j * p.N + i] * Qt[j * p.N + i]; }
  let inv = 1.0 / sqrt(norm2);
  for (var i = 0u; i < p.n; i++) { Q[i * p.n + j] = Qt[j * p.N + i] * inv; }
}

//# kernel rayleigh
// λ_j = q_jᵀ A q_j from the original A (AQ is one product): the Rayleigh quotient's error is
// quadratic in the eigenvector's, so it is more accurate than the rotated diagonal, which carries
// the rounding of every round.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat_id(gid, nwg);
  if (j >= p.n) { return; }
  var sum = 0.0;
  for (var i = 0u; i < p.n; i++) { sum += Q[i * p.n + j] * AQ[i * p.n + j]; }
  lambda[j] = sum;
}

//# kernel sort
// Ascending order: eigenpair j goes to its rank among the eigenvalues (ties by index). One
// invocation per eigenpair: O(n) to rank, then its column moves.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = flat_id(gid, nwg);
  if (j >= p.n) { return; }
  let lj = lambda[j];
  var rank = 0u;
  for (var k = 0u; k < p.n; k++) {
    let lk = lambda[k];
    if (lk < lj || (lk == lj && k < j)) { rank++; }
  }
  sortedLambda[rank] = lj;
  for (var i = 0u; i < p.n; i++) { sortedQ[i * p.n + rank] = Q[i * p.n + j]; }
}
