// Element-wise parts of a block, in place on a [rows, ld] activation:
//   bias_act: Y[r, off + c] = act(Y[r, off + c] + b[c])   (linear biases, plain MLP activation)
//   gated:    Y[i] = act(Y[i]) · V[i]                      (SwiGLU: act(gate) · up)
// ACT (override): 0 identity, 1 relu, 2 gelu tanh approximation (gelu_new), 3 exact erf gelu,
// 4 silu. Flat 1-D grid of 64-wide groups, folded into y past 65535 groups.

struct Params {
  rows: u32,
  cols: u32,
  ld: u32,
  off: u32,
}

override ACT: u32 = 0u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below f32 resolution of gelu's output).
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-a * a);
  return select(y, -y, x < 0.0);
}

fn act(x: f32) -> f32 {
  switch ACT {
    case 1u: { return max(x, 0.0); }
    case 2u: {
      // Clamp: tanh saturates long before ±15 and some implementations overflow exp() inside it.
      let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
      return 0.5 * x * (1.0 + tanh(u));
    }
    case 3u: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 4u: { return x / (1.0 + exp(-x)); }
    default: { return x; }
  }
}

@compute @workgroup_size(64, 1, 1)
fn bias_act(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * 65535u * 64u;
  if (idx >= p.rows * p.cols) { return; }
  let r = idx / p.cols;
  let c = idx % p.cols;
  let i = r * p.ld + p.off + c;
  Y[i] = act(Y[i] + V[c]);
}

@compute @workgroup_size(64, 1, 1)
fn act_only(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * 65535u * 64u;
  if (idx >= p.rows * p.cols) { return; }
  let r = idx / p.cols;
  let c = idx % p.cols;
  let i = r * p.ld + p.off + c;
  Y[i] = act(Y[i]);
}

@compute @workgroup_size(64, 1, 1)
fn gated(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * 65535u * 64u;
  if (idx >= p.rows * p.cols) { return; }
  Y[idx] = act(Y[idx]) * V[idx];
}
