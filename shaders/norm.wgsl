// Row normalisation of the residual stream: RMSNorm (Llama family) or LayerNorm (GPT-2, OPT),
// one invocation per row (a token). Rows are short (hidden size) and there are many of them, so
// this needs no workgroup reduction and no barriers, which SwiftShader executes slowly.
//   RMSNorm:   y = x / sqrt(mean(x²) + eps) · w
//   LayerNorm: y = (x − mean(x)) / sqrt(var(x) + eps) · w + b      (biased variance, as PyTorch)
// LAYER_NORM is an override constant; the RMS variant binds the weight a second time as the
// (unused) bias so that both variants share one binding layout.

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  _pad: u32,
}

override LAYER_NORM: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn norm(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * 65535u * 64u;
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
    var y = (X[base + c] - mean) * inv * W[c];
    if (LAYER_NORM) { y += Bias[c]; }
    Y[base + c] = y;
  }
}
