// The attention of incremental decoding: the keys and values of every position so far are kept per
// block (the KV cache, rows of k|v, 2·kvCols wide), so each new token computes only its own q, k
// and v and attends to the cached rows instead of re-running the whole sequence.
//   kv_append         rows pos…pos+rows−1 of the cache ← the k|v columns of the new fused q|k|v rows
//   decode_attention  query row r (position pos + r) of head h against cached keys 0…pos + r (the
//                     last `window` of them on sliding-window layers), online softmax
// The arithmetic per query is that of causal_attention (shaders/attention.wgsl): q scaled first, the
// score summed over the head's vec4s in order, the same running-max rescaling, so a decoded token
// sees the values the full-sequence pass computes for it. Template: `//#for d` … `//#end` repeats
// for d = 0…HV−1 (src/kernels/unroll.ts), keeping q and the accumulator in registers.

//# kernel kv_append
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  let width = 2u * p.kvCols;
  if (idx >= p.rows * width) { return; }
  let r = idx / width;
  let c = idx % width;
  KV[(p.pos + r) * width + c] = QKV[r * p.ld + p.qCols + c];
}

//# kernel decode_attention
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.rows * p.heads) { return; }
  let h = idx % p.heads;
  let r = idx / p.heads;
  let t = p.pos + r;
  let width4 = p.kvCols / 2u;
  let kvCol = (h / p.group) * HV;
  let qRow = r * (p.ld / 4u) + h * HV;
  var m = -3.0e38;
  var l = 0.0;
  //#for d
  let q{d} = QKV[qRow + {d}u] * p.scale;
  var acc{d} = vec4<f32>(0.0);
  //#end
  let start = select(0u, t + 1u - p.window, t + 1u > p.window);
  for (var j = start; j <= t; j++) {
    let kBase = j * width4 + kvCol;
    let vBase = kBase + p.kvCols / 4u;
    var s = 0.0;
    //#for d
    s += dot(q{d}, KV[kBase + {d}u]);
    //#end
    if (s > m) {
      let correction = exp(m - s);
      l *= correction;
      //#for d
      acc{d} *= correction;
      //#end
      m = s;
    }
    let e = exp(s - m);
    l += e;
    //#for d
    acc{d} += e * KV[vBase + {d}u];
    //#end
  }
  let inv = 1.0 / l;
  let oBase = r * (p.outLd / 4u) + h * HV;
  //#for d
  O[oBase + {d}u] = acc{d} * inv;
  //#end
}
