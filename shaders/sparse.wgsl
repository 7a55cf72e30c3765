// Sparse products for decoding: Y[i, offC + j] (+)= Σ_k X[offA + i·lda + k] · W[j, k] for the few
// rows i < M of X (1 to a few tokens) and the N rows j of a pruned nn.Linear weight W [N, K], reading
// only the kept weights. At batch 1 a product reads every weight once and does one multiply-add per
// weight, so its time is the bytes it reads: a sparse form pays when its values plus indices are
// fewer bytes than the dense weight and its index decoding stays cheaper than the saved loads.
//   nm_linear       N:M (each group of GROUP consecutive inputs keeps at most KEEP): the KEEP·⌈K/GROUP⌉
//                   slots of every row, value and in-group index (BITS bits, PER to a u32), stored
//                   slot-major (slot s of row j at s·N + j) so that neighbouring rows read
//                   neighbouring words. Groups with fewer kept weights pad with zero values.
//   csr_linear      unstructured: row pointers R (N + 1), then each row's kept values and their
//                   column indices, 16 bits each two to a word (WIDE: a u32 each, for K > 65536).
//   bitmask_linear  unstructured: the same values and row pointers, and a bitmask of ⌈K/32⌉ words per
//                   row; the set bits of a row, in order, are its kept columns.
// Values are f32 bits or the checkpoint's BF16/F16 halves two per word (weight_at of the packed
// prelude, which reads the binding W): widening is exact, so either gives the f32 product.
// One invocation per output row j and block of RB rows of X (gid.y; RB = 1 for a single token, else
// 4, with one accumulator lane per row); rows of X past M re-read the last one and are not stored.
// Sums run over the kept weights in column order, in f32.

fn value_at(e: u32) -> f32 {
  if (VALUES_F32) { return bitcast<f32>(packed_word(e)); }
  return weight_at(e);
}

fn store_rows(i0: u32, j: u32, a: vec4<f32>) {
  for (var t = 0u; t < RB; t++) {
    let i = i0 + t;
    if (i >= p.M) { return; }
    let idx = p.offC + i * p.ldc + j;
    if (ACCUMULATE) { Y[idx] += a[t]; } else { Y[idx] = a[t]; }
  }
}

// Start of rows i0…i0+3 of X (clamped to the last row).
fn x_rows(i0: u32) -> vec4<u32> {
  let last = p.M - 1u;
  return vec4<u32>(
    p.offA + min(i0, last) * p.lda,
    p.offA + min(i0 + 1u, last) * p.lda,
    p.offA + min(i0 + 2u, last) * p.lda,
    p.offA + min(i0 + 3u, last) * p.lda,
  );
}

fn x_col(xs: vec4<u32>, k: u32) -> vec4<f32> {
  if (RB == 1u) { return vec4<f32>(X[xs.x + k], 0.0, 0.0, 0.0); }
  return vec4<f32>(X[xs.x + k], X[xs.y + k], X[xs.z + k], X[xs.w + k]);
}

//# kernel nm_linear
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let i0 = gid.y * RB;
  if (j >= p.N || i0 >= p.M) { return; }
  let xs = x_rows(i0);
  var acc = vec4<f32>(0.0);
  let mask = (1u << BITS) - 1u;
  var s = 0u;
  for (var w = 0u; s < p.S; w++) {
    let word = I[w * p.N + j];
    for (var t = 0u; t < PER && s < p.S; t++) {
      let col = (s / KEEP) * GROUP + ((word >> (t * BITS)) & mask);
      acc += x_col(xs, col) * value_at(s * p.N + j);
      s++;
    }
  }
  store_rows(i0, j, acc);
}

//# kernel csr_linear
fn column_at(e: u32) -> u32 {
  if (WIDE) { return C[e]; }
  return (C[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu;
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let i0 = gid.y * RB;
  if (j >= p.N || i0 >= p.M) { return; }
  let xs = x_rows(i0);
  var acc = vec4<f32>(0.0);
  let end = R[j + 1u];
  for (var e = R[j]; e < end; e++) {
    acc += x_col(xs, column_at(e)) * value_at(e);
  }
  store_rows(i0, j, acc);
}

//# kernel bitmask_linear
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let i0 = gid.y * RB;
  if (j >= p.N || i0 >= p.M) { return; }
  let xs = x_rows(i0);
  var acc = vec4<f32>(0.0);
  var e = R[j];
  let words = (p.K + 31u) / 32u;
  for (var w = 0u; w < words; w++) {
    var bits = B[j * words + w];
    while (bits != 0u) {
      let col = w * 32u + countTrailingZeros(bits);
      acc += x_col(xs, col) * value_at(e);
      e++;
      bits &= bits - 1u;
    }
  }
  store_rows(i0, j, acc);
}
