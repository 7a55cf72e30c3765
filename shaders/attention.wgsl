// Causal multi-head attention with grouped key/value heads, over a batch of independent windows.
// One invocation per (query token, head): it streams the keys 0..t of its window once with an
// online softmax (running max m, running sum l, rescaled accumulator), so the T×T score matrix is
// never stored and no barriers are needed. q, k and v are read from the fused q|k|v activation
// [rows, ld]: q head h at column h·HEAD_DIM, k/v head g at kOff/vOff + g·HEAD_DIM; query head h
// uses key/value head h / group (HF's repeat_kv order). Output [rows, outLd], head h at h·HEAD_DIM.
// HEAD_DIM is substituted by the TypeScript wrapper so the per-invocation arrays are sized exactly
// (WGSL needs a constant size for function-scope arrays; override constants are not allowed).

const HEAD_DIM: u32 = 64u;

struct Params {
  seqlen: u32,
  heads: u32,
  group: u32,
  ld: u32,
  kOff: u32,
  vOff: u32,
  outLd: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> QKV: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn attention(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  let w = gid.z;
  if (t >= p.seqlen) { return; }
  let first = w * p.seqlen;
  let row = first + t;
  let qBase = row * p.ld + h * HEAD_DIM;
  let kvCol = (h / p.group) * HEAD_DIM;
  var q: array<f32, HEAD_DIM>;
  var acc: array<f32, HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    q[d] = QKV[qBase + d] * p.scale;
    acc[d] = 0.0;
  }
  var m = -3.0e38;
  var l = 0.0;
  for (var j = 0u; j <= t; j++) {
    let kBase = (first + j) * p.ld + p.kOff + kvCol;
    var s = 0.0;
    for (var d = 0u; d < HEAD_DIM; d++) { s += q[d] * QKV[kBase + d]; }
    if (s > m) {
      let correction = exp(m - s);
      l *= correction;
      for (var d = 0u; d < HEAD_DIM; d++) { acc[d] *= correction; }
      m = s;
    }
    let e = exp(s - m);
    l += e;
    let vBase = (first + j) * p.ld + p.vOff + kvCol;
    for (var d = 0u; d < HEAD_DIM; d++) { acc[d] += e * QKV[vBase + d]; }
  }
  let inv = 1.0 / l;
  let oBase = row * p.outLd + h * HEAD_DIM;
  for (var d = 0u; d < HEAD_DIM; d++) { O[oBase + d] = acc[d] * inv; }
}
