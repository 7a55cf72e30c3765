// Matrix products C = alpha * op(A) * op(B) + beta * C over a batch, with offsets and leading
// dimensions so that solvers can multiply sub-blocks in place (SparseGPT's lazy updates, per-head
// attention). op(X) is X or Xᵀ, fixed per variant by the TRANS_A / TRANS_B constants.
//
// Tilings of the same product, chosen per adapter by the TypeScript wrapper (src/kernels/matmul.ts),
// which also owns the tile sizes and the measured numbers behind the choice: a workgroup of
// WG_X × WG_Y invocations, each holding a BLOCK × BLOCK block of C, covers a (WG_Y·BLOCK) ×
// (WG_X·BLOCK) tile, and the grid is derived from that.
//  * register: every invocation owns a 4×4 block of C and streams K with no workgroup memory and
//    no barriers. On CPU rasterisers (SwiftShader) barriers cost more than the redundant loads
//    they save.
//  * register_vec4: the same with vec4 loads (operands contiguous along K in whole vec4s).
//  * shared: 64×64 tiles of C per 16×16 workgroup, A and B staged through workgroup memory in
//    16-deep slices; the usual choice on real GPUs (32/64-lane subgroups). Its f16 variant keeps
//    the slices and the products of a slice in f16 (TileT) and accumulates the slices in f32.
//  * subgroup: register tiles for 4-lane subgroups (SwiftShader): the lanes split the loads of op(A)
//    and pass them round the quad with quadSwaps, so a subgroup loads each value it needs once.
//  * subgroup_shuffle: for real GPUs with subgroups of any width S: a workgroup's invocations share
//    4 rows of C, each lane loads one k of them and subgroupShuffle hands it to the others, so op(A)
//    is read S times less, with no workgroup memory and no barriers.

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

// Writes 4 entries of row i of C from column blk.j0 on (the subgroup tiling, whose lanes own rows
// in a permuted order).
fn storeRow(blk: Block, i: u32, v: vec4<f32>) {
  if (i >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    let j = blk.j0 + c;
    if (j < p.N) {
      let idx = blk.c + i * p.ldc + j;
      if (p.beta == 0.0) {
        C[idx] = p.alpha * v[c];
      } else {
        C[idx] = p.alpha * v[c] + p.beta * C[idx];
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
// A square workgroup (WG_X == WG_Y) stages TILE × DEPTH slices of each operand. TileT is f32, or
// f16 in the f16 variant (the wrapper declares it): the products of one slice are summed in
// TileT, at most DEPTH terms, and every slice's sum is added to f32 accumulators.
const TILE: u32 = WG_X * BLOCK;
const DEPTH: u32 = 16u;
const THREADS: u32 = WG_X * WG_Y;
var<workgroup> tileA: array<array<TileT, TILE>, DEPTH>; // [k][i]
var<workgroup> tileB: array<array<TileT, TILE>, DEPTH>; // [k][j]

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
      tileA[kk][ii] = TileT(a);
      var bb = 0.0;
      if (colBase + ii < p.N && k < p.K) { bb = B[indexB(blk.b, k, colBase + ii)]; }
      tileB[kk][ii] = TileT(bb);
    }
    workgroupBarrier();
    // Zeroed explicitly: left to its implicit zero value, SwiftShader carried the previous slice's
    // sums over (every K > 16 went wrong).
    var part: array<vec4<TileT>, BLOCK>;
    for (var r = 0u; r < BLOCK; r++) { part[r] = vec4<TileT>(0.0); }
    for (var kk = 0u; kk < DEPTH; kk++) {
      let bv = vec4<TileT>(tileB[kk][lid.x * 4u], tileB[kk][lid.x * 4u + 1u], tileB[kk][lid.x * 4u + 2u], tileB[kk][lid.x * 4u + 3u]);
      for (var r = 0u; r < BLOCK; r++) {
        part[r] += tileA[kk][lid.y * BLOCK + r] * bv;
      }
    }
    for (var r = 0u; r < BLOCK; r++) { acc[r] += vec4<f32>(part[r]); }
    workgroupBarrier();
  }
  storeBlock(blk, acc);
}

//# kernel subgroup_shuffle
enable subgroups;
// A 1-D workgroup of WG_X invocations covers 4 rows of C and 4·WG_X columns; each invocation owns a
// 4 × 4 block. Every invocation of the workgroup shares the rows, so a subgroup shares them
// whatever invocations the adapter groups into it: per S steps of k, lane s loads op(A)[i][k0 + s]
// for its 4 rows, and subgroupShuffle passes each to all lanes. op(B) is read by each lane for
// its own 4 columns (consecutive lanes, consecutive columns). Rows and columns past the edge
// re-read the last one and are not stored; such lanes stay in the loop, as the shuffles need
// every lane of the subgroup (the trip counts are the same on all lanes: uniform, which WGSL's
// analysis cannot see, hence the diagnostic).
@diagnostic(off, subgroup_uniformity)
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) S: u32) {
  let blk = blockAt(wid.y * BLOCK, (wid.x * WG_X + lid.x) * BLOCK, wid.z);
  let r0 = clampRow(blk.i0); let r1 = clampRow(blk.i0 + 1u); let r2 = clampRow(blk.i0 + 2u); let r3 = clampRow(blk.i0 + 3u);
  let c0 = clampCol(blk.j0); let c1 = clampCol(blk.j0 + 1u); let c2 = clampCol(blk.j0 + 2u); let c3 = clampCol(blk.j0 + 3u);
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += S) {
    let k = min(k0 + lane, p.K - 1u);
    let live = k0 + lane < p.K;
    let x = select(vec4<f32>(0.0), vec4<f32>(A[indexA(blk.a, r0, k)], A[indexA(blk.a, r1, k)], A[indexA(blk.a, r2, k)], A[indexA(blk.a, r3, k)]), live);
    let steps = min(S, p.K - k0);
    for (var s = 0u; s < steps; s++) {
      let a = subgroupShuffle(x, s);
      let kb = k0 + s;
      let bv = vec4<f32>(B[indexB(blk.b, kb, c0)], B[indexB(blk.b, kb, c1)], B[indexB(blk.b, kb, c2)], B[indexB(blk.b, kb, c3)]);
      acc0 += a.x * bv;
      acc1 += a.y * bv;
      acc2 += a.z * bv;
      acc3 += a.w * bv;
    }
  }
  storeBlock(blk, array<vec4<f32>, BLOCK>(acc0, acc1, acc2, acc3));
}

//# kernel subgroup
enable subgroups;
// For adapters whose subgroups are 4 lanes wide (SwiftShader, where a subgroup is one SIMD
// register). There every load with a run-time index is a 4-lane gather whatever the addresses, so
// what counts is loads per multiply-add; and every value moved between lanes costs too (a
// subgroupBroadcast of a scalar about 0.6 of a gather, measured). A subgroup owns a (4·T) × 16
// block of C, lane l columns 4l … 4l+3. Per 4-deep step of k each lane loads one vec4 of op(A) per
// quad of rows (its quarter of the 4T × 4 slice) and four vec4s of op(B); the op(A) quarters go
// round the quad with three quadSwaps (lane l ^ s, s = 1, 2, 3) instead of sixteen broadcasts:
// slot s of lane l holds partner l ^ s's quarter. No workgroup memory, no barriers.
//  * A untransposed: the quarter of lane q is row 4t + q along k, so slot s is row 4t + (l ^ s)
//    and its accumulator acc{T}{s} is that row (stored there).
//  * Aᵀ: the quarter of lane e is k0 + e along the rows, so slot s is k0 + (l ^ s): the lane reads
//    row k0 + (l ^ s) of op(B) (a gather either way) and acc{T}{q} is row 4t + q.
// Operands are vec4 arrays: every row read along is whole vec4s (the wrapper checks); K % 4 != 0
// only occurs with op(A) = Aᵀ and op(B) = B (grams), where K_TAIL zeroes the missing slice.
// Subgroups whose whole block lies past the edge of C leave: i0 and colb are the same on all four
// lanes, so the swaps stay in subgroup-uniform control flow (which WGSL's analysis cannot see,
// hence the diagnostic). The loop over whole steps needs no edge tests; the ragged last step
// (K_TAIL) runs after it with them.
//#def step
    let k0 = 4u * k4;
    let ka = select(k4 * stepA + select(0u, lane * lda4, TRANS_A), min(k0 + lane, p.K - 1u) * lda4, tail);
    let live = !tail || k0 + lane < p.K;
//#for T
    let xs{T}0 = select(vec4<f32>(0.0), A[qa{T} + ka], live);
    let xs{T}1 = quadSwapX(xs{T}0);
    let xs{T}2 = quadSwapY(xs{T}0);
    let xs{T}3 = quadSwapDiagonal(xs{T}0);
//#end
    if (TRANS_A) {
      // Slot s is k = k0 + (l ^ s): the lane's 4 columns of that row of op(B).
//#for S
      var w{S}: vec4<f32>;
      if (TRANS_B) {
        w{S} = vec4<f32>(B[pb0 + k4][lx{S}], B[pb1 + k4][lx{S}], B[pb2 + k4][lx{S}], B[pb3 + k4][lx{S}]);
      } else {
        w{S} = B[pb + select(k0 + lx{S}, min(k0 + lx{S}, p.K - 1u), tail) * ldb4];
      }
//#end
//#for T
//#for Q
      acc{T}{Q} += xs{T}0[{Q}] * w0 + xs{T}1[{Q}] * w1 + xs{T}2[{Q}] * w2 + xs{T}3[{Q}] * w3;
//#end
//#end
    } else if (TRANS_B) {
      // Rows of B are columns of op(B), contiguous along k.
//#for C
      let z{C} = B[pb{C} + k4];
//#end
//#for T
//#for S
      acc{T}{S} += vec4<f32>(dot(xs{T}{S}, z0), dot(xs{T}{S}, z1), dot(xs{T}{S}, z2), dot(xs{T}{S}, z3));
//#end
//#end
    } else {
      // One vec4 of a row of B holds the lane's 4 columns.
//#for E
      let y{E} = B[pb + (k0 + {E}u) * ldb4];
//#end
//#for T
//#for S
      acc{T}{S} += xs{T}{S}.x * y0 + xs{T}{S}.y * y1 + xs{T}{S}.z * y2 + xs{T}{S}.w * y3;
//#end
//#end
    }
//#enddef
@diagnostic(off, subgroup_uniformity)
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lane = lid.x & 3u;
  let i0 = wid.y * (4u * SG_T * WG_Y) + lid.y * (4u * SG_T);
  let colb = wid.x * (4u * WG_X) + (lid.x >> 2u) * 16u;
  if (i0 >= p.M || colb >= p.N) { return; }
  let j0 = colb + 4u * lane;
  let base = blockAt(i0, j0, wid.z);
  let a4 = base.a / 4u; let lda4 = p.lda / 4u;
  let b4 = base.b / 4u; let ldb4 = p.ldb / 4u;
  // Where each lane's loads start, and how far they move per step of 4 along k (in vec4s); rows
  // and columns past the edge re-read the last whole vec4. Selects, not branches: SwiftShader
  // keeps values assigned in branches in memory.
  let stepA = select(1u, 4u * lda4, TRANS_A);
//#for T
  let qa{T} = a4 + select(clampRow(i0 + 4u * {T}u + lane) * lda4, min(i0 + 4u * {T}u, (p.M - 1u) & ~3u) / 4u, TRANS_A);
//#end
  let pb = b4 + min(j0, (p.N - 1u) & ~3u) / 4u;
//#for C
  let pb{C} = b4 + clampCol(j0 + {C}u) * ldb4;
//#end
//#for S
  let lx{S} = lane ^ {S}u;
//#end
//#for T
//#for S
  var acc{T}{S} = vec4<f32>(0.0);
//#end
//#end
  let whole = p.K / 4u;
  for (var k4 = 0u; k4 < whole; k4++) {
    let tail = false;
//#use step
  }
  if (K_TAIL && whole * 4u < p.K) {
    let k4 = whole;
    let tail = true;
//#use step
  }
  // Accumulator s of quad t is row 4t + (l ^ s) (A untransposed) or 4t + s (Aᵀ).
//#for T
//#for S
  storeRow(base, i0 + 4u * {T}u + select(lx{S}, {S}u, TRANS_A), acc{T}{S});
//#end
//#end
}
