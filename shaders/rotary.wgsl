// Rotary position embedding in Hugging Face's rotate-half order, applied in place to the q and k
// columns of the fused q|k|v activation (q heads then k heads, each head_dim wide, contiguous from
// column 0). For the pair (i, i + half) of a head at position pos:
//   x1' = x1·cos(pos·f_i) − x2·sin(pos·f_i),   x2' = x2·cos(pos·f_i) + x1·sin(pos·f_i).
// With partial rotary (Phi-3), half = rotary_dim / 2 < head_dim / 2 and the rest of each head is
// left as it is. The cos/sin table [seqlen, half, 2] (LongRoPE: times its attention factor) is computed on the CPU in float64 (large angles lose
// precision in f32 sin/cos). Positions restart at posOffset in every window of `seqlen` rows.
// One invocation per (row, head, pair), on a folded 1-D grid (flat_id).

//# kernel rotary
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.rows * p.heads * p.half) { return; }
  let i = idx % p.half;
  let rh = idx / p.half;
  let h = rh % p.heads;
  let row = rh / p.heads;
  let pos = row % p.seqlen + p.posOffset;
  let base = row * p.ld + h * p.headDim;
  let t = (pos * p.half + i) * 2u;
  let c = table[t];
  let s = table[t + 1u];
  let x1 = X[base + i];
  let x2 = X[base + i + p.half];
  X[base + i] = x1 * c - x2 * s;
  X[base + i + p.half] = x2 * c + x1 * s;
}
