// Rows of a vocabulary or position table gathered into X: X[r, :] = T[v(r) − vStart, :], where v(r)
// is row r's token id (BY_TOKEN) or its position r mod seqlen + posOffset; the position variant adds
// to X (token embedding + learned position). A table may be split into row chunks (a GPT-2 or Qwen
// table can exceed one storage binding); each dispatch covers the rows whose v lies in its chunk
// [vStart, vStart + vCount) and leaves the others alone, so exactly one chunk writes each row. The
// table is f32 (table_at reads E) or 16-bit values packed two per u32 (W, shaders/packed.wgsl's
// weight_at). The token variant can also add an f32 position table P in the same pass
// (with_position). One invocation per element of X, on a folded 1-D grid (flat_id).

//# kernel embed
@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = flat_id(gid, nwg);
  if (idx >= p.rows * p.cols) { return; }
  let r = idx / p.cols;
  let c = idx % p.cols;
  let v = table_row(r);
  if (v < p.vStart || v >= p.vStart + p.vCount) { return; }
  let value = table_at((v - p.vStart) * p.cols + c);
  if (BY_TOKEN) {
    X[idx] = with_position(value, r, c);
  } else {
    X[idx] += value;
  }
}
