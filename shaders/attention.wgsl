// Causal multi-head attention with grouped key/value heads, over a batch of independent windows.
// Each invocation owns QB consecutive query tokens of one head and streams the keys 0..t of its
// window once, with an online softmax per query (running max m, running sum l, rescaled
// accumulator): the T×T score matrix is never stored, no barriers are needed, and each key/value
// row loaded serves QB queries. q, k and v are read as vec4s from the fused q|k|v activation
// [rows, ld]: q head h at column h·HEAD_DIM, k/v head g at kOff/vOff + g·HEAD_DIM; query head h
// uses key/value head h / group (HF's repeat_kv order). Output [rows, outLd], head h at h·HEAD_DIM.
// Sliding-window layers (Mistral, Qwen2/3, Phi-3, Gemma 3's local layers) see only the last
// `window` keys, themselves included: query t reads keys j with t − window < j ≤ t, the mask of
// transformers' sliding_window_overlay (window ≥ seqlen is plain causal attention).
//
// This file is a template, expanded per variant by the kernel's source generator in
// src/kernels/attention.ts: the constants HV (= HEAD_DIM / 4) and QB (queries per invocation) are
// written from its flags, and every `//#for X` … `//#end` block is repeated for X = 0…(QB or HV)−1
// with {X} replaced (src/kernels/unroll.ts). The unrolling keeps q and the accumulators in
// registers: indexing a function-scope array with a loop variable makes SwiftShader spill it to
// memory and runs ~5× slower. Grid: x = blocks of WG_X·QB queries, y = query head, z = window.

//# kernel attention
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t0 = gid.x * QB;
  let h = gid.y;
  let w = gid.z;
  if (t0 >= p.seqlen) { return; }
  let first = w * p.seqlen;
  let ld4 = p.ld / 4u;
  let kvCol = (h / p.group) * HV;
  let kOff4 = p.kOff / 4u + kvCol;
  let vOff4 = p.vOff / 4u + kvCol;
  let lastT = p.seqlen - 1u;
  //#for i
  // Queries past the window's end repeat the last one; their results are not stored.
  let qRow{i} = (first + min(t0 + {i}u, lastT)) * ld4 + h * HV;
  var m{i} = -3.0e38;
  var l{i} = 0.0;
  //#for d
  let q{i}_{d} = QKV[qRow{i} + {d}u] * p.scale;
  var acc{i}_{d} = vec4<f32>(0.0);
  //#end
  //#end
  let last = min(t0 + QB - 1u, lastT);
  // The oldest key any of the QB queries may read.
  let start = select(0u, t0 + 1u - p.window, t0 + 1u > p.window);
  for (var j = start; j <= last; j++) {
    let kBase = (first + j) * ld4 + kOff4;
    let vBase = (first + j) * ld4 + vOff4;
    //#for d
    let k{d} = QKV[kBase + {d}u];
    let v{d} = QKV[vBase + {d}u];
    //#end
    //#for i
    if (j <= t0 + {i}u && t0 + {i}u - j < p.window) {
      var s = 0.0;
      //#for d
      s += dot(q{i}_{d}, k{d});
      //#end
      if (s > m{i}) {
        let correction = exp(m{i} - s);
        l{i} *= correction;
        //#for d
        acc{i}_{d} *= correction;
        //#end
        m{i} = s;
      }
      let e = exp(s - m{i});
      l{i} += e;
      //#for d
      acc{i}_{d} += e * v{d};
      //#end
    }
    //#end
  }
  let outLd4 = p.outLd / 4u;
  //#for i
  if (t0 + {i}u <= lastT) {
    let inv = 1.0 / l{i};
    let oBase = (first + t0 + {i}u) * outLd4 + h * HV;
    //#for d
    O[oBase + {d}u] = acc{i}_{d} * inv;
    //#end
  }
  //#end
}
