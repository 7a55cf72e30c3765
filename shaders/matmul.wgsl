// Matrix products C = alpha * op(A) * op(B) + beta * C over a batch, with offsets and leading
// dimensions so that solvers can multiply sub-blocks in place (SparseGPT's lazy updates, per-head
// attention). op(X) is X or Xᵀ, fixed per pipeline by the TRANS_A / TRANS_B override constants.
//
// Two tilings of the same product, chosen per adapter by the TypeScript wrapper:
//  * matmul_register: every invocation owns a 4×4 block of C and streams K with no workgroup
//    memory and no barriers. On CPU rasterisers (SwiftShader) barriers cost more than the
//    redundant loads they save, so this is the fast path there.
//  * matmul_shared: 64×64 tiles of C per 16×16 workgroup, A and B staged through workgroup
//    memory in 16-deep slices; the usual choice on real GPUs.

struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  lda: u32, ldb: u32, ldc: u32, _pad0: u32,
  offA: u32, offB: u32, offC: u32, _pad1: u32,
  strideA: u32, strideB: u32, strideC: u32, _pad2: u32,
  alpha: f32, beta: f32, _pad3: u32, _pad4: u32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

fn indexA(base: u32, i: u32, k: u32) -> u32 {
  if (TRANS_A) { return base + k * p.lda + i; }
  return base + i * p.lda + k;
}

fn indexB(base: u32, k: u32, j: u32) -> u32 {
  if (TRANS_B) { return base + j * p.ldb + k; }
  return base + k * p.ldb + j;
}

fn store(base: u32, i: u32, j: u32, value: f32) {
  if (i < p.M && j < p.N) {
    let idx = base + i * p.ldc + j;
    if (p.beta == 0.0) {
      C[idx] = p.alpha * value;
    } else {
      C[idx] = p.alpha * value + p.beta * C[idx];
    }
  }
}

@compute @workgroup_size(8, 8, 1)
fn matmul_register(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.z;
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (i0 >= p.M || j0 >= p.N) { return; }
  let baseA = p.offA + b * p.strideA;
  let baseB = p.offB + b * p.strideB;
  // Out-of-range rows/columns re-read the last valid one; their results are never stored.
  let iLast = p.M - 1u;
  let jLast = p.N - 1u;
  let r0 = min(i0, iLast); let r1 = min(i0 + 1u, iLast); let r2 = min(i0 + 2u, iLast); let r3 = min(i0 + 3u, iLast);
  let c0 = min(j0, jLast); let c1 = min(j0 + 1u, jLast); let c2 = min(j0 + 2u, jLast); let c3 = min(j0 + 3u, jLast);
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4<f32>(B[indexB(baseB, k, c0)], B[indexB(baseB, k, c1)], B[indexB(baseB, k, c2)], B[indexB(baseB, k, c3)]);
    acc0 += A[indexA(baseA, r0, k)] * bv;
    acc1 += A[indexA(baseA, r1, k)] * bv;
    acc2 += A[indexA(baseA, r2, k)] * bv;
    acc3 += A[indexA(baseA, r3, k)] * bv;
  }
  let baseC = p.offC + b * p.strideC;
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      store(baseC, i0 + r, j0 + c, accs[r][c]);
    }
  }
}

// Register tiles with vec4 loads, for operands whose rows are contiguous along K in steps of 4
// (A not transposed; B either way). Each step of 4 along K loads 8 vec4s for 64 multiply-adds,
// four times fewer loads than the scalar kernel. The wrapper checks the alignment conditions.
@group(0) @binding(1) var<storage, read> A4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B4: array<vec4<f32>>;

@compute @workgroup_size(8, 8, 1)
fn matmul_register_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.z;
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (i0 >= p.M || j0 >= p.N) { return; }
  let baseA = p.offA + b * p.strideA;
  let baseB = p.offB + b * p.strideB;
  let iLast = p.M - 1u;
  let jLast = p.N - 1u;
  let a0 = (baseA + min(i0, iLast) * p.lda) / 4u;
  let a1 = (baseA + min(i0 + 1u, iLast) * p.lda) / 4u;
  let a2 = (baseA + min(i0 + 2u, iLast) * p.lda) / 4u;
  let a3 = (baseA + min(i0 + 3u, iLast) * p.lda) / 4u;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  if (TRANS_B) {
    // B is [N, K]: row j of B is column j of op(B), contiguous along K.
    let b0 = (baseB + min(j0, jLast) * p.ldb) / 4u;
    let b1 = (baseB + min(j0 + 1u, jLast) * p.ldb) / 4u;
    let b2 = (baseB + min(j0 + 2u, jLast) * p.ldb) / 4u;
    let b3 = (baseB + min(j0 + 3u, jLast) * p.ldb) / 4u;
    for (var k = 0u; k < p.K / 4u; k++) {
      let x0 = A4[a0 + k]; let x1 = A4[a1 + k]; let x2 = A4[a2 + k]; let x3 = A4[a3 + k];
      let y0 = B4[b0 + k]; let y1 = B4[b1 + k]; let y2 = B4[b2 + k]; let y3 = B4[b3 + k];
      acc0 += vec4<f32>(dot(x0, y0), dot(x0, y1), dot(x0, y2), dot(x0, y3));
      acc1 += vec4<f32>(dot(x1, y0), dot(x1, y1), dot(x1, y2), dot(x1, y3));
      acc2 += vec4<f32>(dot(x2, y0), dot(x2, y1), dot(x2, y2), dot(x2, y3));
      acc3 += vec4<f32>(dot(x3, y0), dot(x3, y1), dot(x3, y2), dot(x3, y3));
    }
  } else {
    // B is [K, N] with N % 4 == 0: one vec4 holds columns j0..j0+3 of a row of B.
    let col = (baseB + j0) / 4u;
    let ld4 = p.ldb / 4u;
    for (var k = 0u; k < p.K / 4u; k++) {
      let x0 = A4[a0 + k]; let x1 = A4[a1 + k]; let x2 = A4[a2 + k]; let x3 = A4[a3 + k];
      let r = col + 4u * k * ld4;
      let y0 = B4[r]; let y1 = B4[r + ld4]; let y2 = B4[r + 2u * ld4]; let y3 = B4[r + 3u * ld4];
      acc0 += x0.x * y0 + x0.y * y1 + x0.z * y2 + x0.w * y3;
      acc1 += x1.x * y0 + x1.y * y1 + x1.z * y2 + x1.w * y3;
      acc2 += x2.x * y0 + x2.y * y1 + x2.z * y2 + x2.w * y3;
      acc3 += x3.x * y0 + x3.y * y1 + x3.z * y2 + x3.w * y3;
    }
  }
  let baseC = p.offC + b * p.strideC;
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      store(baseC, i0 + r, j0 + c, accs[r][c]);
    }
  }
}

const TILE: u32 = 64u;
const DEPTH: u32 = 16u;
var<workgroup> tileA: array<array<f32, 64>, 16>; // [k][i]
var<workgroup> tileB: array<array<f32, 64>, 16>; // [k][j]

@compute @workgroup_size(16, 16, 1)
fn matmul_shared(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = wid.z;
  let rowBase = wid.y * TILE;
  let colBase = wid.x * TILE;
  let baseA = p.offA + b * p.strideA;
  let baseB = p.offB + b * p.strideB;
  let flat = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var r = 0u; r < 4u; r++) { acc[r] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < p.K; k0 += DEPTH) {
    // 256 invocations load 64×16 entries of each operand: 4 each.
    for (var l = 0u; l < 4u; l++) {
      let e = flat + l * 256u;
      let kk = e / TILE;
      let ii = e % TILE;
      let k = k0 + kk;
      var a = 0.0;
      if (rowBase + ii < p.M && k < p.K) { a = A[indexA(baseA, rowBase + ii, k)]; }
      tileA[kk][ii] = a;
      var bb = 0.0;
      if (colBase + ii < p.N && k < p.K) { bb = B[indexB(baseB, k, colBase + ii)]; }
      tileB[kk][ii] = bb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < DEPTH; kk++) {
      let bv = vec4<f32>(tileB[kk][lid.x * 4u], tileB[kk][lid.x * 4u + 1u], tileB[kk][lid.x * 4u + 2u], tileB[kk][lid.x * 4u + 3u]);
      for (var r = 0u; r < 4u; r++) {
        acc[r] += tileA[kk][lid.y * 4u + r] * bv;
      }
    }
    workgroupBarrier();
  }
  let baseC = p.offC + b * p.strideC;
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      store(baseC, rowBase + lid.y * 4u + r, colBase + lid.x * 4u + c, acc[r][c]);
    }
  }
}
