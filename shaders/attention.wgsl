// Causal multi-head attention with grouped key/value heads, over a batch of independent windows.
// Each invocation owns QB consecutive query tokens of one head and streams the keys 0..t of its
// window once, with an online softmax per query (running max m, running sum l, rescaled
// accumulator): the T×T score matrix is never stored, no barriers are needed, and each key/value
// row loaded serves QB queries. q, k and v are read from the fused q|k|v activation [rows, ld]
// as vec4s: q head h at column h·HEAD_DIM, k/v head g at kOff/vOff + g·HEAD_DIM; query head h
// uses key/value head h / group (HF's repeat_kv order). Output [rows, outLd], head h at h·HEAD_DIM.
// HEAD_DIM and QB are substituted by the TypeScript wrapper, so the per-invocation arrays have
// constant sizes (WGSL allows no override-sized function-scope arrays). HEAD_DIM % 4 == 0, and
// ld, kOff, vOff, outLd are multiples of 4.

const HEAD_DIM: u32 = 64u;
const QB: u32 = 1u;
const HV: u32 = HEAD_DIM / 4u;

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
@group(0) @binding(1) var<storage, read> QKV: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> O: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn attention(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t0 = gid.x * QB;
  let h = gid.y;
  let w = gid.z;
  if (t0 >= p.seqlen) { return; }
  let first = w * p.seqlen;
  let ld4 = p.ld / 4u;
  let kvCol = (h / p.group) * HV;
  let kOff4 = p.kOff / 4u + kvCol;
  let vOff4 = p.vOff / 4u + kvCol;
  let nq = min(QB, p.seqlen - t0);
  var q: array<vec4<f32>, QB * HV>;
  var acc: array<vec4<f32>, QB * HV>;
  var m: array<f32, QB>;
  var l: array<f32, QB>;
  for (var i = 0u; i < QB; i++) {
    // Queries past the window's end repeat the last one; their results are not stored.
    let row = first + min(t0 + i, p.seqlen - 1u);
    for (var d = 0u; d < HV; d++) {
      q[i * HV + d] = QKV[row * ld4 + h * HV + d] * p.scale;
      acc[i * HV + d] = vec4<f32>(0.0);
    }
    m[i] = -3.0e38;
    l[i] = 0.0;
  }
  let last = t0 + nq - 1u;
  for (var j = 0u; j <= last; j++) {
    let kBase = (first + j) * ld4 + kOff4;
    let vBase = (first + j) * ld4 + vOff4;
    for (var i = 0u; i < QB; i++) {
      if (j > t0 + i) { continue; }
      var s = 0.0;
      for (var d = 0u; d < HV; d++) { s += dot(q[i * HV + d], QKV[kBase + d]); }
      if (s > m[i]) {
        let correction = exp(m[i] - s);
        l[i] *= correction;
        for (var d = 0u; d < HV; d++) { acc[i * HV + d] *= correction; }
        m[i] = s;
      }
      let e = exp(s - m[i]);
      l[i] += e;
      for (var d = 0u; d < HV; d++) { acc[i * HV + d] += e * QKV[vBase + d]; }
    }
  }
  let outLd4 = p.outLd / 4u;
  for (var i = 0u; i < nq; i++) {
    let inv = 1.0 / l[i];
    let oBase = (first + t0 + i) * outLd4 + h * HV;
    for (var d = 0u; d < HV; d++) { O[oBase + d] = acc[i * HV + d] * inv; }
  }
}
