// Matrix products C = alpha * op(A) * op(B) + beta * C over a batch, with offsets and leading
// dimensions so that solvers can multiply sub-blocks in place (SparseGPT's lazy updates, per-head
// attention). op(X) is X or Xᵀ, fixed per variant by the TRANS_A / TRANS_B constants.
//
// Three tilings of the same product, chosen per adapter by the TypeScript wrapper, which also owns
// the tile sizes: a workgroup of WG_X × WG_Y invocations, each holding a BLOCK × BLOCK block of C,
// covers a (WG_Y·BLOCK) × (WG_X·BLOCK) tile, and the grid is derived from that.
//  * register: every invocation owns a 4×4 block of C and streams K with no workgroup memory and
//    no barriers. On CPU rasterisers (SwiftShader) barriers cost more than the redundant loads
//    they save, so this is the fast path there.
//  * register_vec4: the same with vec4 loads (operands contiguous along K in whole vec4s).
//  * shared: 64×64 tiles of C per 16×16 workgroup, A and B staged through workgroup memory in
//    16-deep slices; the usual choice on real GPUs.
//  * subgroup: register tiles for 4-lane subgroups (SwiftShader): the lanes split the loads of op(A)
//    and share them with subgroupBroadcast, so a subgroup loads each value it needs once.

fn indexA(base: u32, i: u32, k: u32) -> u32 {
  if (TRANS_A) { return base + k * p.lda + i; }
  return base + i * p.lda + k;
}

fn indexB(base: u32, k: u32, j: u32) -> u32 {
  if (TRANS_B) { return base + j * p.ldb + k; }
  return base + k * p.ldb + j;
}

// The block of C an invocation computes: its first entry (i0, j0), and where matrix b of the
// batch starts in each operand.
struct Block { i0: u32, j0: u32, a: u32, b: u32, c: u32 }

fn blockAt(i0: u32, j0: u32, b: u32) -> Block {
  return Block(i0, j0, p.offA + b * p.strideA, p.offB + b * p.strideB, p.offC + b * p.strideC);
}

// Out-of-range rows/columns of a register block re-read the last valid one; their results are
// never stored.
fn clampRow(i: u32) -> u32 { return min(i, p.M - 1u); }
fn clampCol(j: u32) -> u32 { return min(j, p.N - 1u); }

// Writes the BLOCK × BLOCK block of C; acc[r][c] is its entry (r, c).
fn storeBlock(blk: Block, acc: array<vec4<f32>, BLOCK>) {
  for (var r = 0u; r < BLOCK; r++) {
    for (var c = 0u; c < BLOCK; c++) {
      let i = blk.i0 + r;
      let j = blk.j0 + c;
      if (i < p.M && j < p.N) {
        let idx = blk.c + i * p.ldc + j;
        if (p.beta == 0.0) {
          C[idx] = p.alpha * acc[r][c];
        } else {
          C[idx] = p.alpha * acc[r][c] + p.beta * C[idx];
        }
      }
    }
  }
}

//# kernel register
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = blockAt(gid.y * BLOCK, gid.x * BLOCK, gid.z);
  if (blk.i0 >= p.M || blk.j0 >= p.N) { return; }
  let r0 = clampRow(blk.i0); let r1 = clampRow(blk.i0 + 1u); let r2 = clampRow(blk.i0 + 2u); let r3 = clampRow(blk.i0 + 3u);
  let c0 = clampCol(blk.j0); let c1 = clampCol(blk.j0 + 1u); let c2 = clampCol(blk.j0 + 2u); let c3 = clampCol(blk.j0 + 3u);
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4<f32>(B[indexB(blk.b, k, c0)], B[indexB(blk.b, k, c1)], B[indexB(blk.b, k, c2)], B[indexB(blk.b, k, c3)]);
    acc0 += A[indexA(blk.a, r0, k)] * bv;
    acc1 += A[indexA(blk.a, r1, k)] * bv;
    acc2 += A[indexA(blk.a, r2, k)] * bv;
    acc3 += A[indexA(blk.a, r3, k)] * bv;
  }
  storeBlock(blk, array<vec4<f32>, BLOCK>(acc0, acc1, acc2, acc3));
}

//# kernel register_vec4
// A and B are bound as vec4 arrays, for operands whose rows are contiguous along K in steps of 4
// (A not transposed; B either way). Each step of 4 along K loads 8 vec4s for 64 multiply-adds,
// four times fewer loads than the scalar kernel. The wrapper checks the alignment conditions.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = blockAt(gid.y * BLOCK, gid.x * BLOCK, gid.z);
  if (blk.i0 >= p.M || blk.j0 >= p.N) { return; }
  let a0 = (blk.a + clampRow(blk.i0) * p.lda) / 4u;
  let a1 = (blk.a + clampRow(blk.i0 + 1u) * p.lda) / 4u;
  let a2 = (blk.a + clampRow(blk.i0 + 2u) * p.lda) / 4u;
  let a3 = (blk.a + clampRow(blk.i0 + 3u) * p.lda) / 4u;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  if (TRANS_B) {
    // B is [N, K]: row j of B is column j of op(B), contiguous along K.
    let b0 = (blk.b + clampCol(blk.j0) * p.ldb) / 4u;
    let b1 = (blk.b + clampCol(blk.j0 + 1u) * p.ldb) / 4u;
    let b2 = (blk.b + clampCol(blk.j0 + 2u) * p.ldb) / 4u;
    let b3 = (blk.b + clampCol(blk.j0 + 3u) * p.ldb) / 4u;
    for (var k = 0u; k < p.K / 4u; k++) {
      let x0 = A[a0 + k]; let x1 = A[a1 + k]; let x2 = A[a2 + k]; let x3 = A[a3 + k];
      let y0 = B[b0 + k]; let y1 = B[b1 + k]; let y2 = B[b2 + k]; let y3 = B[b3 + k];
      acc0 += vec4<f32>(dot(x0, y0), dot(x0, y1), dot(x0, y2), dot(x0, y3));
      acc1 += vec4<f32>(dot(x1, y0), dot(x1, y1), dot(x1, y2), dot(x1, y3));
      acc2 += vec4<f32>(dot(x2, y0), dot(x2, y1), dot(x2, y2), dot(x2, y3));
      acc3 += vec4<f32>(dot(x3, y0), dot(x3, y1), dot(x3, y2), dot(x3, y3));
    }
  } else {
    // B is [K, N] with N % 4 == 0: one vec4 holds columns j0..j0+3 of a row of B.
    let col = (blk.b + blk.j0) / 4u;
    let ld4 = p.ldb / 4u;
    for (var k = 0u; k < p.K / 4u; k++) {
      let x0 = A[a0 + k]; let x1 = A[a1 + k]; let x2 = A[a2 + k]; let x3 = A[a3 + k];
      let r = col + 4u * k * ld4;
      let y0 = B[r]; let y1 = B[r + ld4]; let y2 = B[r + 2u * ld4]; let y3 = B[r + 3u * ld4];
      acc0 += x0.x * y0 + x0.y * y1 + x0.z * y2 + x0.w * y3;
      acc1 += x1.x * y0 + x1.y * y1 + x1.z * y2 + x1.w * y3;
      acc2 += x2.x * y0 + x2.y * y1 + x2.z * y2 + x2.w * y3;
      acc3 += x3.x * y0 + x3.y * y1 + x3.z * y2 + x3.w * y3;
    }
  }
  storeBlock(blk, array<vec4<f32>, BLOCK>(acc0, acc1, acc2, acc3));
}

//# kernel shared
// A square workgroup (WG_X == WG_Y) stages TILE × DEPTH slices of each operand.
const TILE: u32 = WG_X * BLOCK;
const DEPTH: u32 = 16u;
const THREADS: u32 = WG_X * WG_Y;
var<workgroup> tileA: array<array<f32, TILE>, DEPTH>; // [k][i]
var<workgroup> tileB: array<array<f32, TILE>, DEPTH>; // [k][j]

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let rowBase = wid.y * TILE;
  let colBase = wid.x * TILE;
  let blk = blockAt(rowBase + lid.y * BLOCK, colBase + lid.x * BLOCK, wid.z);
  let flat = lid.y * WG_X + lid.x;
  var acc: array<vec4<f32>, BLOCK>;
  for (var r = 0u; r < BLOCK; r++) { acc[r] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < p.K; k0 += DEPTH) {
    // THREADS invocations load TILE × DEPTH entries of each operand (256 load 64×16: 4 each).
    for (var l = 0u; l < TILE * DEPTH / THREADS; l++) {
      let e = flat + l * THREADS;
      let kk = e / TILE;
      let ii = e % TILE;
      let k = k0 + kk;
      var a = 0.0;
      if (rowBase + ii < p.M && k < p.K) { a = A[indexA(blk.a, rowBase + ii, k)]; }
      tileA[kk][ii] = a;
      var bb = 0.0;
      if (colBase + ii < p.N && k < p.K) { bb = B[indexB(blk.b, k, colBase + ii)]; }
      tileB[kk][ii] = bb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < DEPTH; kk++) {
      let bv = vec4<f32>(tileB[kk][lid.x * 4u], tileB[kk][lid.x * 4u + 1u], tileB[kk][lid.x * 4u + 2u], tileB[kk][lid.x * 4u + 3u]);
      for (var r = 0u; r < BLOCK; r++) {
        acc[r] += tileA[kk][lid.y * BLOCK + r] * bv;
      }
    }
    workgroupBarrier();
  }
  storeBlock(blk, acc);
}

//# kernel subgroup
enable subgroups;
// For adapters whose subgroups are 4 lanes wide (SwiftShader, where a subgroup is one SIMD
// register). There every load with a run-time index is a 4-lane gather whatever the addresses, so
// what counts is loads per multiply-add. A subgroup owns an 8 × 16 block of C: lane l keeps
// columns 4l … 4l+3 of its 8 rows in vec4 accumulators. Per 4-deep step of k it loads two vec4s of
// op(A), its quarter of the 8 × 4 slice, and takes the rest from the other lanes with
// subgroupBroadcast, plus four vec4s of op(B): 6 loads per 32 vec4 multiply-adds, against 8 per
// 16 in register_vec4. No workgroup memory, no barriers; workgroups of 4 × 2 subgroups (32 × 32).
// Operands are vec4 arrays: every row read along is whole vec4s (the wrapper checks); K % 4 != 0
// only occurs with op(A) = Aᵀ and op(B) = B (grams), where K_TAIL zeroes the missing slice.
//
// The lane holding op(A)[4t + q][k0 + e] is q (A untransposed: lane q loads row 4t + q along k)
// or e (Aᵀ: lane e loads row k0 + e of A along i), in component e or q: hence the selects.
// Subgroups whose whole block lies past the edge of C leave: i0 and colb are the same on all four
// lanes, so the broadcasts of the others stay in subgroup-uniform control flow (which WGSL's
// analysis cannot see, hence the diagnostic).
@diagnostic(off, subgroup_uniformity)
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lane = lid.x & 3u;
  let i0 = wid.y * (8u * WG_Y) + lid.y * 8u;
  let colb = wid.x * (4u * WG_X) + (lid.x >> 2u) * 16u;
  if (i0 >= p.M || colb >= p.N) { return; }
  let base = blockAt(i0, colb + 4u * lane, wid.z);
  let a4 = base.a / 4u; let lda4 = p.lda / 4u;
  let b4 = base.b / 4u; let ldb4 = p.ldb / 4u;
  // Where each lane's loads start, and how far they move per step of 4 along k (in vec4s); rows
  // and columns past the edge re-read the last whole vec4. Selects, not branches: SwiftShader
  // keeps values assigned in branches in memory.
  let stepA = select(1u, 4u * lda4, TRANS_A);
//#for T
  let qa{T} = a4 + select(clampRow(i0 + 4u * {T}u + lane) * lda4, min(i0 + 4u * {T}u, (p.M - 1u) & ~3u) / 4u, TRANS_A);
//#end
  let pb = b4 + min(colb + 4u * lane, (p.N - 1u) & ~3u) / 4u;
//#for C
  let pb{C} = b4 + clampCol(colb + 4u * lane + {C}u) * ldb4;
//#end
//#for T
//#for Q
  var acc{T}{Q} = vec4<f32>(0.0);
//#end
//#end
  let steps = (p.K + 3u) / 4u;
  for (var k4 = 0u; k4 < steps; k4++) {
    // This lane's share of the 8 × 4 slice of op(A). Past K (K_TAIL: Aᵀ with K % 4 != 0) it
    // reads the last row and is zeroed, so the re-read last row of B adds nothing.
    let k0 = 4u * k4;
    let tail = K_TAIL && k0 + 4u > p.K;
    let ka = select(k4 * stepA + select(0u, lane * lda4, TRANS_A), min(k0 + lane, p.K - 1u) * lda4, tail);
    let live = !tail || k0 + lane < p.K;
//#for T
    let xa{T} = select(vec4<f32>(0.0), A[qa{T} + ka], live);
//#end
    if (TRANS_B) {
      // Rows of B are columns of op(B), contiguous along k.
//#for C
      let z{C} = B[pb{C} + k4];
//#end
//#for T
//#for Q
      {
        let ar = vec4<f32>(
//#for E
          subgroupBroadcast(xa{T}[select({E}u, {Q}u, TRANS_A)], select({Q}u, {E}u, TRANS_A)),
//#end
        );
        acc{T}{Q} += vec4<f32>(dot(ar, z0), dot(ar, z1), dot(ar, z2), dot(ar, z3));
      }
//#end
//#end
    } else {
      // One vec4 of a row of B holds the lane's 4 columns.
//#for E
      let y{E} = B[pb + select(k0 + {E}u, min(k0 + {E}u, p.K - 1u), tail) * ldb4];
//#end
//#for T
//#for Q
      acc{T}{Q} += subgroupBroadcast(xa{T}[select(0u, {Q}u, TRANS_A)], select({Q}u, 0u, TRANS_A)) * y0
        + subgroupBroadcast(xa{T}[select(1u, {Q}u, TRANS_A)], select({Q}u, 1u, TRANS_A)) * y1
        + subgroupBroadcast(xa{T}[select(2u, {Q}u, TRANS_A)], select({Q}u, 2u, TRANS_A)) * y2
        + subgroupBroadcast(xa{T}[select(3u, {Q}u, TRANS_A)], select({Q}u, 3u, TRANS_A)) * y3;
//#end
//#end
    }
  }
  storeBlock(base, array<vec4<f32>, BLOCK>(acc00, acc01, acc02, acc03));
  storeBlock(blockAt(i0 + 4u, colb + 4u * lane, wid.z), array<vec4<f32>, BLOCK>(acc10, acc11, acc12, acc13));
}
