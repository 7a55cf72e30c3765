// Element-wise parts of a block, in place on a [rows, ld] activation:
//   bias_act: Y[r, off + c] = act(Y[r, off + c] + b[c])   (BIAS: linear biases; without, a plain activation)
//   gated:    Y[i] = act(Y[i]) · V[i]                      (SwiGLU: act(gate) · up)
//   gated_fused: Y[r, c] = act(G[r, c]) · G[r, width + c]  (Phi-3's gate_up_proj output, gate|up per row)
//   scale:    Y[i] = s · Y[i], or with SOFTCAP s · tanh(Y[i] / s)   (Gemma's √hidden and logit capping)
// ACT (a constant per variant): 0 identity, 1 relu, 2 gelu tanh approximation (gelu_new), 3 exact
// erf gelu, 4 silu. Flat 1-D grids, folded into y by the runtime (flat_id).

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

//# kernel bias_act
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.rows * p.cols) { return; }
  let c = idx % p.cols;
  let i = (idx / p.cols) * p.ld + p.off + c;
  Y[i] = act(Y[i] + bias_of(c));
}

//# kernel gated
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.count) { return; }
  Y[idx] = act(Y[idx]) * V[idx];
}

//# kernel gated_fused
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.rows * p.width) { return; }
  let r = idx / p.width;
  let c = idx % p.width;
  let g = r * 2u * p.width + c;
  Y[idx] = act(G[g]) * G[g + p.width];
}

//# kernel scale
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.count) { return; }
  if (SOFTCAP) {
    Y[idx] = p.s * tanh(Y[idx] / p.s);
  } else {
    Y[idx] = p.s * Y[idx];
  }
}
