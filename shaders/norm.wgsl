// Row normalisation of the residual stream: RMSNorm (Llama family) or LayerNorm (GPT-2, OPT),
// one invocation per row (a token). Rows are short (hidden size) and there are many of them, so
// this needs no workgroup reduction and no barriers, which SwiftShader executes slowly.
//   RMSNorm:   y = x / sqrt(mean(x²) + eps) · w
//   LayerNorm: y = (x − mean(x)) / sqrt(var(x) + eps) · w + b      (biased variance, as PyTorch)
// LAYER_NORM is a constant of the variant; only the LayerNorm variant has a Bias binding, added by
// with_bias (which src/kernels/norm.ts writes per variant: the identity for RMSNorm).

//# kernel norm
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_id(gid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  let n = f32(p.cols);
  var mean = 0.0;
  if (LAYER_NORM) {
    var sum = 0.0;
    for (var c = 0u; c < p.cols; c++) { sum += X[base + c]; }
    mean = sum / n;
  }
  // Two passes (mean, then centred squares) keep LayerNorm's variance accurate in f32.
  var ss = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let v = X[base + c] - mean;
    ss += v * v;
  }
  let inv = inverseSqrt(ss / n + p.eps);
  for (var c = 0u; c < p.cols; c++) {
    Y[base + c] = with_bias((X[base + c] - mean) * inv * W[c], c);
  }
}
