// Row normalisation: RMSNorm (Llama family, and per head on q and k for Qwen3 / Gemma 3) or
// LayerNorm (GPT-2, OPT), one invocation per row. Rows are short (hidden size, or head_dim) and
// there are many of them, so this needs no workgroup reduction and no barriers, which SwiftShader
// executes slowly.
//   RMSNorm:   y = x / sqrt(mean(x²) + eps) · (OFFSET + w)
//   LayerNorm: y = (x − mean(x)) / sqrt(var(x) + eps) · w + b      (biased variance, as PyTorch)
// OFFSET is 1 for Gemma, whose weights are stored as w − 1 (and 0 otherwise).
// Row i of `cols` values starts at off + (i / group)·ld + (i % group)·cols: plain rows (group 1,
// ld = cols), or the `group` heads of each row of a fused q|k|v activation.
// Variants (constants written by src/kernels/norm.ts): LAYER_NORM (only then a Bias binding,
// added by with_bias); in place (no X binding: load() reads Y); ACCUMULATE: Y += y (Gemma's
// post-norms added straight into the residual stream).

//# kernel norm
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_id(gid, nwg);
  if (row >= p.rows) { return; }
  let base = p.off + (row / p.group) * p.ld + (row % p.group) * p.cols;
  let n = f32(p.cols);
  var mean = 0.0;
  if (LAYER_NORM) {
    var sum = 0.0;
    for (var c = 0u; c < p.cols; c++) { sum += load(base + c); }
    mean = sum / n;
  }
  // Two passes (mean, then centred squares) keep LayerNorm's variance accurate in f32.
  var ss = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let v = load(base + c) - mean;
    ss += v * v;
  }
  let inv = inverseSqrt(ss / n + p.eps);
  for (var c = 0u; c < p.cols; c++) {
    let y = with_bias((load(base + c) - mean) * inv * (OFFSET + W[c]), c);
    if (ACCUMULATE) { Y[base + c] += y; } else { Y[base + c] = y; }
  }
}
