// Token (and learned position) embedding: X[r, :] = E[tok[r] − vStart, :] (+ P[r mod seqlen + posOffset, :]).
// The vocabulary table may be split into row chunks (a GPT-2 or Qwen table can exceed one storage
// binding); each dispatch covers the tokens of its chunk [vStart, vStart + vCount) and leaves the
// other rows alone, so exactly one chunk writes each row. Rotary models have no learned positions:
// their variant (HAS_POSITIONS false) has no P binding. One invocation per element of X, on a
// folded 1-D grid (flat_id).

//# kernel embed
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.rows * p.cols) { return; }
  let r = idx / p.cols;
  let c = idx % p.cols;
  let tok = tokens[r];
  if (tok < p.vStart || tok >= p.vStart + p.vCount) { return; }
  X[idx] = with_position(E[(tok - p.vStart) * p.cols + c], r, c);
}
