// Weights read as the checkpoint stores them: BF16 or F16 values, two per u32 word, so that a
// 2-byte checkpoint takes 2 bytes per weight on the GPU instead of 4. Element e of a row-major
// weight is half (e & 1) of word e >> 1, low half first (the file's little-endian order, uploaded
// as it is). Every value is widened to f32 when read and all arithmetic is f32, so a product gives
// what the same product gives on the weights converted to f32 beforehand, up to summation order.
//   BF16 is the upper half of an f32: the bits shifted up 16 and reinterpreted.
//   F16 is widened by unpack2x16float, which is core WGSL: no shader-f16 extension is needed.
// FORMAT_BF16 picks the format per variant; each kernel gives word i of the weight as packed_word(i).

fn widen(word: u32) -> vec2<f32> {
  if (FORMAT_BF16) { return vec2<f32>(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u)); }
  return unpack2x16float(word);
}

// Element e of the weight.
fn weight_at(e: u32) -> f32 {
  let both = widen(packed_word(e >> 1u));
  if ((e & 1u) == 0u) { return both.x; }
  return both.y;
}

// Elements e and e + 1: one word when e is even, else the upper half of one and the lower of the next.
fn weight_pair(e: u32) -> vec2<f32> {
  let w = e >> 1u;
  if ((e & 1u) == 0u) { return widen(packed_word(w)); }
  return vec2<f32>(widen(packed_word(w)).y, widen(packed_word(w + 1u)).x);
}

//# kernel packed_linear
fn packed_word(i: u32) -> u32 { return W[i]; }

// Y[i, offC + j] = Σ_k X[offA + i·lda + k] · W[j·K + k]  (+ Y when ACCUMULATE), for i < M, j < N:
// the nn.Linear product X·Wᵀ with W [N, K] packed (one row chunk of a weight; the caller places its
// columns with offC and ldc). Each invocation owns 4 rows × 4 columns of Y and walks K two weights
// at a time, each pair one word when the weight row starts on a word (K even), accumulating in k
// order. No workgroup memory: a row of X is reused across the 4 weight rows from registers.
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (i0 >= p.M || j0 >= p.N) { return; }
  // Rows and columns past the end re-read the last valid one; their results are not stored.
  var xs: array<u32, 4>;
  var ws: array<u32, 4>;
  for (var t = 0u; t < 4u; t++) {
    xs[t] = p.offA + min(i0 + t, p.M - 1u) * p.lda;
    ws[t] = min(j0 + t, p.N - 1u) * p.K;
  }
  var acc: array<vec4<f32>, 4>;
  var k = 0u;
  for (; k + 1u < p.K; k += 2u) {
    let w0 = weight_pair(ws[0] + k);
    let w1 = weight_pair(ws[1] + k);
    let w2 = weight_pair(ws[2] + k);
    let w3 = weight_pair(ws[3] + k);
    let lo = vec4<f32>(w0.x, w1.x, w2.x, w3.x);
    let hi = vec4<f32>(w0.y, w1.y, w2.y, w3.y);
    for (var t = 0u; t < 4u; t++) {
      acc[t] += X[xs[t] + k] * lo;
      acc[t] += X[xs[t] + k + 1u] * hi;
    }
  }
  if (k < p.K) {
    // K odd: the last column alone (its pair would run into the next weight row).
    let last = vec4<f32>(weight_at(ws[0] + k), weight_at(ws[1] + k), weight_at(ws[2] + k), weight_at(ws[3] + k));
    for (var t = 0u; t < 4u; t++) { acc[t] += X[xs[t] + k] * last; }
  }
  for (var t = 0u; t < 4u; t++) {
    let i = i0 + t;
    if (i >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      if (j0 + c < p.N) {
        let idx = p.offC + i * p.ldc + j0 + c;
        if (ACCUMULATE) { Y[idx] += acc[t][c]; } else { Y[idx] = acc[t][c]; }
      }
    }
  }
}

//# kernel packed_linear_vec4
// The same product for K, lda and offA multiples of 4 (every real model's widths): X bound as vec4
// rows and W as pairs of words (4 weights; a weight row then starts on a whole pair). One step
// along K loads 4 vec4s of X and 4 word pairs of W for 64 multiply-adds; the scalar kernel needs 12
// loads per 32, which on SwiftShader makes it several times slower.
fn packed_word(i: u32) -> u32 { return W[i >> 1u][i & 1u]; }

fn weights4(q: u32) -> vec4<f32> {
  let w = W[q];
  if (FORMAT_BF16) {
    let lo = bitcast<vec2<f32>>(w << vec2<u32>(16u));
    let hi = bitcast<vec2<f32>>(w & vec2<u32>(0xffff0000u));
    return vec4<f32>(lo.x, hi.x, lo.y, hi.y);
  }
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn store4(i: u32, j0: u32, v: vec4<f32>) {
  if (i >= p.M) { return; }
  let base = p.offC + i * p.ldc + j0;
  for (var c = 0u; c < 4u; c++) {
    if (j0 + c < p.N) {
      if (ACCUMULATE) { Y[base + c] += v[c]; } else { Y[base + c] = v[c]; }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (i0 >= p.M || j0 >= p.N) { return; }
  let last = p.M - 1u;
  let x0 = (p.offA + min(i0, last) * p.lda) / 4u;
  let x1 = (p.offA + min(i0 + 1u, last) * p.lda) / 4u;
  let x2 = (p.offA + min(i0 + 2u, last) * p.lda) / 4u;
  let x3 = (p.offA + min(i0 + 3u, last) * p.lda) / 4u;
  let w0 = min(j0, p.N - 1u) * p.K / 4u;
  let w1 = min(j0 + 1u, p.N - 1u) * p.K / 4u;
  let w2 = min(j0 + 2u, p.N - 1u) * p.K / 4u;
  let w3 = min(j0 + 3u, p.N - 1u) * p.K / 4u;
  var y0 = vec4<f32>(0.0); var y1 = vec4<f32>(0.0); var y2 = vec4<f32>(0.0); var y3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K / 4u; k++) {
    let b0 = weights4(w0 + k); let b1 = weights4(w1 + k); let b2 = weights4(w2 + k); let b3 = weights4(w3 + k);
    let a0 = X[x0 + k]; let a1 = X[x1 + k]; let a2 = X[x2 + k]; let a3 = X[x3 + k];
    y0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    y1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    y2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    y3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  store4(i0, j0, y0);
  store4(i0 + 1u, j0, y1);
  store4(i0 + 2u, j0, y2);
  store4(i0 + 3u, j0, y3);
}
